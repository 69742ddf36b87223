//! A step's evidence, typed per step kind. Each kind's struct covers every shape its step
//! writes (pass, each failure, its faults); a field is present only in the shapes that
//! have it, and fields are declared in the order the step writes its keys, so a record
//! serialises to the same bytes it always has. Parts that are not the step's own words (a
//! service's answer, an instance's failure shared by several steps) stay JSON values.

mod shapes;

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use shapes::{
    ApiProbeEvidence, DeployEvidence, ExecEvidence, KilledEvidence, LintEvidence,
    MissingKeyEvidence, MultiInstanceEvidence, PersistenceEvidence, PortDiscoveryEvidence,
    PortsEvidence, ReasonEvidence, RedisEvidence, RestartEvidence, ShutdownEvidence,
    WsProbeEvidence,
};

use super::StepKind;

/// What a step found, in the shape its kind writes.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Evidence {
    /// Why a step did not run (a skip) or was cut short (an interrupt), whatever its kind.
    Reason(ReasonEvidence),
    Lint(LintEvidence),
    Deploy(DeployEvidence),
    PortDiscovery(PortDiscoveryEvidence),
    ApiProbe(ApiProbeEvidence),
    WsProbe(WsProbeEvidence),
    Redis(RedisEvidence),
    MissingKey(MissingKeyEvidence),
    MultiInstance(MultiInstanceEvidence),
    Restart(RestartEvidence),
    Persistence(PersistenceEvidence),
    Shutdown(ShutdownEvidence),
    /// Evidence read from a run file that fits no typed shape byte for byte: a record
    /// written by an older harness (or a step name it no longer has). It is kept as read,
    /// because the file's bytes are hashed into the scoreboard's chain and an export must
    /// carry them unchanged; the harness itself never writes this variant.
    Raw(Value),
}

impl Evidence {
    /// The step's reason for not running, as a skip or an interrupt records it.
    pub fn reason(reason: impl Into<String>) -> Evidence {
        Evidence::Reason(ReasonEvidence {
            reason: reason.into(),
        })
    }

    /// The evidence a run file holds for the step named `step`: the step kind's typed
    /// shape when it reproduces the value exactly, else [`Evidence::Raw`].
    pub fn read(step: &str, value: Value) -> Evidence {
        match typed(StepKind::from_name(step), &value) {
            Some(typed) if same_json(&typed, &value) => typed,
            _ => Evidence::Raw(value),
        }
    }

    /// Evidence a step of `kind` built as JSON (an instance's failure): typed by its kind.
    /// Every shape the harness writes has its type, so a value that fits none is a bug,
    /// logged, and kept as it is rather than lost.
    pub fn of(kind: StepKind, value: Value) -> Evidence {
        let evidence = Evidence::read(kind.name(), value);
        if matches!(evidence, Evidence::Raw(_)) {
            // Not the evidence itself: it is not redacted yet when an instance's failure
            // becomes a step's.
            tracing::warn!(
                step = kind.name(),
                "evidence fits no typed shape of its step"
            );
        }
        evidence
    }

    /// The same evidence with its JSON passed through `f` (redaction), in its kind.
    pub fn map_json(self, kind: StepKind, f: impl FnOnce(Value) -> Value) -> Evidence {
        Evidence::of(kind, f(serde_json::to_value(&self).unwrap_or(Value::Null)))
    }

    /// What the evidence says went wrong, in one sentence: the step's own summary, else
    /// the first one in the evidence it carries (an instance's failure, a probe's).
    pub fn summary(&self) -> Option<&str> {
        self.own_or_carried(self.own_summary(), "summary")
    }

    /// The error the evidence records: the step's own, else the first one it carries.
    pub fn error(&self) -> Option<&str> {
        self.own_or_carried(self.own_error(), "error")
    }

    /// What a person reads first about the step: its summary, else its error, else why it
    /// did not run.
    pub fn message(&self) -> Option<&str> {
        self.summary()
            .or_else(|| self.error())
            .or_else(|| self.skip_reason())
    }

    /// Why the step did not run, where it did not.
    pub fn skip_reason(&self) -> Option<&str> {
        match self {
            Evidence::Reason(r) => Some(r.reason.as_str()),
            Evidence::Raw(v) => v["reason"].as_str(),
            _ => None,
        }
    }

    fn own_or_carried<'a>(&'a self, own: Option<&'a str>, key: &str) -> Option<&'a str> {
        own.filter(|s| !s.trim().is_empty())
            .or_else(|| self.nested().find_map(|v| find_str(v, key)))
    }

