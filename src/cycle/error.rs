//! What stops the loop before it can judge a config: bad input, a missing engine, a
//! scoreboard or file that cannot be written. A failed step is a result, never one of these.

use std::path::PathBuf;

use uuid::Uuid;

use crate::run::Fault;
use crate::run::recorder::RecordingError;

#[derive(Debug, thiserror::Error)]
pub enum CycleError {
    #[error(transparent)]
    Task(#[from] crate::task::TaskError),
    #[error(transparent)]
    Compose(#[from] crate::compose::ComposeError),
    #[error(transparent)]
    Spec(#[from] crate::spec::SpecError),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error(transparent)]
    Engine(#[from] crate::engine::EngineError),
    #[error(transparent)]
    PortRange(#[from] crate::protocol::port_range::RangeError),
    #[error(transparent)]
    Report(#[from] crate::report::ReportError),
    #[error("unknown step `{name}` in --steps/--skip — the steps are: {known}")]
    UnknownStep { name: String, known: String },
    #[error("cannot read the config `{}` — check the path given to --config", path.display())]
    Config {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write into the runs directory `{}` — make it writable or choose another with --runs-dir / HARNESS_RUNS_DIR", dir.display())]
    RunsDir {
        dir: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Not charged to anything; the cause is told inline, as the fix follows it.
    #[error("run {uuid} could not be recorded ({fault}: {cause}); nothing was charged to {version} — {}", fault.fix())]
    Unrecorded {
        uuid: Uuid,
        fault: Fault,
        cause: Box<RecordingError>,
        version: String,
    },
    #[error("cannot write the graduated config to `{}`", path.display())]
    Graduate {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write the JUnit file `{}`", path.display())]
    Junit {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "--until-graduated cannot be combined with --steps/--skip: only runs of the whole protocol count toward graduation — drop the step selection, or drop --until-graduated to try the steps alone"
    )]
    GraduateOnPart,
    #[error(
        "--until-graduated needs --instances 2 or more: a run with one instance does not check multi_instance and never counts toward graduation"
    )]
    GraduateOnOneInstance,
    #[error(transparent)]
    Proposer(#[from] crate::propose::SelectError),
    #[error(transparent)]
    Lock(#[from] super::lock::LockError),
    #[error("the scoreboard's run JSON does not parse")]
    RunJson(#[source] serde_json::Error),
}
