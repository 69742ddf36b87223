//! A step is one check of the protocol: it always has a status, a duration and evidence,
//! and a failing step always says why in one word.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::Evidence;

/// Why a step failed, from a closed set the proposer maps to mutations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Signature {
    PortConflict,
    NameConflict,
    NetworkConflict,
    /// Two instances mount one volume (a fixed `name:`): their data is not their own.
    VolumeConflict,
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
    /// The step failed, but no marker in the evidence says why: the raw evidence is kept
    /// and no mutation is guessed from it.
    Unclassified,
    /// Without the API key the stack came up, but nothing warned that the key is missing.
    NoKeyWarning,
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

const SIGNATURE_NAMES: [(Signature, &str); 26] = [
    (Signature::PortConflict, "port_conflict"),
    (Signature::NameConflict, "name_conflict"),
    (Signature::NetworkConflict, "network_conflict"),
    (Signature::VolumeConflict, "volume_conflict"),
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
    (Signature::Unclassified, "unclassified"),
    (Signature::NoKeyWarning, "no_key_warning"),
];

impl std::fmt::Display for Signature {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A fault of the harness or its machine, not of the config under test: a step that ends
/// in one proves nothing either way, and its run is never charged to the version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fault {
    /// The Docker engine could not be reached, or stopped answering.
    EngineUnavailable,
    /// The engine answered an API call with an error that is not about the config.
    EngineApi,
    /// The Compose CLI could not be started.
    ComposeCli,
    /// No space left on the device that holds the run's evidence.
    DiskFull,
    /// The run's evidence could not be written (permissions, a vanished directory).
    EvidenceUnwritable,
    /// The harness could not make a probe (its own client, not the service, failed).
    ProbeUnavailable,
    /// The --port-range had no free ports left for an instance (other harnesses hold them).
    PortsExhausted,
    /// SIGINT or SIGTERM stopped the run.
    Interrupted,
}

impl Fault {
    pub fn as_str(self) -> &'static str {
        match self {
            Fault::EngineUnavailable => "engine_unavailable",
            Fault::EngineApi => "engine_api",
            Fault::ComposeCli => "compose_cli",
            Fault::DiskFull => "disk_full",
            Fault::EvidenceUnwritable => "evidence_unwritable",
            Fault::ProbeUnavailable => "probe_unavailable",
            Fault::PortsExhausted => "ports_exhausted",
            Fault::Interrupted => "interrupted",
        }
    }

    /// What a person does about it.
    pub fn fix(self) -> &'static str {
        match self {
            Fault::EngineUnavailable => {
                "start the Docker daemon or point DOCKER_HOST at a running one, then run again"
            }
            Fault::EngineApi => "check the engine (`docker info`, its logs) and run again",
            Fault::ComposeCli => {
                "install Compose (v2: `docker compose`, as `scripts/setup` does; or v1's `docker-compose`) and run again"
            }
            Fault::DiskFull => "free space on the disk holding --runs-dir, then run again",
            Fault::EvidenceUnwritable => {
                "make --runs-dir writable (or choose another with --runs-dir), then run again"
            }
            Fault::ProbeUnavailable => "see the step's evidence; the harness's own client failed",
            Fault::PortsExhausted => "widen --port-range or wait for other harnesses to finish",
            Fault::Interrupted => "run again",
        }
    }

    /// The fault behind an engine call that failed.
    pub fn of_engine(e: &crate::engine::EngineError) -> Fault {
        if e.is_unreachable() {
            Fault::EngineUnavailable
        } else {
            Fault::EngineApi
        }
    }

    /// The fault behind an I/O error on the run's own files.
    pub fn of_io(e: &std::io::Error) -> Fault {
        if e.raw_os_error() == Some(nix::libc::ENOSPC)
            || e.kind() == std::io::ErrorKind::StorageFull
        {
            Fault::DiskFull
        } else {
            Fault::EvidenceUnwritable
        }
    }
}

impl std::fmt::Display for Fault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a step did not run. A skip that follows a failure, or one of a step the task does
/// not declare, leaves a run whole: any other skip means the protocol was not run to its
/// end, and the run is partial.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Skip {
    /// An earlier step failed, so there was nothing left for this one to check.
    AfterFailure,
    /// The step cannot be run here, or was not planned (a remote engine, a step selection).
    NotRun,
    /// The task's protocol declares nothing for this step to check (no dependencies, no
    /// optional keys, …): the whole protocol is what the task declares.
    NotDeclared,
}

