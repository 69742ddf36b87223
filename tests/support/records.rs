//! Run records as a real whole-protocol run leaves them: every step of the protocol, and
//! the evidence a success must show (the override and a captured log carrying the UUID).
#![allow(dead_code)]

use std::path::Path;

use harness::protocol::{Outcome, Signature, Step, StepKind};
use uuid::Uuid;

/// Every step of the protocol, passing — but `failing`, which fails with its signature.
pub fn whole_protocol(failing: Option<(StepKind, Signature)>) -> Vec<Step> {
    StepKind::ALL
        .iter()
        .map(|&k| Step {
            name: k.name().into(),
            outcome: match failing {
                Some((f, sig)) if f == k => Outcome::Fail(sig),
                _ => Outcome::Pass,
            },
            duration_ms: 3,
            evidence: serde_json::json!({"step": k.name()}),
        })
        .collect()
}

/// `runs/<uuid8>/compose/override.yml` and `runs/<uuid8>/logs/app.log`, as a run writes them.
pub fn write_evidence(runs: &Path, uuid: Uuid, task: &str) {
    let dir = harness::record::evidence_dir(runs, uuid);
    std::fs::create_dir_all(dir.join("logs")).expect("logs dir");
    std::fs::create_dir_all(dir.join("compose")).expect("compose dir");
    std::fs::write(
        dir.join("logs/app.log"),
        format!("# harness: container app label dev.harness.run={uuid}\nready\n"),
    )
    .expect("log");
    std::fs::write(
        dir.join("compose/override.yml"),
        format!("services:\n  app:\n    labels:\n      dev.harness.run: {uuid}\n      dev.harness.task: {task}\n"),
    )
    .expect("override");
}
