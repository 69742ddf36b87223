//! Runs the steps of one plan in order and reports each as it finishes. The runner never
//! prints: the caller turns events into terminal lines or JSON.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::FutureExt;
use tokio::sync::oneshot;
use uuid::Uuid;

use std::cell::RefCell;

use super::context::{Deployment, Instance, StepContext, sweep};
use super::ports::PortHold;
use super::steps::{self, StepResult, shutdown};
use crate::compose::ComposeFile;
use crate::engine::{ComposeCli, Docker, LABEL_SESSION, LABEL_TASK};
use crate::owner::Session;
use crate::redact::Redactor;
use crate::run::{Evidence, Fault, Outcome, RunDir, RunId, Skip, Step, StepKind};
use crate::spec::SpecFile;

/// Everything one run needs to know before it starts.
#[derive(Debug, Clone)]
pub struct Plan {
    pub run: Uuid,
    pub task: String,
    pub candidate: ComposeFile,
    /// `runs/<uuid8>/`: candidate, override, logs.
    pub run_dir: RunDir,
    pub steps: Vec<StepKind>,
    /// Upper bound of each step that waits on the engine.
    pub timeout: Duration,
    /// How long containers get to stop after SIGTERM.
    pub stop_timeout: Duration,
    /// The task's protocol: what every step checks, and where.
    pub spec: Arc<SpecFile>,
    /// The candidate's default host ports, held by the harness during deploy.
    pub default_host_ports: Vec<u16>,
    pub redactor: Redactor,
    /// `--instances` when given; else multi_instance runs the task's `instances`.
    pub instances: Option<usize>,
    /// The key the missing_key step sets for its "present" variant; redacted everywhere.
    pub dummy_key: String,
    /// Range mode: host ports leased from this range instead of picked by the engine.
    pub port_range: Option<super::PortRange>,
    /// Anonymous volumes a step's `down` without -v left behind until it removes them.
    pub orphans: Orphans,
}

/// Anonymous volumes a `down` without -v orphaned. They carry no label, so a run cut short
/// before the step removed them would leave them to nobody: the sweep removes these too,
/// and the reaper, told before the `down`, if the harness is killed.
#[derive(Debug, Clone, Default)]
pub struct Orphans {
    names: Arc<std::sync::Mutex<std::collections::BTreeSet<String>>>,
    reaper: Option<(crate::reaper::Guard, Uuid)>,
}

impl Orphans {
    /// Orphans of `run`, reported to `reaper` as well when there is one.
    pub fn of(run: Uuid, reaper: Option<crate::reaper::Guard>) -> Orphans {
        Orphans {
            names: Default::default(),
            reaper: reaper.map(|guard| (guard, run)),
        }
    }

    /// Held from now until [`Orphans::forget`]; call it while the volumes are still
    /// mounted (the reaper checks that they are the run's).
    pub(crate) async fn add(&self, names: &[String]) {
        if names.is_empty() {
            return;
        }
        if let Ok(mut all) = self.names.lock() {
            all.extend(names.iter().cloned());
        }
        if let Some((guard, run)) = &self.reaper
            && let Err(e) = guard.orphans(*run, names).await
        {
            // Named in the log: if this harness is killed before it removes them, nothing
            // else can tell whose they are.
            tracing::warn!(error = %e, volumes = ?names, "the reaper was not told of these anonymous volumes; a kill -9 now leaves them");
        }
    }

    pub(crate) fn forget(&self, names: &[String]) {
        if let Ok(mut all) = self.names.lock() {
            for name in names {
                all.remove(name);
            }
        }
    }

    pub(crate) fn all(&self) -> Vec<String> {
        self.names
            .lock()
            .map(|all| all.iter().cloned().collect())
            .unwrap_or_default()
    }
}

