//! `lint --fix [--apply]`: each linted file's fixes planned, shown as notes and a diff,
//! and — with `apply` — written once `compose config` accepts the fixed file.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::compose::{ComposeError, ComposeFile};
use crate::engine::{CmdOutput, ComposeCli, EngineError};
use crate::lint::check::{Checked, Linted};
use crate::lint::fix::{FixPlan, Skipped};
use crate::lint::{Level, lint_with};

/// What stopped `--fix` before every file was shown or written.
#[derive(Debug, thiserror::Error)]
pub enum FixError {
    #[error(
        "`--fix --apply` writes compose files, not a task's prompt — give the compose file, or let `harness iterate --apply` change the task"
    )]
    InPrompt,
    #[error(transparent)]
    Reparse(#[from] ComposeError),
    #[error(
        "`--fix --apply` validates with `compose config` before writing — install Docker Compose, or preview with `--fix` alone"
    )]
    NoCompose(#[source] EngineError),
    #[error(transparent)]
    Validate(#[from] EngineError),
    #[error("cannot write `{}`", path.display())]
    Scratch {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("`{}` not written: `compose config` rejects the fixed file: {}{}", path.display(), stderr.trim(),
        if *also_before { " — it rejects the file as written too; fix that first" } else { "" })]
    Rejected {
        path: PathBuf,
        stderr: String,
        also_before: bool,
    },
    #[error("cannot replace `{}` with the fixed file `{}`", path.display(), scratch.display())]
    Replace {
        path: PathBuf,
        scratch: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// A loaded file and the fixes planned for it.
#[derive(Debug)]
pub struct Planned {
    pub linted: Linted,
    pub plan: FixPlan,
}

/// What `--fix` tells about a file as it goes.
#[derive(Debug)]
pub enum Note<'a> {
    NotFixed {
        name: &'a str,
        skipped: &'a Skipped,
    },
    Unchanged {
        name: &'a str,
    },
    Fixed {
        name: &'a str,
        mutation: &'static str,
        reason: &'a str,
    },
    Diff(String),
    Written {
        name: &'a str,
        edits: usize,
    },
}

impl fmt::Display for Note<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Note::NotFixed { name, skipped } => {
                writeln!(
                    f,
                    "{name}: not fixed ({}): {}",
                    skipped.mutation, skipped.reason
                )
            }
            Note::Unchanged { name } => writeln!(f, "{name}: nothing --fix can change"),
            Note::Fixed {
                name,
                mutation,
                reason,
            } => writeln!(f, "{name}: fix {mutation}: {reason}"),
            Note::Diff(diff) => f.write_str(diff),
            Note::Written { name, edits } => writeln!(
                f,
                "{name}: written ({edits} edit(s)); `compose config` accepts it"
            ),
        }
    }
}

/// Plans every loaded file's fixes (taking `checked.linted`) and puts them in the report.
/// A task's candidate cannot be written back, so `apply` refuses it.
pub fn plan_all(checked: &mut Checked, apply: bool) -> Result<Vec<Planned>, FixError> {
    let mut planned = Vec::new();
    for linted in std::mem::take(&mut checked.linted) {
        let plan = super::plan(&linted.file, &linted.opts);
        if let Some(report) = checked.report.files.get_mut(linted.report_index) {
            report.fixes = plan.fixes.clone();
        }
        if apply && linted.target.in_prompt {
            return Err(FixError::InPrompt);
        }
        planned.push(Planned { linted, plan });
    }
    Ok(planned)
}

/// Tells each file's fixes and diff and, with `apply`, writes them once `compose config`
/// accepts the result. Returns the error findings left.
pub async fn make(
    planned: &[Planned],
    apply: bool,
    say: &mut dyn FnMut(Note<'_>),
) -> Result<usize, FixError> {
    let mut remaining = 0;
    let mut compose: Option<ComposeCli> = None;
    for Planned { linted, plan } in planned {
        let name = linted.target.path.display().to_string();
        let errors = |file: &ComposeFile| {
            let findings = lint_with(file, &linted.opts);
            findings.iter().filter(|f| f.level == Level::Error).count()
        };
        for skipped in &plan.skipped {
            say(Note::NotFixed {
                name: &name,
                skipped,
            });
        }
        if !plan.changed() {
            say(Note::Unchanged { name: &name });
            remaining += errors(&linted.file);
            continue;
        }
        for (mutation, reason) in &plan.applied {
            say(Note::Fixed {
                name: &name,
                mutation,
                reason,
            });
        }
        say(Note::Diff(crate::mutate::diff(
            &linted.file.text,
            &plan.text,
            &format!("{name} (as written)"),
            &format!("{name} (fixed)"),
        )));
        let fixed = ComposeFile::parse(&name, &plan.text, 1)?;
        if !apply {
            remaining += errors(&linted.file);
            continue;
        }
        let cli = match compose {
            Some(ref cli) => cli,
            None => compose.insert(ComposeCli::detect().await.map_err(FixError::NoCompose)?),
        };
        let path = &linted.target.path;
        write_validated(cli, path, &linted.file.text, &plan.text).await?;
        say(Note::Written {
            name: &name,
            edits: plan.edits.len(),
        });
        remaining += errors(&fixed);
    }
    Ok(remaining)
}

/// Writes `fixed` to a hidden file beside `path` (so relative paths in it resolve as in
/// the original), has `compose config -q` check it, and only then moves it over `path`.
async fn write_validated(
    cli: &ComposeCli,
    path: &Path,
    original: &str,
    fixed: &str,
) -> Result<(), FixError> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let base = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "compose.yml".to_string());
    let scratch = dir.join(format!(".{base}.harness-lint-fix.yml"));
    match check(cli, &scratch, fixed).await {
        Ok(out) if out.success => {}
        Ok(out) => {
            let before = check(cli, &scratch, original).await;
            let _ = std::fs::remove_file(&scratch);
            return Err(FixError::Rejected {
                path: path.to_path_buf(),
                stderr: out.stderr,
                also_before: matches!(before, Ok(ref b) if !b.success),
            });
        }
        Err(e) => {
            let _ = std::fs::remove_file(&scratch);
            return Err(e);
        }
    }
    if let Ok(meta) = std::fs::metadata(path) {
        let _ = std::fs::set_permissions(&scratch, meta.permissions());
    }
    std::fs::rename(&scratch, path).map_err(|source| FixError::Replace {
        path: path.to_path_buf(),
        scratch: scratch.clone(),
        source,
    })
}

/// `compose config -q` on `text`, written to `scratch`.
async fn check(cli: &ComposeCli, scratch: &Path, text: &str) -> Result<CmdOutput, FixError> {
    std::fs::write(scratch, text).map_err(|source| FixError::Scratch {
        path: scratch.to_path_buf(),
        source,
    })?;
    let project = cli.project("harness-lint-fix", vec![scratch.to_path_buf()]);
    Ok(project.validate().await?)
}
