//! The gates every candidate passes, whoever proposed it: it parses, keeps the author's
//! intent, adds no hazard, is not a config this task already ran, stays within the diff
//! budget, `compose config` accepts it and it adds no lint error. Cheap checks first.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use super::intent::{hazards, intents};
use crate::compose::{ComposeError, ComposeFile};
use crate::engine::{ComposeCli, EngineError};
use crate::lint::{Config, Finding, Level, gate};
use crate::redact::Redactor;

/// Changed lines (added + removed) a candidate may have beyond half the current file's.
const DIFF_ALLOWANCE: usize = 40;

/// Why a candidate is not proposed; its message is the attempt's recorded reason and what
/// an open-ended proposer is told on its next try.
#[derive(Debug, thiserror::Error)]
pub enum Rejected {
    #[error("the proposed config does not parse: {0}")]
    Parse(#[source] ComposeError),
    #[error("it drops what the author asked for and no failing evidence names: {}", .0.join(", "))]
    Intent(Vec<String>),
    #[error("it adds what the harness never runs: {}", .0.join(", "))]
    Hazard(Vec<String>),
    #[error("this task already ran that config (hash {0}): proposing it again repeats a failure")]
    AlreadyRan(String),
    #[error("it changes {changed} lines, more than the budget of {budget}")]
    DiffBudget { changed: usize, budget: usize },
    #[error("{}: {source}", path.display())]
    Scratch {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error("`{command}` rejects it: {stderr}")]
    Config { command: String, stderr: String },
    #[error("it adds lint errors: {}", .0.join(", "))]
    LintErrors(Vec<String>),
}

/// What the gates compare a candidate with.
pub struct Gates<'a> {
    pub current: &'a ComposeFile,
    pub compose: &'a ComposeCli,
    /// Where candidates are written for `compose config` (the run's `proposals/`).
    pub scratch: &'a Path,
    pub redactor: &'a Redactor,
    /// The content hashes of the configs this task has run.
    pub ran: HashSet<String>,
    /// The failing evidence as text: what it names may be dropped.
    pub evidence: String,
    /// The task's lint levels (its block's raised rules), for the current config and
    /// every candidate alike.
    lint: Config,
    before: Vec<Finding>,
}

impl<'a> Gates<'a> {
    pub fn new(
        current: &'a ComposeFile,
        compose: &'a ComposeCli,
        scratch: &'a Path,
        redactor: &'a Redactor,
        ran: HashSet<String>,
        evidence: String,
        lint: Config,
    ) -> Gates<'a> {
        Gates {
            current,
            compose,
            scratch,
            redactor,
            ran,
            evidence,
            before: gate(current, &lint),
            lint,
        }
    }

    /// The lint findings of the current config.
    pub fn findings(&self) -> &[Finding] {
        &self.before
    }

    /// The candidate as a compose file, if it passes every gate.
    pub async fn check(&self, label: &str, yaml: &str) -> Result<ComposeFile, Rejected> {
        let origin = format!("{} ({label})", self.current.origin);
        let file = ComposeFile::parse(&origin, yaml, 1).map_err(Rejected::Parse)?;
        self.keeps_intent(&file)?;
        self.adds_no_hazard(&file)?;
        let hash = self.redactor.config(&file).hash;
        if self.ran.contains(&hash) {
            return Err(Rejected::AlreadyRan(hash.chars().take(12).collect()));
        }
        self.within_budget(&file)?;
        self.compose_accepts(label, &file).await?;
        self.adds_no_lint_error(&file)?;
        Ok(file)
    }

    fn keeps_intent(&self, file: &ComposeFile) -> Result<(), Rejected> {
        let kept = intents(file);
        let dropped: Vec<String> = intents(self.current)
            .difference(&kept)
            .filter(|i| !i.named_in(&self.evidence))
            .map(|i| i.what.clone())
            .collect();
        if dropped.is_empty() {
            Ok(())
        } else {
            Err(Rejected::Intent(dropped))
        }
    }

    fn adds_no_hazard(&self, file: &ComposeFile) -> Result<(), Rejected> {
        let had = hazards(self.current);
        let added: Vec<String> = hazards(file).difference(&had).cloned().collect();
        if added.is_empty() {
            Ok(())
        } else {
            Err(Rejected::Hazard(added))
        }
    }

    fn within_budget(&self, file: &ComposeFile) -> Result<(), Rejected> {
        let diff = similar::TextDiff::from_lines(&self.current.text, &file.text);
        let changed = diff
            .iter_all_changes()
            .filter(|c| c.tag() != similar::ChangeTag::Equal)
            .count();
        let budget = DIFF_ALLOWANCE + self.current.text.lines().count() / 2;
        if changed > budget {
            return Err(Rejected::DiffBudget { changed, budget });
        }
        Ok(())
    }

    async fn compose_accepts(&self, label: &str, file: &ComposeFile) -> Result<(), Rejected> {
        let scratch_error = |path: &Path| {
            let path = path.to_path_buf();
            move |source| Rejected::Scratch { path, source }
        };
        std::fs::create_dir_all(self.scratch).map_err(scratch_error(self.scratch))?;
        let path = self.scratch.join(format!("{label}.yml"));
        // The copy lands under runs/, so it is the recorded config: a secret's reference
        // checks the same with `compose config` as its literal value would.
        std::fs::write(&path, self.redactor.config(file).text).map_err(scratch_error(&path))?;
        let check = self
            .compose
            .project(crate::run::VALIDATE_PROJECT, vec![path])
            .validate()
            .await?;
        if !check.success {
            return Err(Rejected::Config {
                command: check.command,
                stderr: check.stderr.trim().to_string(),
            });
        }
        Ok(())
    }

    fn adds_no_lint_error(&self, file: &ComposeFile) -> Result<(), Rejected> {
        let new_errors: Vec<String> = gate(file, &self.lint)
            .into_iter()
            .filter(|f| f.level == Level::Error)
            .filter(|f| {
                !self
                    .before
                    .iter()
                    .any(|b| b.level == Level::Error && b.rule == f.rule && b.path == f.path)
            })
            .map(|f| format!("{} at {}", f.rule, f.path))
            .collect();
        if new_errors.is_empty() {
            Ok(())
        } else {
            Err(Rejected::LintErrors(new_errors))
        }
    }
}
