//! A service's `healthcheck:` as the file gives it (the image's own is not visible here).

use std::time::Duration;

use serde_yaml_ng::{Mapping, Value};

use super::path::Path;
use super::read::{get, get_str, scalar};
use super::service::Service;
use super::{duration, interp};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    Missing,
    Disabled,
    Present,
}

/// What `test:` runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Test {
    /// `NONE` (alone or first in the list): the check is off.
    None,
    /// A string, or `[CMD-SHELL, …]`: run through `/bin/sh`.
    Shell(String),
    /// `[CMD, program, args…]`: run directly.
    Exec(Vec<String>),
    /// Any other list or value.
    Other,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Healthcheck {
    pub path: Path,
    /// `disable: true`.
    pub disable: bool,
    pub test: Option<Test>,
    pub interval: Option<String>,
    pub timeout: Option<String>,
    pub retries: Option<String>,
    pub start_period: Option<String>,
    pub start_interval: Option<String>,
}

/// Intervals up to this keep a deploy quick: Docker runs the first check one interval
/// after the container starts, so above it every deploy waits noticeably.
const QUICK_INTERVAL: Duration = Duration::from_secs(5);
/// The interval a slow check gets in its place.
pub const SUGGESTED_INTERVAL: Duration = Duration::from_secs(2);
/// The retries Docker counts when `retries` is not written.
const DEFAULT_RETRIES: u64 = 3;

/// A slow check made quick: [`SUGGESTED_INTERVAL`] with as many more retries as keep the
/// time before the container is `unhealthy` (its patience).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quicker {
    pub retries: u64,
    pub patience: Duration,
    /// `retries` was not written: Docker's default 3 was counted.
    pub default_retries: bool,
}

impl Healthcheck {
    /// Off by `disable: true` or a `NONE` test.
    pub fn disabled(&self) -> bool {
        self.disable || self.test == Some(Test::None)
    }

    /// The interval as Compose resolves it with no variable set; `None` where the check is
    /// off or the interval is not written or not a duration.
    pub fn interval(&self) -> Option<Duration> {
        if self.disabled() {
            return None;
        }
        duration::parse(&interp::unset(self.interval.as_deref()?))
    }

    /// Whether the interval is above [`QUICK_INTERVAL`].
    pub fn slow(&self) -> bool {
        self.interval().is_some_and(|d| d > QUICK_INTERVAL)
    }

    /// The quick form of a slow check; `None` where it is not slow, or its retries are not
    /// a positive number, or its patience is beyond any clock.
    pub fn quicker(&self) -> Option<Quicker> {
        let own = self.interval().filter(|_| self.slow())?;
        let (retries, default_retries) = match self.retries.as_deref().map(interp::unset) {
            None => (DEFAULT_RETRIES, true),
            Some(r) => (r.trim().parse::<u64>().ok().filter(|n| *n > 0)?, false),
        };
        let patience = Duration::try_from_secs_f64(own.as_secs_f64() * retries as f64).ok()?;
        let more = (patience.as_secs_f64() / SUGGESTED_INTERVAL.as_secs_f64()).ceil();
        Some(Quicker {
            retries: more as u64,
            patience,
            default_retries,
        })
    }
}

/// The service's healthcheck when it is written as a mapping.
pub fn healthcheck(svc: &Service<'_>) -> Option<Healthcheck> {
    let hc = get(svc.body, "healthcheck")?.as_mapping()?;
    Some(read(hc, svc.at("healthcheck")))
}

fn read(hc: &Mapping, path: Path) -> Healthcheck {
    let field = |k: &str| get_str(hc, k);
    Healthcheck {
        path,
        disable: get(hc, "disable").and_then(Value::as_bool) == Some(true),
        test: get(hc, "test").map(test),
        interval: field("interval"),
        timeout: field("timeout"),
        retries: field("retries"),
        start_period: field("start_period"),
        start_interval: field("start_interval"),
    }
}

fn test(v: &Value) -> Test {
    match v {
        Value::String(s) if s.trim() == "NONE" => Test::None,
        Value::String(s) => Test::Shell(s.trim().to_string()),
        Value::Sequence(items) => {
            if items.first().and_then(scalar).as_deref() == Some("NONE") {
                return Test::None;
            }
            let words: Vec<String> = items.iter().filter_map(scalar).collect();
            match words.split_first() {
                Some((first, rest)) if first == "CMD-SHELL" => Test::Shell(rest.join(" ")),
                Some((first, rest)) if first == "CMD" => Test::Exec(rest.to_vec()),
                _ => Test::Other,
            }
        }
        _ => Test::Other,
    }
}

/// Whether the file gives the service a healthcheck; any value that is not a mapping
/// counts as one.
pub fn health(body: &Mapping) -> Health {
    let Some(hc) = get(body, "healthcheck") else {
        return Health::Missing;
    };
    match hc.as_mapping() {
        Some(hc) if read(hc, Path::root()).disabled() => Health::Disabled,
        _ => Health::Present,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compose::service::services;

    fn doc(text: &str) -> Value {
        serde_yaml_ng::from_str(text).unwrap()
    }

    #[test]
    fn health_states() {
        let h = |t: &str| health(doc(t).as_mapping().unwrap());
        assert_eq!(h("image: x"), Health::Missing);
        assert_eq!(h("healthcheck: {disable: true}"), Health::Disabled);
        assert_eq!(h("healthcheck: {test: [NONE]}"), Health::Disabled);
        assert_eq!(h("healthcheck: {test: ' NONE '}"), Health::Disabled);
        assert_eq!(h("healthcheck: {test: [CMD, x]}"), Health::Present);
        assert_eq!(h("healthcheck: [x]"), Health::Present);
    }

    #[test]
    fn fields_and_test_forms() {
        let d = doc(
            "services:\n  a:\n    healthcheck:\n      test: [CMD-SHELL, curl, -f, x]\n      interval: 5s\n      retries: 3\n      start_interval: 1s\n  b:\n    healthcheck: {test: [CMD, pg_isready, -q]}\n  c:\n    healthcheck: {test: [[x], NONE]}\n",
        );
        let s = services(&d);
        let a = healthcheck(&s[0]).unwrap();
        assert_eq!(a.test, Some(Test::Shell("curl -f x".into())));
        assert_eq!(a.interval.as_deref(), Some("5s"));
        assert_eq!(a.retries.as_deref(), Some("3"));
        assert_eq!(a.start_interval.as_deref(), Some("1s"));
        assert_eq!(a.path.render(), "services.a.healthcheck");
        let b = healthcheck(&s[1]).unwrap();
        assert_eq!(
            b.test,
            Some(Test::Exec(vec!["pg_isready".into(), "-q".into()]))
        );
        // Only a `NONE` in first place turns the check off.
        assert_eq!(healthcheck(&s[2]).unwrap().test, Some(Test::Other));
    }
}
