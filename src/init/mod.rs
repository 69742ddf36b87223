//! `harness init`: a task prompt for any compose file. The protocol is inferred from the
//! file ([`infer`]), confirmed by deploying it once ([`confirm`]) unless told not to, and
//! written in the seed's shape ([`write`]) so `harness run --task` reads it with no edit.
//! What could not be found is a commented placeholder in the block, and reported.

mod confirm;
mod draft;
mod infer;
mod probe;
mod reported;
mod stores;
mod write;

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;
use uuid::Uuid;

pub use confirm::Confirmation;
pub use draft::{AppDraft, DepDraft, Draft, Gap, KeyDraft, Persist};
pub use infer::infer;
pub use write::protocol_block;

use crate::compose::{ComposeError, ComposeFile};
use crate::cycle::Interrupt;
use crate::engine::{ComposeCli, Docker, EngineError};
use crate::spec::ProtocolSpec;
use crate::task::{Prompt, TaskError};

#[derive(Debug, thiserror::Error)]
pub enum InitError {
    #[error("{}: cannot read the compose file: {source} — pass the path of an existing compose file with --config", .path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Compose(#[from] ComposeError),
    #[error("{}: the task file already exists — pass --force to overwrite it, or choose another --task path", .path.display())]
    Exists { path: PathBuf },
    #[error("{}: cannot derive a task name from this file name — name the task `<task>.md`, e.g. `prompts/my_stack.md`", .path.display())]
    TaskName { path: PathBuf },
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error(
        "{file}: the stack did not come up, so init could not confirm its endpoints: {summary} — fix the config (or build its images), or pass --no-deploy to write the protocol from the file alone"
    )]
    Deploy { file: String, summary: String },
    #[error("interrupted; the trial deployment was removed and nothing was written")]
    Interrupted(u8),
    /// The written prompt does not read back: a bug in the writer, so nothing is saved.
    #[error("internal error: the task init wrote does not read back ({0}); nothing was saved")]
    Unreadable(#[source] TaskError),
    #[error(transparent)]
    Save(TaskError),
}

/// What `harness init` was asked.
#[derive(Debug, Clone)]
pub struct Options {
    pub config: PathBuf,
    pub task: PathBuf,
    /// Deploy once to confirm the endpoints (not `--no-deploy`).
    pub deploy: bool,
    pub force: bool,
    /// Upper bound of the trial deployment's `up` and wait.
    pub timeout: Duration,
    pub reaper: Option<crate::reaper::Options>,
}

/// What was written and what is left to the author.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    pub task: PathBuf,
    pub config: PathBuf,
    pub deployed: bool,
    pub protocol: Draft,
    /// Commented placeholders in the block, to fill in.
    pub gaps: Vec<Gap>,
    /// Why `harness run` would refuse the block as written (a gap it needs), if it would.
    pub spec_error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub confirmation: Option<Confirmation>,
}

pub async fn init(opts: &Options) -> Result<Outcome, InitError> {
    if opts.task.exists() && !opts.force {
        return Err(InitError::Exists {
            path: opts.task.clone(),
        });
    }
    let task_name = opts
        .task
        .file_stem()
        .and_then(|s| s.to_str())
        .filter(|s| !s.is_empty())
        .ok_or_else(|| InitError::TaskName {
            path: opts.task.clone(),
        })?
        .to_string();
    let text =
        crate::user_file::read_to_string(&opts.config).map_err(|source| InitError::Read {
            path: opts.config.clone(),
            source,
        })?;
    let file = ComposeFile::parse(&opts.config.to_string_lossy(), &text, 1)?;
    let mut draft = infer(&file);
    let confirmation = match opts.deploy {
        true => Some(deploy_and_probe(opts, &file, &task_name, &mut draft).await?),
        false => None,
    };
    let now = chrono::Utc::now().format("%Y-%m-%d %H:%M:%S").to_string();
    let source = write::Source {
        name: &file_name(&opts.config),
        text: &text,
        task: &opts.task.to_string_lossy(),
        now: &now,
    };
    let prompt_text = write::prompt(&source, &draft);
    let spec_error = check(&opts.task, &prompt_text)?;
    if let Some(dir) = opts.task.parent().filter(|d| !d.as_os_str().is_empty()) {
        // A missing directory is reported by the save below, with the path.
        let _ = std::fs::create_dir_all(dir);
    }
    Prompt::save(&opts.task, &prompt_text).map_err(InitError::Save)?;
    Ok(Outcome {
        task: opts.task.clone(),
        config: opts.config.clone(),
        deployed: draft.deployed,
        gaps: draft.gaps(),
        protocol: draft,
        spec_error,
        confirmation,
    })
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map_or_else(|| path.to_string_lossy(), |n| n.to_string_lossy())
        .to_string()
}

