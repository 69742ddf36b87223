//! The instances later steps check (missing_key's pair, multi_instance's extras), brought
//! up together with the main one. They are isolated by design — their own projects,
//! ports and networks — so none of them has to wait for another's deploy; each step then
//! checks the instances it was handed instead of deploying them itself.

use std::collections::BTreeMap;
use std::sync::Mutex;

use serde_json::{Value, json};

use super::context::StepContext;
use super::instance::{self, Failure, Up};
use crate::engine::Project;
use crate::run::StepKind;

/// Instances deployed ahead of the steps that check them, by project name.
#[derive(Default)]
pub(crate) struct Ahead {
    ready: Mutex<BTreeMap<String, Result<Up, Failure>>>,
}

impl Ahead {
    pub fn keep(&self, project: &Project, up: Result<Up, Failure>) {
        if let Ok(mut ready) = self.ready.lock() {
            ready.insert(project.name.clone(), up);
        }
    }

    fn take(&self, project: &Project) -> Option<Result<Up, Failure>> {
        self.ready.lock().ok()?.remove(&project.name)
    }
}

/// The instances the plan's later steps will check, each with the step that checks it.
pub(crate) fn later_instances(s: &StepContext<'_>) -> Vec<(StepKind, Project)> {
    let planned = |k| s.plan.steps.contains(&k);
    let mut later = Vec::new();
    if planned(StepKind::MissingKey)
        && let Some((absent, present)) = super::steps::key_projects(s)
    {
        if absent.name != s.plan.project_name(0) {
            later.push((StepKind::MissingKey, absent));
        }
        later.push((StepKind::MissingKey, present));
    }
    if planned(StepKind::MultiInstance) && s.plan.multi_instance_declared() {
        let extras = s.plan.extra_instances().map(|i| s.project(i));
        later.extend(extras.map(|p| (StepKind::MultiInstance, p)));
    }
    later
}

/// The instance as deployed ahead for this step, else deployed now. One that lost a name,
/// port or network to an instance deployed at the same moment is deployed again: the step
/// deploying it itself would not have met that race, only the instances up by then.
/// The main instance (missing_key may read it) is not: deploy already brought it up
/// again alone where it clashed, so its result is final.
pub(crate) async fn deploy(s: &StepContext<'_>, project: &Project) -> Result<Up, Failure> {
    let main = project.name == s.plan.project_name(0);
    match s.ahead.take(project) {
        Some(Err(f)) if instance::is_clash(&f) && !main => {
            let torn = instance::teardown(s, project).await;
            tracing::debug!(project = %project.name, %torn, "deployed again after a clash ahead");
            instance::deploy(s, project).await
        }
        Some(up) => up,
        None => instance::deploy(s, project).await,
    }
}

/// What the deploy step's time also paid for: each instance brought up with the main one.
pub(crate) fn summary(later: &[(StepKind, Project)], ups: &[Result<Up, Failure>]) -> Value {
    let each = later.iter().zip(ups).map(|((kind, project), up)| {
        let mut v = json!({"project": project.name, "for": kind.name()});
        match up {
            Ok(up) => v["startup_ms"] = json!(up.deployment.startup_ms),
            Err(f) => v["signature"] = json!(f.signature()),
        }
        v
    });
    Value::Array(each.collect())
}