impl Plan {
    /// Why this plan is not the whole protocol; empty when it is. Only a whole run
    /// counts toward its version.
    pub fn partial_reasons(&self) -> Vec<String> {
        let mut reasons = Vec::new();
        let left_out: Vec<&str> = StepKind::ALL
            .iter()
            .filter(|k| !self.steps.contains(k))
            .map(|k| k.name())
            .collect();
        if !left_out.is_empty() {
            reasons.push(format!(
                "steps left out by --steps/--skip: {}",
                left_out.join(", ")
            ));
        }
        if let Some(n) = self.instances.filter(|n| *n < 2) {
            reasons.push(format!(
                "--instances {n}: multi_instance needs at least 2 instances at once"
            ));
        }
        reasons
    }

    /// K for multi_instance: the main instance plus K-1 more at once.
    pub fn instance_count(&self) -> usize {
        self.instances.unwrap_or(self.spec.instances)
    }

    /// The ports the task's dependencies listen on, as the candidate says.
    pub(crate) fn dependency_ports(&self) -> std::collections::BTreeSet<u16> {
        super::roles::dependency_ports(&self.spec, &self.candidate)
    }

    pub fn id(&self) -> RunId {
        RunId::from(self.run)
    }

    /// Instance `instance`'s compose project.
    pub fn project_name(&self, instance: usize) -> String {
        self.id().project(&self.task, instance)
    }

    pub(crate) fn probe_timeout(&self) -> Duration {
        self.timeout.min(Duration::from_secs(15))
    }

    /// The files instance `index` deploys from. In range mode each instance has its own
    /// copy of the candidate, with its leased host ports written in.
    pub(crate) fn compose_files(&self, index: usize) -> Vec<PathBuf> {
        let candidate = match self.port_range {
            Some(_) => self.run_dir.pinned_candidate(index),
            None => self.run_dir.candidate(),
        };
        vec![candidate, self.run_dir.override_file()]
    }

    /// Whether multi_instance has copies to run: `--instances`, else the task's `instances`.
    pub(crate) fn multi_instance_declared(&self) -> bool {
        self.instances.is_some() || self.spec.instances >= 2
    }

    /// Instances 1..K of multi_instance (0 is the main one).
    pub(crate) fn extra_instances(&self) -> std::ops::Range<usize> {
        1..self.instance_count().max(1)
    }

    /// The instances of missing_key: without the key, and with the dummy key.
    pub(crate) fn key_instances(&self) -> (usize, usize) {
        let k = self.instance_count().max(1);
        (k, k + 1)
    }

    /// Every project name this run may create.
    pub(crate) fn project_names(&self) -> Vec<String> {
        (0..=self.key_instances().1)
            .map(|i| self.project_name(i))
            .collect()
    }
}

