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

use super::context::{Deployment, StepContext};
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
    pub(crate) async fn run(self, s: &mut StepContext<'_>) -> StepResult {
        // Exhaustive, so a new step kind has to say here how it is checked.
        match self {
            StepKind::Lint => lint::lint(s),
            StepKind::Deploy => deploy::deploy(s).await,
            StepKind::PortDiscovery => deploy::port_discovery(s),
            StepKind::MissingKey => keys::missing_key(s).await,
            StepKind::MultiInstance => multi::multi_instance(s).await,
            StepKind::Shutdown => shutdown::shutdown(s).await,
            // The rest work on the main instance; without one they have nothing to check.
            StepKind::ApiProbe => match main_instance(s) {
                Ok(d) => probe::api_probe(s, &d).await,
                Err(skip) => skip,
            },
            StepKind::WsProbe => match main_instance(s) {
                Ok(d) => probe::ws_probe(s, &d).await,
                Err(skip) => skip,
            },
            StepKind::Redis => match main_instance(s) {
                Ok(d) => probe::redis(s, &d).await,
                Err(skip) => skip,
            },
            StepKind::Restart => match main_instance(s) {
                Ok(d) => restart::restart(s, &d).await,
                Err(skip) => skip,
            },
            StepKind::Persistence => match main_instance(s) {
                Ok(d) => persistence::persistence(s, &d).await,
                Err(skip) => skip,
            },
        }
    }
}

/// The main instance the step checks, or the skip to record when there is none.
fn main_instance(s: &StepContext<'_>) -> Result<Deployment, StepResult> {
    s.deployment.clone().ok_or_else(|| nothing_to_check(s))
}

/// No main instance to check: after a failure that is expected, else the step was not
/// reached by the plan (deploy left out of a step selection).
fn nothing_to_check(s: &StepContext<'_>) -> StepResult {
    if s.failed_before {
        skip_after_failure("no deployment to check: an earlier step failed")
    } else {
        skip_not_run("no deployment to check: deploy was not run")
    }
}

/// The main instance after a step changed it (restart, persistence): new ports, new ids.
fn replace_deployment(s: &mut StepContext<'_>, d: Deployment) {
    s.deployment = Some(d);
}
