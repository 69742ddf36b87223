//! Every failure that stops a command, by the library error it came from, and the exit
//! code README's "Run status and exit codes" documents for it.

use super::exit;
use crate::cycle::CycleError;

/// What stopped the harness from judging a config. Each kind chooses its own exit code
/// in [`ExpectedError::exit_code`]; all of them are exit 2 today.
#[derive(Debug, thiserror::Error)]
pub enum ExpectedError {
    #[error(transparent)]
    Cycle(#[from] CycleError),
    #[error(transparent)]
    Project(#[from] crate::project::ProjectError),
    #[error(transparent)]
    LintConfig(#[from] crate::lint::ConfigError),
    #[error(transparent)]
    Fix(#[from] crate::fix::FixError),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error(transparent)]
    Transfer(#[from] crate::store::TransferError),
    #[error(transparent)]
    Audit(#[from] crate::audit::AuditError),
    #[error(transparent)]
    Report(#[from] crate::report::ReportError),
    #[error(transparent)]
    Engine(#[from] crate::engine::EngineError),
    #[error(transparent)]
    Init(#[from] crate::init::InitError),
    #[error(transparent)]
    Gc(#[from] crate::gc::GcError),
    #[error(transparent)]
    Image(#[from] crate::images::ImageError),
    #[error(transparent)]
    Reaper(#[from] crate::reaper::ReaperError),
    /// A document could not be serialised for stdout.
    #[error(transparent)]
    Json(#[from] serde_json::Error),
    #[error(transparent)]
    Junit(#[from] quick_junit::SerializeError),
    #[error(transparent)]
    Read(#[from] crate::store::ReadError),
    /// `--task` names a task the scoreboard does not record: a typo, or a prompt's path.
    #[error(
        "the scoreboard `{}` records no task named `{name}` — --task takes a task's name, its prompt file's name without `.md` (recorded: {known})",
        .db.display()
    )]
    UnknownTask {
        db: std::path::PathBuf,
        name: String,
        known: String,
    },
    /// `--binary` with no recipes file for it to apply to.
    #[error(
        "--binary replaces a binary of the recipes file, and there is none — pass --recipes FILE or add `images = \"<recipes file>\"` to harness.toml"
    )]
    NoRecipes,
}

impl ExpectedError {
    pub fn exit_code(&self) -> u8 {
        use ExpectedError as X;
        match self {
            X::Cycle(e) => cycle_exit_code(e),
            X::Init(crate::init::InitError::Interrupted(code)) => *code,
            X::Project(_)
            | X::LintConfig(_)
            | X::Fix(_)
            | X::Store(_)
            | X::Transfer(_)
            | X::Audit(_)
            | X::Report(_)
            | X::Engine(_)
            | X::Init(_)
            | X::Gc(_)
            | X::Image(_)
            | X::Reaper(_)
            | X::Json(_)
            | X::Junit(_)
            | X::Read(_)
            | X::UnknownTask { .. }
            | X::NoRecipes => exit::USAGE,
        }
    }
}

/// The loop's failures, named one by one so a new kind has to choose its own code.
fn cycle_exit_code(e: &CycleError) -> u8 {
    use CycleError as E;
    match e {
        E::Task(_)
        | E::Compose(_)
        | E::Spec(_)
        | E::Store(_)
        | E::Engine(_)
        | E::PortRange(_)
        | E::Report(_)
        | E::UnknownStep { .. }
        | E::Config { .. }
        | E::RunsDir { .. }
        | E::Unrecorded { .. }
        | E::Graduate { .. }
        | E::Junit { .. }
        | E::GraduateOnPart
        | E::GraduateOnOneInstance
        | E::Proposer(_)
        | E::Lock(_)
        | E::RunJson(_) => exit::USAGE,
    }
}
