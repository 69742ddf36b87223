use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::compose::{ComposeError, ComposeFile};
use crate::engine::{ComposeCli, EngineError};
use crate::lint::{Finding, Level, lint};
use crate::mutate::{self, Facts, Mutation};
use crate::redact::Redactor;
use crate::run::Signature;
use crate::run::record::RunRecord;

/// One mutation the proposer tried, and what became of it.
#[derive(Debug, Clone, Serialize)]
pub struct Attempt {
    pub mutation: String,
    pub accepted: bool,
    pub reason: String,
}

/// A mutation that passed validation: the next version's config.
#[derive(Debug, Clone)]
pub struct Proposal {
    pub mutation: Mutation,
    /// The evidence it answers: "deploy port_conflict", "lint hardcoded-host-port".
    pub answers: String,
    pub file: ComposeFile,
    pub diff: String,
}

#[derive(Debug, Clone, Default)]
pub struct Outcome {
    pub proposal: Option<Proposal>,
    pub attempts: Vec<Attempt>,
}

impl Outcome {
    /// The document `harness propose --json` prints: the proposal (its config redacted)
    /// and every attempt.
    pub fn document(&self, version: &str) -> serde_json::Value {
        let proposal = self.proposal.as_ref().map(|p| {
            serde_json::json!({"mutation": p.mutation.id, "reason": p.mutation.reason,
            "answers": p.answers, "diff": p.diff,
            "yaml": Redactor::from_env().config(&p.file).text})
        });
        serde_json::json!({"version": version, "proposal": proposal, "attempts": self.attempts})
    }
}

/// The mutations the evidence asks for, most urgent first: what broke at run time, in
/// protocol order, then the fixes of the lint errors — a config that works but is wrong
/// on paper is the smaller problem.
pub fn wanted(run: &RunRecord, findings: &[Finding]) -> Vec<(&'static str, String)> {
    let mut ids: Vec<(&'static str, String)> = Vec::new();
    let mut add = |id: &'static str, why: String| {
        if !ids.iter().any(|(i, _)| *i == id) {
            ids.push((id, why));
        }
    };
    let failed = run
        .steps
        .iter()
        .filter_map(|st| st.signature().map(|sig| (st, sig)));
    for (step, sig) in failed
        .clone()
        .filter(|(_, sig)| *sig != Signature::LintError)
    {
        for id in mutate::for_signature(sig) {
            add(id, format!("{} {sig}", step.name));
        }
    }
    if failed
        .into_iter()
        .any(|(_, sig)| sig == Signature::LintError)
    {
        for f in findings.iter().filter(|f| f.level == Level::Error) {
            if let Some(id) = f.mutation {
                add(id, format!("lint {} at {}", f.rule, f.path));
            }
        }
    }
    ids
}

/// Tries the wanted mutations in order; the first that applies and validates wins.
pub async fn propose(
    current: &ComposeFile,
    run: &RunRecord,
    facts: &Facts,
    compose: &ComposeCli,
    scratch: &Path,
    redactor: &Redactor,
) -> Outcome {
    let before = lint(current);
    let mut outcome = Outcome::default();
    for (id, answers) in wanted(run, &before) {
        let mutation = match mutate::apply(id, current, facts) {
            Ok(Some(m)) => m,
            Ok(None) => continue,
            Err(e) => {
                outcome.attempts.push(Attempt {
                    mutation: id.into(),
                    accepted: false,
                    reason: e.to_string(),
                });
                continue;
            }
        };
        match validate(current, &mutation, &before, compose, scratch, redactor).await {
            Ok(file) => {
                let diff = mutate::diff(&current.text, &mutation.yaml, "current", "proposed");
                outcome.attempts.push(Attempt {
                    mutation: id.into(),
                    accepted: true,
                    reason: mutation.reason.clone(),
                });
                outcome.proposal = Some(Proposal {
                    mutation,
                    answers,
                    file,
                    diff,
                });
                return outcome;
            }
            Err(rejected) => outcome.attempts.push(Attempt {
                mutation: id.into(),
                accepted: false,
                reason: rejected.to_string(),
            }),
        }
    }
    outcome
}

/// Why a mutated config is not proposed; its message is the attempt's recorded reason.
#[derive(Debug, thiserror::Error)]
enum Rejected {
    #[error("the mutated config does not parse: {0}")]
    Parse(#[source] ComposeError),
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

/// A mutated config must parse, pass the real Compose CLI's `config`, and add no lint error.
async fn validate(
    current: &ComposeFile,
    mutation: &Mutation,
    before: &[Finding],
    compose: &ComposeCli,
    scratch: &Path,
    redactor: &Redactor,
) -> Result<ComposeFile, Rejected> {
    let file = ComposeFile::parse(
        &format!("{} ({})", current.origin, mutation.id),
        &mutation.yaml,
        1,
    )
    .map_err(Rejected::Parse)?;
    let scratch_error = |path: &Path| {
        let path = path.to_path_buf();
        move |source| Rejected::Scratch { path, source }
    };
    std::fs::create_dir_all(scratch).map_err(scratch_error(scratch))?;
    let path = scratch.join(format!("{}.yml", mutation.id));
    // The copy lands under runs/, so it is the recorded config: a secret's reference
    // checks the same with `compose config` as its literal value would.
    std::fs::write(&path, redactor.config(&file).text).map_err(scratch_error(&path))?;
    let check = compose
        .project(crate::run::VALIDATE_PROJECT, vec![path])
        .validate()
        .await?;
    if !check.success {
        return Err(Rejected::Config {
            command: check.command,
            stderr: check.stderr.trim().to_string(),
        });
    }
    let new_errors: Vec<String> = lint(&file)
        .into_iter()
        .filter(|f| f.level == Level::Error)
        .filter(|f| {
            !before
                .iter()
                .any(|b| b.level == Level::Error && b.rule == f.rule && b.path == f.path)
        })
        .map(|f| format!("{} at {}", f.rule, f.path))
        .collect();
    if !new_errors.is_empty() {
        return Err(Rejected::LintErrors(new_errors));
    }
    Ok(file)
}
