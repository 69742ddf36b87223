//! One struct per step kind. Every field is optional: each is present in the shapes of
//! its step that write it (pass, a failure, a fault), and its place in the struct is its
//! place among the keys the step writes. An unknown key makes a value fit no shape.

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

/// A key that is there, even as `null`, is `Some`: a `null` written must be written back.
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

/// A struct of optional fields, each written only when present, in declaration order.
macro_rules! shape {
    ($(#[$m:meta])* $name:ident { $($(#[$fm:meta])* $field:ident : $ty:ty),* $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct $name {
            $(
                $(#[$fm])*
                #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "present")]
                pub $field: Option<$ty>,
            )*
        }
    };
}

/// Why a step did not run, or was cut short.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReasonEvidence {
    pub reason: String,
}

shape!(
    /// The static rules: `{summary, errors, findings}`.
    LintEvidence {
        summary: String,
        errors: u64,
        findings: Value,
    }
);

shape!(
    /// `up` and the wait. Pass: `{up, ready_ms, containers}`; a failure of `up` or the wait:
    /// `{summary?, up, failure?, logs_tail?}` or `{up, error}`; images not on the engine:
    /// `{summary, missing, fix}`; a port published beyond loopback: `{summary, exposed, deploy}`.
    DeployEvidence {
        summary: String,
        up: Value,
        ready_ms: Value,
        containers: Value,
        error: String,
        failure: Value,
        logs_tail: Value,
        missing: Value,
        fix: String,
        exposed: Vec<String>,
        /// The passing deploy's own evidence, when its ports failed the step.
        deploy: Value,
        /// The instances later steps check, brought up at the same time (what the step's
        /// duration also paid for) — or, when the main instance clashed, how it was then
        /// deployed alone.
        alongside: Value,
    }
);

impl DeployEvidence {
    pub(super) fn nested(&self) -> impl Iterator<Item = &Value> {
        [
            &self.up,
            &self.ready_ms,
            &self.containers,
            &self.failure,
            &self.logs_tail,
            &self.missing,
            &self.deploy,
            &self.alongside,
        ]
        .into_iter()
        .flatten()
    }
}

shape!(
    /// The host ports an instance was given.
    PortsEvidence {
        api: Option<u16>,
        websocket: Option<u16>,
    }
);

shape!(
    /// Ports held through deploy: `{summary, held, engine}` when the stack wanted one of them,
    /// else `{summary, held, assigned, problems}`.
    PortDiscoveryEvidence {
        summary: String,
        held: Value,
        engine: Value,
        assigned: PortsEvidence,
        problems: Vec<String>,
    }
);

shape!(
    /// The apps' HTTP endpoints. Pass: the first's `{url, status, body}`, and with more
    /// than one `endpoints` (each `{url, status}`); else `{port?, status?, body?, error,
    /// url?}` of the endpoint that failed.
    ApiProbeEvidence {
        url: String,
        port: u16,
        status: u16,
        body: Value,
        error: Value,
        endpoints: Value,
    }
);

shape!(
    /// The streamed execution. Pass: the stream; else `{port?, error}`.
    WsProbeEvidence {
        url: String,
        chunks_expected: u64,
        chunks_received: u64,
        completion: Value,
        elapsed_ms: u64,
        port: u16,
        error: String,
        /// With more than one endpoint: each one's `{url, chunks_received}`.
        endpoints: Value,
    }
);

shape!(
    /// The dependency's exec check, run inside its container.
    ExecEvidence {
        container: String,
        command: String,
        exit_code: i64,
        output: String,
    }
);

shape!(
    /// Each declared dependency: what the app reports about it and what it answers
    /// itself, `{service_reports?, exec?, error?, service?, tcp?}`; with more than one
    /// dependency that passed, `dependencies` holds each one's.
    RedisEvidence {
        service_reports: Value,
        exec: ExecEvidence,
        error: Value,
        service: String,
        tcp: Value,
        dependencies: Value,
    }
);

shape!(
    /// The instance without the key and the one with a dummy key, and their teardown.
    MissingKeyEvidence {
        key_unset: Value,
        dummy_key_set: Value,
        teardown: Value,
        /// The optional keys checked (env names only, never values).
        keys: Vec<String>,
    }
);

impl MissingKeyEvidence {
    pub(super) fn nested(&self) -> impl Iterator<Item = &Value> {
        [&self.key_unset, &self.dummy_key_set, &self.teardown]
            .into_iter()
            .flatten()
    }
}

