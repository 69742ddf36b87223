//! The checks themselves. Each returns how it ended and the evidence that shows it.

mod dependency;
mod deploy;
mod keys;
mod lint;
mod multi;
mod persistence;
mod probe;
mod restart;
mod shutdown;

use super::context::{Deployment, StepContext};
use crate::run::{Evidence, Fault, Outcome, Signature, Skip, StepKind};

pub(crate) type StepResult = (Outcome, Evidence);

fn fail(sig: Signature, evidence: impl Into<Evidence>) -> StepResult {
    (Outcome::Fail(sig), evidence.into())
}

fn error(fault: Fault, evidence: impl Into<Evidence>) -> StepResult {
    (Outcome::Error(fault), evidence.into())
}

/// Nothing left to check because an earlier step failed: the run stays whole.
fn skip_after_failure(reason: &str) -> StepResult {
    (Outcome::Skip(Skip::AfterFailure), Evidence::reason(reason))
}

/// The step could not run here or was not planned: the run is partial.
fn skip_not_run(reason: &str) -> StepResult {
    (Outcome::Skip(Skip::NotRun), Evidence::reason(reason))
}

/// The task declares nothing for this step to check: the run stays whole.
fn not_declared(reason: &str) -> StepResult {
    (Outcome::Skip(Skip::NotDeclared), Evidence::reason(reason))
}

fn pass(evidence: impl Into<Evidence>) -> StepResult {
    (Outcome::Pass, evidence.into())
}

// The vocabulary (names, order) lives with the record in `run::step`; the dispatch
// to each check lives here, beside the checks.
impl StepKind {
    pub(crate) async fn run(self, s: &mut StepContext<'_>) -> StepResult {
        // Exhaustive, so a new step kind has to say here how it is checked. The main
        // instance's checks work on a copy: restart and persistence replace it.
        let main = s.deployment.clone();
        match (self, main) {
            (StepKind::Lint, _) => lint::lint(s),
            (StepKind::Deploy, _) => deploy::deploy(s).await,
            (StepKind::PortDiscovery, _) => deploy::port_discovery(s),
            (StepKind::MissingKey, _) => keys::missing_key(s).await,
            (StepKind::MultiInstance, _) => multi::multi_instance(s).await,
            (StepKind::Shutdown, _) => shutdown::shutdown(s).await,
            (StepKind::ApiProbe, Some(d)) => probe::api_probe(s, &d).await,
            (StepKind::WsProbe, Some(d)) => probe::ws_probe(s, &d).await,
            (StepKind::Redis, Some(d)) => dependency::dependencies(s, &d).await,
            (StepKind::Restart, Some(d)) => restart::restart(s, &d).await,
            (StepKind::Persistence, Some(d)) => persistence::persistence(s, &d).await,
            // Without a main instance its checks have nothing to check.
            (
                StepKind::ApiProbe
                | StepKind::WsProbe
                | StepKind::Redis
                | StepKind::Restart
                | StepKind::Persistence,
                None,
            ) => nothing_to_check(s),
        }
    }
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
