//! What a healthcheck's `interval` costs: Docker runs the first check one interval after
//! the container starts (Engine 25+ can check sooner during a `start_period` with
//! `start_interval`; older engines ignore both), so nothing reports the service healthy —
//! and nothing that waits for it with `service_healthy` starts — before then.

use std::collections::BTreeMap;
use std::time::Duration;

use super::catalog::SLOW_HEALTHCHECK;
use super::finding::Sink;
use super::run::Ctx;
use super::yaml::{self, Service};
use crate::compose::duration::seconds;
use crate::compose::healthcheck::{Healthcheck, SUGGESTED_INTERVAL, healthcheck};

/// A harness run waits for its stack to be healthy twice, one wait after the other: the
/// deploy of all its instances, then persistence's re-up and restart's recovery, which run
/// at the same time on different instances.
const WAITS_PER_RUN: u32 = 2;

/// The fix where the patience cannot be put in figures.
const GENERIC_FIX: &str = "an interval of 1–2s with more retries keeps the same patience";

pub(crate) fn check(ctx: &Ctx<'_>, sink: &mut Sink) {
    let intervals: BTreeMap<&str, Duration> = ctx
        .services
        .iter()
        .filter_map(|s| Some((s.name.as_str(), healthcheck(s)?.interval()?)))
        .collect();
    let mut chains = Chains {
        ctx,
        intervals: &intervals,
        known: BTreeMap::new(),
        open: Vec::new(),
    };
    for svc in &ctx.services {
        let Some(hc) = healthcheck(svc) else {
            continue;
        };
        let Some(own) = hc.interval().filter(|_| hc.slow()) else {
            continue;
        };
        let chain = chains.longest(&svc.name);
        let path = svc.path.key("healthcheck").key("interval");
        sink.add(
            &SLOW_HEALTHCHECK,
            &path,
            message(ctx, svc, &hc, own, &chain),
        );
    }
}

/// The longest `service_healthy` chains below each service, as a deploy waits them out.
struct Chains<'c, 'a> {
    ctx: &'c Ctx<'a>,
    intervals: &'c BTreeMap<&'c str, Duration>,
    known: BTreeMap<String, Vec<(String, Duration)>>,
    /// The services being followed: a cycle, which Compose rejects, ends where it closes.
    open: Vec<String>,
}

impl Chains<'_, '_> {
    /// The services a deploy waits for in turn before `name` is healthy (`name` last),
    /// with their intervals.
    fn longest(&mut self, name: &str) -> Vec<(String, Duration)> {
        if let Some(chain) = self.known.get(name) {
            return chain.clone();
        }
        if self.open.iter().any(|n| n == name) {
            return Vec::new();
        }
        let own = self.intervals.get(name).copied().unwrap_or_default();
        let deps: Vec<String> = self
            .ctx
            .service(name)
            .map(yaml::depends_on)
            .unwrap_or_default()
            .into_iter()
            .filter(|d| d.condition.as_deref() == Some("service_healthy"))
            .map(|d| d.name)
            .collect();
        self.open.push(name.to_string());
        let mut chain = deps
            .iter()
            .map(|d| self.longest(d))
            .max_by_key(|c| total(c))
            .unwrap_or_default();
        self.open.pop();
        chain.push((name.to_string(), own));
        self.known.insert(name.to_string(), chain.clone());
        chain
    }
}

fn total(chain: &[(String, Duration)]) -> Duration {
    chain.iter().map(|(_, d)| *d).sum()
}

fn message(
    ctx: &Ctx<'_>,
    svc: &Service<'_>,
    hc: &Healthcheck,
    own: Duration,
    chain: &[(String, Duration)],
) -> String {
    let name = &svc.name;
    let written = hc.interval.as_deref().unwrap_or_default();
    let wait = total(chain);
    let mut out = format!(
        "`{name}`'s healthcheck interval {written}: Docker runs the first check one interval \
         after start, so every deploy waits ≥ {} for it to be healthy",
        seconds(own)
    );
    let before: Vec<String> = chain[..chain.len() - 1]
        .iter()
        .filter(|(_, d)| !d.is_zero())
        .map(|(dep, d)| format!("`{dep}` ({})", seconds(*d)))
        .collect();
    if !before.is_empty() {
        out.push_str(&format!(
            ", ≥ {} counting {}, which it waits for before it starts",
            seconds(wait),
            yaml::sentence(&before)
        ));
    }
    let waiting = dependents(ctx, name);
    if !waiting.is_empty() {
        out.push_str(&format!(
            ", and {} (waiting for it with `service_healthy`) starts only then",
            yaml::sentence(&waiting)
        ));
    }
    out.push_str(&format!(
        " (≈ {} s per harness run: the deploy, then persistence's re-up beside restart's recovery) — {}",
        (wait * WAITS_PER_RUN).as_secs_f64().round(),
        fix(hc)
    ));
    if hc.start_interval.is_some() {
        out.push_str(
            "; `start_interval` checks sooner during `start_period` only on Engine 25+, \
             older engines ignore it",
        );
    }
    out
}

/// The services that wait for `name` to be healthy before they start.
fn dependents(ctx: &Ctx<'_>, name: &str) -> Vec<String> {
    ctx.services
        .iter()
        .filter(|s| {
            yaml::depends_on(s)
                .iter()
                .any(|d| d.name == name && d.condition.as_deref() == Some("service_healthy"))
        })
        .map(|s| format!("`{}`", s.name))
        .collect()
}

