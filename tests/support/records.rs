//! Run records as a real whole-protocol run leaves them: every step of the protocol, and
//! the evidence a success must show (the override and a captured log carrying the UUID).
#![allow(dead_code)]

use std::path::Path;

use harness::run::{Outcome, Signature, Step, StepKind};
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
            evidence: harness::run::Evidence::read(k.name(), serde_json::json!({"step": k.name()})),
        })
        .collect()
}

/// `runs/<uuid8>/compose/override.yml` and `runs/<uuid8>/logs/app.log`, as a run writes them.
pub fn write_evidence(runs: &Path, uuid: Uuid, task: &str) {
    let dir = harness::run::RunDir::new(runs, uuid.into());
    std::fs::create_dir_all(dir.logs()).expect("logs dir");
    std::fs::create_dir_all(dir.compose()).expect("compose dir");
    std::fs::write(
        dir.log("app"),
        format!("# harness: container app label dev.harness.run={uuid}\nready\n"),
    )
    .expect("log");
    std::fs::write(
        dir.override_file(),
        format!("services:\n  app:\n    labels:\n      dev.harness.run: {uuid}\n      dev.harness.task: {task}\n"),
    )
    .expect("override");
}