/// What the caller hears while a run goes on.
pub enum Event<'a> {
    Started(&'static str),
    Finished(&'a Step),
}

/// The steps of a run and the deployment they found.
#[derive(Debug, Clone)]
pub struct Report {
    pub steps: Vec<Step>,
    pub deployment: Option<Deployment>,
    pub project: String,
    /// Why the run was not the whole protocol; empty when it was.
    pub partial: Vec<String>,
}

pub async fn run(
    docker: &Docker,
    compose: &ComposeCli,
    plan: &Plan,
    on_event: &mut dyn FnMut(Event<'_>),
) -> Report {
    let ctx = StepContext::new(docker, compose, plan);
    if plan.steps.contains(&StepKind::PortDiscovery) {
        ctx.hold_ports(PortHold::occupy(&plan.default_host_ports));
    }
    let schedule = Schedule {
        ctx: &ctx,
        on_event: RefCell::new(on_event),
        done: RefCell::new(Vec::with_capacity(plan.steps.len())),
    };
    schedule.all().await;
    let mut steps = schedule.done.into_inner();
    steps.sort_by_key(|s| plan.steps.iter().position(|k| k.name() == s.name));
    // Whatever the steps did or skipped, nothing of the run outlives it.
    let swept = ctx.sweep().await;
    if swept.as_array().is_some_and(|a| !a.is_empty()) {
        tracing::info!(%swept, "removed what the steps left behind");
    }
    let mut partial = plan.partial_reasons();
    partial.extend(steps.iter().filter_map(not_run));
    Report {
        steps,
        deployment: ctx.first_deployment(),
        project: plan.project_name(0),
        partial,
    }
}

/// Which step waits for which. The main instance's own checks run in protocol order; the
/// steps that have instances of their own run beside them: missing_key from the start,
/// restart and persistence on the extra instances multi_instance hands on; shutdown stops
/// the main instance once nothing else needs it and checks last. Where missing_key reads
/// the main instance as its key-less variant, restart and persistence on the main
/// instance wait for it. Everything is polled in this one task, so the event callback
/// and the list of finished steps are only ever borrowed between awaits.
struct Schedule<'s, 'a> {
    ctx: &'s StepContext<'a>,
    on_event: RefCell<&'s mut dyn FnMut(Event<'_>)>,
    done: RefCell<Vec<Step>>,
}

impl Schedule<'_, '_> {
    async fn all(&self) {
        use StepKind::*;
        for kind in [Lint, Deploy, PortDiscovery, ApiProbe, WsProbe, Redis] {
            self.step(kind, None).await;
        }
        let (main_lane_done, main_lane_rx) = oneshot::channel();
        let (spares_done, spares_done_rx) = oneshot::channel();
        let missing_key = self.step(MissingKey, None).shared();
        // Where missing_key reads the main instance as its key-less variant, the steps
        // that change the main instance wait for it.
        let keyless_checked = async {
            if steps::main_is_keyless(self.ctx) {
                missing_key.clone().await;
            }
        };
        let main_free = async {
            let _ = tokio::join!(missing_key.clone(), main_lane_rx);
        };
        tokio::join!(
            missing_key.clone(),
            self.after_multi_instance(keyless_checked, main_lane_done, spares_done),
            self.shutdown(main_free, spares_done_rx)
        );
    }

    /// Restart and persistence each on a spare instance where multi_instance left one,
    /// at the same time; on the main instance one after the other. Says when the main
    /// instance is free and when the spares are done.
    async fn after_multi_instance(
        &self,
        keyless_checked: impl Future<Output = ()>,
        main_lane_done: oneshot::Sender<()>,
        spares_done: oneshot::Sender<()>,
    ) {
        use StepKind::*;
        self.step(MultiInstance, None).await;
        let spare = |kind| self.planned(kind).then(|| self.ctx.take_spare()).flatten();
        // Persistence's down and up take longest: it gets the first spare.
        let persistence = spare(Persistence);
        let restart = spare(Restart);
        let on_main = [
            (Restart, restart.is_none()),
            (Persistence, persistence.is_none()),
        ];
        // The main instance can go down beside the spares: multi_instance handed them on
        // only after finding that no two instances share a network or volume.
        let main_lane = async {
            keyless_checked.await;
            for (kind, _) in on_main.iter().filter(|(_, on_main)| *on_main) {
                self.step(*kind, None).await;
            }
            let _ = main_lane_done.send(());
        };
        let on_spare = |kind, spare: Option<Instance>| async move {
            if let Some(spare) = spare {
                self.step(kind, Some(spare)).await;
            }
        };
        let spare_lanes = async {
            tokio::join!(
                on_spare(Restart, restart),
                on_spare(Persistence, persistence)
            );
            let _ = spares_done.send(());
        };
        tokio::join!(main_lane, spare_lanes);
    }

    /// Last to finish: the main instance's `down` as soon as no other step needs it, the
    /// check that nothing of the run is left once every other instance is gone. Its
    /// duration counts both, not the wait between them.
    async fn shutdown(&self, main_free: impl Future<Output = ()>, others_done: impl Future) {
        main_free.await;
        if !self.planned(StepKind::Shutdown) {
            return;
        }
        (self.on_event.borrow_mut())(Event::Started(StepKind::Shutdown.name()));
        let started = Instant::now();
        let stopped = shutdown::stop(self.ctx).await;
        let stop_cost = started.elapsed();
        let waiting = Instant::now();
        others_done.await;
        // Instances of one run that shared a fixed network name can hold each other's
        // network until the last of them is gone: removed again now that all are.
        self.ctx.sweep_others().await;
        let waited = waiting.elapsed();
        let checking = Instant::now();
        let result = match stopped {
            Ok(stopped) => shutdown::check(self.ctx, stopped.waited(waited)).await,
            Err(ended) => ended,
        };
        self.finish(StepKind::Shutdown, result, stop_cost + checking.elapsed());
    }

    fn planned(&self, kind: StepKind) -> bool {
        self.ctx.plan.steps.contains(&kind)
    }

    /// Runs `kind` if the plan has it, and reports it as it starts and ends.
    async fn step(&self, kind: StepKind, spare: Option<Instance>) {
        if !self.planned(kind) {
            return;
        }
        (self.on_event.borrow_mut())(Event::Started(kind.name()));
        let started = Instant::now();
        let result = kind.run(self.ctx, spare).await;
        self.finish(kind, result, started.elapsed());
    }

    /// Records `kind` as ended with `result`, having cost `cost`, and reports it.
    fn finish(&self, kind: StepKind, (outcome, evidence): StepResult, cost: Duration) {
        let plan = self.ctx.plan;
        let step = Step {
            name: kind.name().to_string(),
            outcome,
            duration_ms: cost.as_millis() as u64,
            evidence: evidence.map_json(kind, |v| plan.redactor.json(v)),
        };
        (self.on_event.borrow_mut())(Event::Finished(&step));
        if matches!(step.outcome, Outcome::Fail(_) | Outcome::Error(_)) {
            self.ctx.mark_failed();
        }
        self.done.borrow_mut().push(step);
    }
}

/// What a failed sweep's warning says of what stayed: it is this session's, so `iterate`
/// sweeps it again at the end of the version and the reaper once the harness exits.
pub(crate) const LEFT_FOR_LATER: &str = "sweep failed; what is left carries this harness's session: iterate sweeps again when the version ends, the reaper once the harness exits (`harness gc` without a reaper)";

/// Removes everything of the run; used after an interrupted run.
pub async fn cleanup(docker: &Docker, plan: &Plan) {
    sweep(docker, plan, &[]).await;
}

/// Removes whatever this harness made for `task` that the engine still holds; for when
/// every run of the task it started is over. Runs at once that shared a fixed name hold
/// each other's objects (a network the other's containers are on) until the last of them
/// ends, and a run cut mid-`up` can see the engine finish a create after its own sweep.
pub async fn sweep_finished(docker: &Docker, task: &str) {
    let ours = [
        (LABEL_TASK, task),
        (LABEL_SESSION, Session::current().id.as_str()),
    ];
    match docker.remove_where(&ours).await {
        Ok(l) if !l.is_empty() => tracing::info!(removed = ?l, "removed what finished runs left"),
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "{LEFT_FOR_LATER}"),
    }
}

/// "restart: <why>" for a step skipped for a reason other than an earlier failure.
fn not_run(step: &Step) -> Option<String> {
    (step.outcome == Outcome::Skip(Skip::NotRun)).then(|| {
        let why = step.evidence.skip_reason().unwrap_or("not run");
        format!("{} skipped: {why}", step.name)
    })
}

/// A step that did not run because the run was interrupted; `reason` says by what (a
/// signal, or another run of the version that decided it first).
pub fn interrupted_step(name: &str, reason: &str) -> Step {
    Step {
        name: name.to_string(),
        outcome: Outcome::Error(Fault::Interrupted),
        duration_ms: 0,
        evidence: Evidence::reason(reason),
    }
}