/// A short interval with as many more retries as keep the time before `unhealthy`.
fn fix(hc: &Healthcheck) -> String {
    let Some(q) = hc.quicker() else {
        return GENERIC_FIX.to_string();
    };
    let counting = match q.default_retries {
        true => ", counting Docker's default 3 retries",
        false => "",
    };
    format!(
        "`interval: {}` with `retries: {}` keeps the same patience ({} before it is \
         unhealthy{counting})",
        seconds(SUGGESTED_INTERVAL),
        q.retries,
        seconds(q.patience)
    )
}

#[cfg(test)]
mod tests {
    use crate::lint::finding::Level;
    use crate::lint::tests::{at, lint_yaml, rule_paths};

    const RULE: &str = "slow-healthcheck";

    #[test]
    fn an_interval_above_five_seconds_is_a_warning_with_its_cost() {
        let f = lint_yaml(
            "services:\n  executor:\n    healthcheck:\n      test: [CMD, x]\n      interval: 30s\n      timeout: 10s\n      retries: 3\n  quick:\n    healthcheck:\n      test: [CMD, x]\n      interval: 5s\n  default:\n    healthcheck:\n      test: [CMD, x]\n",
        );
        assert_eq!(
            rule_paths(&f, RULE),
            vec!["services.executor.healthcheck.interval"]
        );
        let hit = at(&f, "services.executor.healthcheck.interval", RULE);
        assert_eq!(hit.level, Level::Warn);
        assert_eq!(hit.mutation, Some("quick-healthcheck"));
        assert_eq!(
            hit.message,
            "`executor`'s healthcheck interval 30s: Docker runs the first check one interval \
             after start, so every deploy waits ≥ 30s for it to be healthy (≈ 60 s per harness \
             run: the deploy, then persistence's re-up beside restart's recovery) — \
             `interval: 2s` with `retries: 45` keeps the same patience (90s before it is unhealthy)"
        );
    }

    #[test]
    fn a_service_healthy_chain_adds_up() {
        let f = lint_yaml(
            "services:\n  redis:\n    healthcheck: {test: [CMD, ping], interval: 5s}\n  app:\n    depends_on:\n      redis: {condition: service_healthy}\n    healthcheck: {test: [CMD, x], interval: 1m, retries: \"${R:-2}\"}\n  web:\n    depends_on:\n      app: {condition: service_healthy}\n    healthcheck: {test: [CMD, x], interval: 1s}\n  worker:\n    depends_on: [app]\n",
        );
        assert_eq!(
            rule_paths(&f, RULE),
            vec!["services.app.healthcheck.interval"]
        );
        let msg = &at(&f, "services.app.healthcheck.interval", RULE).message;
        for part in [
            "waits ≥ 60s for it to be healthy, ≥ 65s counting `redis` (5s), which it waits \
             for before it starts",
            "and `web` (waiting for it with `service_healthy`) starts only then",
            "≈ 130 s per harness run",
            "`retries: 60` keeps the same patience (120s",
        ] {
            assert!(msg.contains(part), "{part}: {msg}");
        }
    }

    #[test]
    fn the_longest_intervals_compose_takes_are_priced_without_overflow() {
        let f = lint_yaml(
            "services:\n  a:\n    healthcheck:\n      test: [CMD, x]\n      interval: 2562047h\n      retries: 18446744073709551615\n    depends_on:\n      b: {condition: service_healthy}\n  b:\n    healthcheck:\n      test: [CMD, x]\n      interval: 2562047h\n",
        );
        assert_eq!(
            rule_paths(&f, RULE),
            vec![
                "services.a.healthcheck.interval",
                "services.b.healthcheck.interval"
            ]
        );
        let a = f.iter().find(|f| f.rule == RULE).expect("a's finding");
        assert!(a.message.contains("more retries"), "{}", a.message);
    }

    #[test]
    fn interpolated_odd_disabled_and_cyclic_intervals() {
        let f = lint_yaml(
            "services:\n  a:\n    healthcheck: {test: [CMD, x], interval: \"${IV:-10s}\", retries: x}\n  b:\n    healthcheck: {test: [NONE], interval: 30s}\n  c:\n    healthcheck: {test: [CMD, x], interval: 30}\n  d:\n    depends_on: {e: {condition: service_healthy}}\n    healthcheck: {test: [CMD, x], interval: 7s, start_interval: 1s}\n  e:\n    depends_on: {d: {condition: service_healthy}}\n    healthcheck: {test: [CMD, x], interval: 6s}\n",
        );
        assert_eq!(
            rule_paths(&f, RULE),
            vec![
                "services.a.healthcheck.interval",
                "services.d.healthcheck.interval",
                "services.e.healthcheck.interval",
            ]
        );
        let a = &at(&f, "services.a.healthcheck.interval", RULE).message;
        assert!(a.contains("interval ${IV:-10s}: "), "{a}");
        assert!(a.contains("an interval of 1–2s with more retries"), "{a}");
        let d = &at(&f, "services.d.healthcheck.interval", RULE).message;
        assert!(d.contains("only on Engine 25+"), "{d}");
        let e = &at(&f, "services.e.healthcheck.interval", RULE).message;
        assert!(
            e.contains("`retries: 9` keeps the same patience (18s before it is unhealthy, counting Docker's default 3 retries)"),
            "{e}"
        );
    }
}
