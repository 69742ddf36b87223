//! A step is one check of the protocol: it always has a status, a duration and evidence,
//! and a failing step always says why in one word.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Why a step failed, from a closed set the proposer maps to mutations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Signature {
    PortConflict,
    NameConflict,
    NetworkConflict,
    RedisLocalhost,
    RedisUnavailable,
    MissingEnvFatal,
    HealthTimeout,
    HealthcheckBroken,
    Unhealthy,
    CrashLoop,
    DependencyRace,
    ImageMissing,
    NoRestart,
    DataLost,
    WsProtocol,
    ApiProbe,
    LintError,
    EngineUnavailable,
    ComposeRejected,
    Leftovers,
    Timeout,
    Interrupted,
    /// A published port bound to an address other than loopback (0.0.0.0, ::, a LAN IP).
    ExposedPort,
}

impl Signature {
    pub fn as_str(self) -> &'static str {
        // A test checks this table against serde's snake_case names.
        SIGNATURE_NAMES
            .iter()
            .find(|(s, _)| *s == self)
            .map(|(_, n)| *n)
            .unwrap_or("unknown")
    }
}

const SIGNATURE_NAMES: [(Signature, &str); 23] = [
    (Signature::PortConflict, "port_conflict"),
    (Signature::NameConflict, "name_conflict"),
    (Signature::NetworkConflict, "network_conflict"),
    (Signature::RedisLocalhost, "redis_localhost"),
    (Signature::RedisUnavailable, "redis_unavailable"),
    (Signature::MissingEnvFatal, "missing_env_fatal"),
    (Signature::HealthTimeout, "health_timeout"),
    (Signature::HealthcheckBroken, "healthcheck_broken"),
    (Signature::Unhealthy, "unhealthy"),
    (Signature::CrashLoop, "crash_loop"),
    (Signature::DependencyRace, "dependency_race"),
    (Signature::ImageMissing, "image_missing"),
    (Signature::NoRestart, "no_restart"),
    (Signature::DataLost, "data_lost"),
    (Signature::WsProtocol, "ws_protocol"),
    (Signature::ApiProbe, "api_probe"),
    (Signature::LintError, "lint_error"),
    (Signature::EngineUnavailable, "engine_unavailable"),
    (Signature::ComposeRejected, "compose_rejected"),
    (Signature::Leftovers, "leftovers"),
    (Signature::Timeout, "timeout"),
    (Signature::Interrupted, "interrupted"),
    (Signature::ExposedPort, "exposed_port"),
];

impl std::fmt::Display for Signature {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a step ended. A failure without a signature cannot be built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Pass,
    Fail(Signature),
    Skip,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub name: String,
    pub outcome: Outcome,
    pub duration_ms: u64,
    pub evidence: Value,
}

impl Step {
    pub fn passed(&self) -> bool {
        self.outcome == Outcome::Pass
    }

    pub fn failed(&self) -> bool {
        matches!(self.outcome, Outcome::Fail(_))
    }

    pub fn signature(&self) -> Option<Signature> {
        match self.outcome {
            Outcome::Fail(s) => Some(s),
            _ => None,
        }
    }

    pub fn status(&self) -> &'static str {
        match self.outcome {
            Outcome::Pass => "pass",
            Outcome::Fail(_) => "fail",
            Outcome::Skip => "skip",
        }
    }
}

/// The record's shape: `{name, status, duration_ms, evidence, signature?}`.
#[derive(Serialize, Deserialize)]
struct StepRecord {
    name: String,
    status: String,
    duration_ms: u64,
    evidence: Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    signature: Option<Signature>,
}

impl Serialize for Step {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        StepRecord {
            name: self.name.clone(),
            status: self.status().to_string(),
            duration_ms: self.duration_ms,
            evidence: self.evidence.clone(),
            signature: self.signature(),
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for Step {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let r = StepRecord::deserialize(d)?;
        let outcome = match (r.status.as_str(), r.signature) {
            ("pass", None) => Outcome::Pass,
            ("skip", None) => Outcome::Skip,
            ("fail", Some(sig)) => Outcome::Fail(sig),
            (status, sig) => {
                return Err(D::Error::custom(format!(
                    "step `{}`: status `{status}` with signature {sig:?} is not a valid combination",
                    r.name
                )));
            }
        };
        Ok(Step {
            name: r.name,
            outcome,
            duration_ms: r.duration_ms,
            evidence: r.evidence,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_signature_has_its_serde_name() {
        for (sig, name) in SIGNATURE_NAMES {
            assert_eq!(serde_json::to_value(sig).unwrap(), json!(name));
            assert_eq!(sig.as_str(), name);
        }
    }

    #[test]
    fn round_trips_and_rejects_invalid_states() {
        let step = Step {
            name: "deploy".into(),
            outcome: Outcome::Fail(Signature::PortConflict),
            duration_ms: 12,
            evidence: json!({"stderr": "port is already allocated"}),
        };
        let text = serde_json::to_string(&step).unwrap();
        assert!(text.contains(r#""signature":"port_conflict""#));
        assert_eq!(serde_json::from_str::<Step>(&text).unwrap(), step);
        let bad = r#"{"name":"x","status":"fail","duration_ms":1,"evidence":null}"#;
        assert!(serde_json::from_str::<Step>(bad).is_err());
        let bad =
            r#"{"name":"x","status":"pass","duration_ms":1,"evidence":null,"signature":"timeout"}"#;
        assert!(serde_json::from_str::<Step>(bad).is_err());
    }
}