    fn own_summary(&self) -> Option<&str> {
        match self {
            Evidence::Lint(e) => e.summary.as_deref(),
            Evidence::Deploy(e) => e.summary.as_deref(),
            Evidence::PortDiscovery(e) => e.summary.as_deref(),
            Evidence::Restart(e) => e.summary.as_deref(),
            Evidence::Persistence(e) => e.summary.as_deref(),
            _ => None,
        }
    }

    fn own_error(&self) -> Option<&str> {
        match self {
            Evidence::Deploy(e) => e.error.as_deref(),
            Evidence::ApiProbe(e) => e.error.as_ref().and_then(Value::as_str),
            Evidence::WsProbe(e) => e.error.as_deref(),
            Evidence::Redis(e) => e.error.as_ref().and_then(Value::as_str),
            Evidence::Restart(e) => e.error.as_deref(),
            Evidence::Persistence(e) => e.error.as_deref(),
            Evidence::Shutdown(e) => e.error.as_deref(),
            _ => None,
        }
    }

    /// The JSON the step carries from elsewhere, in the order it is written (all of it,
    /// for evidence kept as read).
    fn nested(&self) -> Box<dyn Iterator<Item = &Value> + '_> {
        match self {
            Evidence::Deploy(e) => Box::new(e.nested()),
            Evidence::Lint(e) => Box::new(e.findings.iter()),
            Evidence::PortDiscovery(e) => Box::new(e.held.iter().chain(&e.engine)),
            Evidence::ApiProbe(e) => Box::new(e.body.iter().chain(&e.error).chain(&e.endpoints)),
            Evidence::WsProbe(e) => Box::new(e.completion.iter().chain(&e.endpoints)),
            Evidence::Redis(e) => Box::new(
                e.service_reports
                    .iter()
                    .chain(&e.error)
                    .chain(&e.tcp)
                    .chain(&e.dependencies),
            ),
            Evidence::MissingKey(e) => Box::new(e.nested()),
            Evidence::MultiInstance(e) => Box::new(e.nested()),
            Evidence::Restart(e) => Box::new(e.nested()),
            Evidence::Persistence(e) => Box::new(e.nested()),
            Evidence::Shutdown(e) => Box::new(e.nested()),
            Evidence::Raw(v) => Box::new(std::iter::once(v)),
            Evidence::Reason(_) => Box::new(std::iter::empty()),
        }
    }
}

impl std::fmt::Display for Evidence {
    /// The evidence as compact JSON, as the scoreboard stores it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let text = serde_json::to_string(self).map_err(|_| std::fmt::Error)?;
        f.write_str(&text)
    }
}

/// The typed shape of `value` for a step of `kind`, if it has one.
fn typed(kind: Option<StepKind>, value: &Value) -> Option<Evidence> {
    fn of<'a, T: Deserialize<'a>>(value: &'a Value) -> Result<T, serde_json::Error> {
        T::deserialize(value)
    }
    if let Ok(r) = of::<ReasonEvidence>(value) {
        return Some(Evidence::Reason(r));
    }
    let v = value;
    let typed = match kind? {
        StepKind::Lint => of(v).map(Evidence::Lint),
        StepKind::Deploy => of(v).map(Evidence::Deploy),
        StepKind::PortDiscovery => of(v).map(Evidence::PortDiscovery),
        StepKind::ApiProbe => of(v).map(Evidence::ApiProbe),
        StepKind::WsProbe => of(v).map(Evidence::WsProbe),
        StepKind::Redis => of(v).map(Evidence::Redis),
        StepKind::MissingKey => of(v).map(Evidence::MissingKey),
        StepKind::MultiInstance => of(v).map(Evidence::MultiInstance),
        StepKind::Restart => of(v).map(Evidence::Restart),
        StepKind::Persistence => of(v).map(Evidence::Persistence),
        StepKind::Shutdown => of(v).map(Evidence::Shutdown),
    };
    typed.ok()
}

/// Whether `typed` writes exactly the JSON `value` holds: same keys, order and values.
fn same_json(typed: &Evidence, value: &Value) -> bool {
    match (serde_json::to_string(typed), serde_json::to_string(value)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// The first non-blank string under `key`, depth-first in document order (an object's
/// own key before its children's).
pub fn find_str<'a>(value: &'a Value, key: &str) -> Option<&'a str> {
    match value {
        Value::Object(map) => map
            .get(key)
            .and_then(Value::as_str)
            .filter(|s| !s.trim().is_empty())
            .or_else(|| map.values().find_map(|v| find_str(v, key))),
        Value::Array(items) => items.iter().find_map(|v| find_str(v, key)),
        _ => None,
    }
}

#[cfg(test)]
mod tests;
