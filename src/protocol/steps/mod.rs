//! The checks themselves. Each returns how it ended and the evidence that shows it.

mod dependency;
mod deploy;
mod keys;
mod lint;
mod multi;
mod persistence;
mod probe;
mod restart;
pub(crate) mod shutdown;

pub(crate) use keys::{key_projects, main_is_keyless};

use super::context::{Instance, StepContext};
use super::instance;
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
    /// Runs the check. `spare`: an extra instance for restart or persistence to work on
    /// instead of the main one (the runner gives one only to them).
    pub(crate) async fn run(self, s: &StepContext<'_>, spare: Option<Instance>) -> StepResult {
        // Exhaustive, so a new step kind has to say here how it is checked. The main
        // instance's checks work on a copy: restart and persistence replace it.
        let main = s.main();
        match (self, main) {
            (StepKind::Lint, _) => lint::lint(s),
            (StepKind::Deploy, _) => deploy::deploy(s).await,
            (StepKind::PortDiscovery, _) => deploy::port_discovery(s),
            (StepKind::MissingKey, _) => keys::missing_key(s).await,
            (StepKind::MultiInstance, _) => multi::multi_instance(s).await,
            (StepKind::Shutdown, _) => shutdown::shutdown(s).await,
            (StepKind::Restart | StepKind::Persistence, _) => match s.instance_for(spare) {
                Some(on) => on_instance(self, s, on).await,
                None => nothing_to_check(s),
            },
            (StepKind::ApiProbe, Some(d)) => probe::api_probe(s, &d).await,
            (StepKind::WsProbe, Some(d)) => probe::ws_probe(s, &d).await,
            (StepKind::Redis, Some(d)) => dependency::dependencies(s, &d).await,
            // Without a main instance its checks have nothing to check.
            (StepKind::ApiProbe | StepKind::WsProbe | StepKind::Redis, None) => nothing_to_check(s),
        }
    }
}

/// Restart or persistence on `on`. An extra instance is theirs alone: torn down when the
/// step is done with it, its teardown in the step's evidence.
async fn on_instance(kind: StepKind, s: &StepContext<'_>, on: Instance) -> StepResult {
    let (outcome, evidence) = match kind {
        StepKind::Restart => restart::restart(s, &on).await,
        _ => persistence::persistence(s, &on).await,
    };
    if on.is_main() {
        return (outcome, evidence);
    }
    let teardown = instance::teardown(s, &s.project(on.index)).await;
    let evidence = evidence.map_json(kind, |mut v| {
        v["instance"] = serde_json::json!({"project": on.deployment.project, "teardown": teardown});
        v
    });
    (outcome, evidence)
}

/// How many checked extra instances restart and persistence can use: one each, when the
/// plan runs them and they have something to do.
pub(crate) fn spares_wanted(s: &StepContext<'_>) -> usize {
    let planned = |k| s.plan.steps.contains(&k);
    let restart = planned(StepKind::Restart)
        && !s.plan.spec.restart.recover.is_empty()
        && restart::engine_is_local();
    let persistence = planned(StepKind::Persistence) && !s.plan.spec.persistence.is_empty();
    usize::from(restart) + usize::from(persistence)
}

/// No main instance to check: after a failure that is expected, else the step was not
/// reached by the plan (deploy left out of a step selection).
fn nothing_to_check(s: &StepContext<'_>) -> StepResult {
    if s.failed_before() {
        skip_after_failure("no deployment to check: an earlier step failed")
    } else {
        skip_not_run("no deployment to check: deploy was not run")
    }
}
