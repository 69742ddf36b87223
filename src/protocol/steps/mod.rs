//! The checks themselves. Each returns how it ended and the evidence that shows it.

mod deploy;
mod keys;
mod lint;
mod multi;
mod persistence;
mod probe;
mod restart;
mod shutdown;

use serde_json::{Value, json};

use super::session::{Deployment, Session};
use crate::run::{Fault, Outcome, Signature, Skip, StepKind};

pub(crate) type StepResult = (Outcome, Value);

fn fail(sig: Signature, evidence: Value) -> StepResult {
    (Outcome::Fail(sig), evidence)
}

fn error(fault: Fault, evidence: Value) -> StepResult {
    (Outcome::Error(fault), evidence)
}

/// Nothing left to check because an earlier step failed: the run stays whole.
fn skip_after_failure(reason: &str) -> StepResult {
    (Outcome::Skip(Skip::AfterFailure), json!({"reason": reason}))
}

/// The step could not run here or was not planned: the run is partial.
fn skip_not_run(reason: &str) -> StepResult {
    (Outcome::Skip(Skip::NotRun), json!({"reason": reason}))
}

fn pass(evidence: Value) -> StepResult {
    (Outcome::Pass, evidence)
}

// The vocabulary (names, order) lives with the record in `run::step`; the dispatch
// to each check lives here, beside the checks.
impl StepKind {
    pub(crate) async fn run(self, s: &mut Session<'_>) -> StepResult {
        match self {
            StepKind::Lint => return lint::lint(s),
            StepKind::Deploy => return deploy::deploy(s).await,
            StepKind::PortDiscovery => return deploy::port_discovery(s),
            StepKind::MissingKey => return keys::missing_key(s).await,
            StepKind::MultiInstance => return multi::multi_instance(s).await,
            StepKind::Shutdown => return shutdown::shutdown(s).await,
            _ => {}
        }
        // The rest work on the main instance; without one they have nothing to check.
        let Some(d) = s.deployment.clone() else {
            return nothing_to_check(s);
        };
        match self {
            StepKind::ApiProbe => probe::api_probe(s, &d).await,
            StepKind::WsProbe => probe::ws_probe(s, &d).await,
            StepKind::Redis => probe::redis(s, &d).await,
            StepKind::Restart => restart::restart(s, &d).await,
            _ => persistence::persistence(s, &d).await,
        }
    }
}

/// No main instance to check: after a failure that is expected, else the step was not
/// reached by the plan (deploy left out of a step selection).
fn nothing_to_check(s: &Session<'_>) -> StepResult {
    if s.failed_before {
        skip_after_failure("no deployment to check: an earlier step failed")
    } else {
        skip_not_run("no deployment to check: deploy was not run")
    }
}

/// The main instance after a step changed it (restart, persistence): new ports, new ids.
fn replace_deployment(s: &mut Session<'_>, d: Deployment) {
    s.deployment = Some(d);
}