/// How a step ended. A failure without a signature, or an error without a fault, cannot
/// be built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Pass,
    /// The config's fault, named by the evidence.
    Fail(Signature),
    /// The harness's fault: says nothing about the config.
    Error(Fault),
    Skip(Skip),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub name: String,
    pub outcome: Outcome,
    pub duration_ms: u64,
    pub evidence: Evidence,
}

impl Step {
    pub fn passed(&self) -> bool {
        self.outcome == Outcome::Pass
    }

    /// Passed, or had nothing to check because the task declares nothing for it: what a
    /// successful run's every step is.
    pub fn held(&self) -> bool {
        matches!(
            self.outcome,
            Outcome::Pass | Outcome::Skip(Skip::NotDeclared)
        )
    }

    pub fn failed(&self) -> bool {
        matches!(self.outcome, Outcome::Fail(_))
    }

    pub fn fault(&self) -> Option<Fault> {
        match self.outcome {
            Outcome::Error(f) => Some(f),
            _ => None,
        }
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
            Outcome::Error(_) => "error",
            Outcome::Skip(_) => "skip",
        }
    }
}

/// The record's shape: `{name, status, duration_ms, evidence, signature?, fault?, skip?}`.
/// Generic in its evidence: written from the typed evidence, read as the JSON the file
/// holds, which [`Evidence::read`] then types by the step's name.
#[derive(Serialize, Deserialize)]
struct StepRecord<E> {
    name: String,
    status: String,
    duration_ms: u64,
    evidence: E,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    signature: Option<Signature>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    fault: Option<Fault>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    skip: Option<Skip>,
}

impl Serialize for Step {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        StepRecord {
            name: self.name.clone(),
            status: self.status().to_string(),
            duration_ms: self.duration_ms,
            evidence: &self.evidence,
            signature: self.signature(),
            fault: self.fault(),
            skip: match self.outcome {
                Outcome::Skip(why) => Some(why),
                _ => None,
            },
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for Step {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let r = StepRecord::<Value>::deserialize(d)?;
        let outcome = match (r.status.as_str(), r.signature, r.fault) {
            ("pass", None, None) if r.skip.is_none() => Outcome::Pass,
            // Records from before skips said why: not known to follow a failure.
            ("skip", None, None) => Outcome::Skip(r.skip.unwrap_or(Skip::NotRun)),
            ("fail", Some(sig), None) if r.skip.is_none() => Outcome::Fail(sig),
            ("error", None, Some(fault)) if r.skip.is_none() => Outcome::Error(fault),
            (status, sig, fault) => {
                return Err(D::Error::custom(format!(
                    "step `{}`: status `{status}` with signature {sig:?} and fault {fault:?} is not a valid combination",
                    r.name
                )));
            }
        };
        Ok(Step {
            evidence: Evidence::read(&r.name, r.evidence),
            name: r.name,
            outcome,
            duration_ms: r.duration_ms,
        })
    }
}

/// The steps of the protocol, in the order they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepKind {
    Lint,
    Deploy,
    PortDiscovery,
    ApiProbe,
    WsProbe,
    Redis,
    MissingKey,
    MultiInstance,
    Restart,
    Persistence,
    Shutdown,
}

impl StepKind {
    pub const ALL: [StepKind; 11] = [
        StepKind::Lint,
        StepKind::Deploy,
        StepKind::PortDiscovery,
        StepKind::ApiProbe,
        StepKind::WsProbe,
        StepKind::Redis,
        StepKind::MissingKey,
        StepKind::MultiInstance,
        StepKind::Restart,
        StepKind::Persistence,
        StepKind::Shutdown,
    ];

    pub fn name(self) -> &'static str {
        match self {
            StepKind::Lint => "lint",
            StepKind::Deploy => "deploy",
            StepKind::PortDiscovery => "port_discovery",
            StepKind::ApiProbe => "api_probe",
            StepKind::WsProbe => "ws_probe",
            StepKind::Redis => "redis",
            StepKind::MissingKey => "missing_key",
            StepKind::MultiInstance => "multi_instance",
            StepKind::Restart => "restart",
            StepKind::Persistence => "persistence",
            StepKind::Shutdown => "shutdown",
        }
    }

    pub fn from_name(name: &str) -> Option<StepKind> {
        StepKind::ALL.into_iter().find(|k| k.name() == name)
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
            evidence: Evidence::read("deploy", json!({"summary": "port is already allocated"})),
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