/// The prompt must read back as a task (else nothing is saved); the block is then checked
/// as `harness run` checks it, and its complaint (a gap it needs filled) returned.
fn check(task: &Path, text: &str) -> Result<Option<String>, InitError> {
    let prompt =
        Prompt::parse(task.to_path_buf(), text.to_string()).map_err(InitError::Unreadable)?;
    let own = match ComposeFile::parse(
        &task.to_string_lossy(),
        prompt.config_yaml(),
        prompt.config_line(),
    ) {
        Ok(own) => own,
        Err(e) => return Ok(Some(e.to_string())),
    };
    Ok(ProtocolSpec::of_prompt(&prompt, &own, None)
        .err()
        .map(|e| e.to_string()))
}

/// One trial deployment, watched by the reaper like a run, in a scratch directory that is
/// removed afterwards.
async fn deploy_and_probe(
    opts: &Options,
    file: &ComposeFile,
    task: &str,
    draft: &mut Draft,
) -> Result<Confirmation, InitError> {
    let docker = Docker::connect().await?;
    let compose = ComposeCli::detect().await?;
    let interrupt = Interrupt::listen();
    let run = Uuid::new_v4();
    let guard = match &opts.reaper {
        Some(options) => crate::reaper::Guard::start(&docker, options).await.ok(),
        None => None,
    };
    if let Some(guard) = &guard
        && let Err(e) = guard.watch(run).await
    {
        tracing::warn!(error = %e, "the reaper does not watch the trial deployment");
    }
    let scratch = std::env::temp_dir().join(format!("harness-init-{}", run.simple()));
    let engine = confirm::Engine {
        docker: &docker,
        compose: &compose,
        interrupt: &interrupt,
        scratch: &scratch,
        timeout: opts.timeout,
    };
    let confirmed = confirm::confirm(&engine, file, task, run, draft).await;
    if let Err(e) = std::fs::remove_dir_all(&scratch) {
        tracing::debug!(error = %e, dir = %scratch.display(), "scratch directory left behind");
    }
    confirmed
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let how = if self.deployed {
            "inferred from the file and confirmed by one deployment (removed again)"
        } else {
            "inferred from the file alone (--no-deploy)"
        };
        writeln!(f, "wrote {} — protocol {how}", self.task.display())?;
        for app in &self.protocol.apps {
            let http: Vec<String> = app
                .http
                .iter()
                .map(|e| format!("{} {}→{}", e.port, e.path, e.status))
                .collect();
            let ws: Vec<String> = app
                .websocket
                .iter()
                .map(|e| format!("{} {}", e.port, e.path))
                .collect();
            writeln!(
                f,
                "  app {}: http [{}], websocket [{}]",
                app.service,
                http.join(", "),
                ws.join(", ")
            )?;
        }
        for dep in &self.protocol.dependencies {
            write!(f, "  dependency {}: {}", dep.service, dep.because)?;
            match &dep.reported {
                Some(r) => writeln!(
                    f,
                    "; an app reports it at {}{} {}",
                    r.port, r.path, r.pointer
                )?,
                None => writeln!(f)?,
            }
        }
        for key in &self.protocol.keys {
            let how = if key.required { "required" } else { "optional" };
            writeln!(f, "  key {} ({how})", key.env)?;
        }
        if self.gaps.is_empty() {
            writeln!(f, "nothing left to fill in")?;
        } else {
            writeln!(
                f,
                "not inferred — written as `# TODO(harness init)` placeholders:"
            )?;
            for gap in &self.gaps {
                writeln!(f, "  {}: {}", gap.field, gap.why)?;
            }
        }
        match &self.spec_error {
            None => write!(f, "next: harness run --task {}", self.task.display()),
            Some(e) => write!(
                f,
                "`harness run` does not accept the block as written yet: {e}"
            ),
        }
    }
}