shape!(
    /// The extra instances: `{instances, teardown}`, or `{failure, teardown}`.
    MultiInstanceEvidence {
        instances: Value,
        failure: Value,
        teardown: Value,
        /// Checked extra instances handed on to restart and persistence (their steps tear
        /// them down).
        handed_on: Vec<String>,
    }
);

impl MultiInstanceEvidence {
    pub(super) fn nested(&self) -> impl Iterator<Item = &Value> {
        [&self.instances, &self.failure, &self.teardown]
            .into_iter()
            .flatten()
    }
}

shape!(
    /// The app's process the harness SIGKILLed.
    KilledEvidence {
        container: String,
        pid: i64,
        signal: String,
        restart_count_before: i64,
        policy: String,
    }
);

shape!(
    /// A crash and the way back. Pass: `{killed, healthy_again_ms, probes}`; the container
    /// stayed down: `{summary, killed, state, policy, exit_code}`; not healthy in time:
    /// `{summary, killed, waited_ms, containers}`; else `{killed?, healthy_again_ms?,
    /// probe | failure | error}` or `{error, pid}`.
    RestartEvidence {
        summary: String,
        killed: KilledEvidence,
        state: String,
        policy: String,
        exit_code: i64,
        waited_ms: u64,
        containers: Value,
        healthy_again_ms: u64,
        probes: Value,
        probe: Value,
        failure: Value,
        error: String,
        pid: i64,
        /// With more than one service to recover: each one killed and back, in order.
        recovered: Value,
        /// The extra instance crashed instead of the main one, and its teardown.
        instance: Value,
    }
);

impl RestartEvidence {
    pub(super) fn nested(&self) -> impl Iterator<Item = &Value> {
        [
            &self.containers,
            &self.probes,
            &self.probe,
            &self.failure,
            &self.recovered,
        ]
        .into_iter()
        .flatten()
    }
}

shape!(
    /// A value written, `down`, `up`, read back. The whole check: `{key, written, down,
    /// read_back, anonymous_volumes_dropped, summary?, service_reports_redis?}`; a failed
    /// write: `{write, service_reports_redis?}` or `{kv, health}`; a failed `down` or `up`:
    /// `{down, up_again | error}`.
    PersistenceEvidence {
        key: String,
        written: String,
        write: Value,
        kv: Value,
        health: Value,
        down: Value,
        up_again: Value,
        read_back: Value,
        anonymous_volumes_dropped: Vec<String>,
        summary: String,
        service_reports_redis: Value,
        error: String,
        /// How the value went in and out: `through` an app or by `exec` in the store.
        store: Value,
        /// The extra instance recreated instead of the main one, and its teardown.
        instance: Value,
    }
);

impl PersistenceEvidence {
    pub(super) fn nested(&self) -> impl Iterator<Item = &Value> {
        [
            &self.write,
            &self.kv,
            &self.health,
            &self.down,
            &self.up_again,
            &self.read_back,
            &self.service_reports_redis,
            &self.store,
        ]
        .into_iter()
        .flatten()
    }
}

shape!(
    /// `down` and what it left: `{logs, stop_ms, stopped, stop_ok, down, waited_ms?,
    /// leftovers}`, or `{logs?, down | error}` when the engine or Compose failed.
    /// `waited_ms`: between its `down` and its check, how long it waited for steps still
    /// working on other instances (not part of its duration).
    ShutdownEvidence {
        logs: Value,
        stop_ms: u64,
        stopped: Value,
        stop_ok: bool,
        down: Value,
        waited_ms: u64,
        leftovers: Value,
        error: String,
    }
);

impl ShutdownEvidence {
    pub(super) fn nested(&self) -> impl Iterator<Item = &Value> {
        [&self.logs, &self.stopped, &self.down, &self.leftovers]
            .into_iter()
            .flatten()
    }
}

/// Each kind's evidence is the step's evidence.
macro_rules! into_evidence {
    ($($shape:ident => $variant:ident),* $(,)?) => {
        $(impl From<$shape> for super::Evidence {
            fn from(e: $shape) -> super::Evidence {
                super::Evidence::$variant(e)
            }
        })*
    };
}

into_evidence!(
    ReasonEvidence => Reason,
    LintEvidence => Lint,
    DeployEvidence => Deploy,
    PortDiscoveryEvidence => PortDiscovery,
    ApiProbeEvidence => ApiProbe,
    WsProbeEvidence => WsProbe,
    RedisEvidence => Redis,
    MissingKeyEvidence => MissingKey,
    MultiInstanceEvidence => MultiInstance,
    RestartEvidence => Restart,
    PersistenceEvidence => Persistence,
    ShutdownEvidence => Shutdown,
);
