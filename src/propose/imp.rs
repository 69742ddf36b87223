use std::path::PathBuf;

use serde::Serialize;

use super::context::{ProposerContext, RejectedProposal};
use super::gates::Gates;
use super::proposer::{Answer, Candidate, Proposer, Provenance};
use crate::compose::ComposeFile;
use crate::lint::{Finding, Level};
use crate::mutate::{self, Mutation};
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
    pub provenance: Provenance,
}

#[derive(Debug, Clone, Default)]
pub struct Outcome {
    pub proposal: Option<Proposal>,
    pub attempts: Vec<Attempt>,
    /// Each proposer asked, and why it stopped without a proposal.
    pub tried: Vec<String>,
    /// The redacted transcripts kept in the run's `proposals/` directory.
    pub transcripts: Vec<PathBuf>,
}

impl Outcome {
    /// The document `harness propose --json` prints: the proposal (its config redacted)
    /// and every attempt.
    pub fn document(&self, version: &str) -> serde_json::Value {
        let proposal = self.proposal.as_ref().map(|p| {
            serde_json::json!({"mutation": p.mutation.id, "reason": p.mutation.reason,
            "answers": p.answers, "diff": p.diff, "provenance": p.provenance,
            "yaml": Redactor::from_env().config(&p.file).text})
        });
        serde_json::json!({"version": version, "proposal": proposal,
            "attempts": self.attempts, "tried": self.tried})
    }
}

/// The mutations the evidence asks for, most urgent first: what broke at run time, in
/// protocol order, then the fixes of the lint errors — a config that works but is wrong
/// on paper is the smaller problem. A mutation that only shortens waits (see
/// [`mutate::quickens`]) goes before all of them: the versions that fix the rest then run
/// quicker, and it changes nothing another fix depends on.
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
    ids.sort_by_key(|(id, _)| !mutate::quickens(id));
    ids
}

/// A bound on the asks of one proposer, whatever it answers: the catalog's list is finite
/// and open-ended proposers stop at `attempts` candidates, but a proposer that keeps
/// answering "unusable" must not loop.
const MAX_ASKS: usize = 64;

/// Asks each proposer in turn; the first candidate through the gates wins. Every rejected
/// candidate is recorded as an attempt and told to the proposers that come after.
pub async fn propose<P: Proposer>(
    proposers: &[P],
    ctx: &mut ProposerContext,
    gates: &Gates<'_>,
    attempts: u32,
) -> Outcome {
    let mut outcome = Outcome::default();
    for p in proposers {
        let mut candidates = 0;
        for _ in 0..MAX_ASKS {
            if p.open_ended() && candidates >= attempts {
                outcome.tried.push(format!(
                    "{}: {attempts} proposals rejected (--proposal-attempts)",
                    p.name()
                ));
                break;
            }
            let candidate = match p.propose(ctx).await {
                Answer::Nothing(why) => {
                    outcome
                        .tried
                        .push(gates.redactor.text(&format!("{}: {why}", p.name())));
                    break;
                }
                Answer::Unusable { label, reason } => {
                    outcome.attempts.push(Attempt {
                        mutation: label.into(),
                        accepted: false,
                        reason,
                    });
                    continue;
                }
                Answer::Candidate(c) => c,
            };
            candidates += 1;
            let verdict = gates.check(candidate.label, &candidate.yaml).await;
            let reason = match &verdict {
                Ok(_) => candidate.reason.clone(),
                Err(rejected) => gates.redactor.text(&rejected.to_string()),
            };
            keep_transcript(&mut outcome, gates, &candidate, &reason, verdict.is_ok());
            outcome.attempts.push(Attempt {
                mutation: candidate.label.into(),
                accepted: verdict.is_ok(),
                reason: reason.clone(),
            });
            match verdict {
                Ok(file) => {
                    outcome.proposal = Some(accepted(gates.current, *candidate, file));
                    return outcome;
                }
                Err(_) => ctx.rejected.push(RejectedProposal {
                    proposer: format!("{} ({})", p.name(), candidate.label),
                    reason,
                }),
            }
        }
    }
    outcome
}

fn accepted(current: &ComposeFile, c: Candidate, file: ComposeFile) -> Proposal {
    let diff = mutate::diff(&current.text, &file.text, "current", "proposed");
    Proposal {
        mutation: Mutation {
            id: c.label,
            reason: c.reason,
            yaml: c.yaml,
        },
        answers: c.answers,
        file,
        diff,
        provenance: c.provenance,
    }
}

/// An open-ended proposer's exchange, redacted, beside the run it learned from.
fn keep_transcript(
    outcome: &mut Outcome,
    gates: &Gates<'_>,
    c: &Candidate,
    verdict: &str,
    accepted: bool,
) {
    let Some(transcript) = &c.transcript else {
        return;
    };
    let n = outcome.transcripts.len() + 1;
    let path = gates.scratch.join(format!("{n:02}-{}.md", c.label));
    let provenance = serde_json::to_string_pretty(&c.provenance).unwrap_or_default();
    let text = format!(
        "{transcript}\n## provenance\n{provenance}\n## verdict\n{}: {verdict}\n",
        if accepted { "accepted" } else { "rejected" }
    );
    // The candidate's own literal secrets are masked too, when it parses enough to find them.
    let redactor = match ComposeFile::parse("candidate", &c.yaml, 1) {
        Ok(file) => gates.redactor.with_config(&file),
        Err(_) => gates.redactor.clone(),
    };
    let written = std::fs::create_dir_all(gates.scratch)
        .and_then(|()| std::fs::write(&path, redactor.text(&text)));
    match written {
        Ok(()) => outcome.transcripts.push(path),
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "could not keep the proposal's transcript")
        }
    }
}
