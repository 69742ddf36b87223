//! What every proposer is told: one documented shape, serialised as JSON for a command's
//! stdin and an LLM's user message. Every text in it is redacted and bounded before it is
//! built, so no proposer (and no server) ever sees a secret or an unbounded log.

use serde::Serialize;

use crate::compose::ComposeFile;
use crate::redact::Redactor;
use crate::run::record::RunRecord;

/// The task's prompt is cut here: objective and rules come first in every prompt.
const PROMPT_BUDGET: usize = 6_000;
/// Each failing step's evidence is cut here: the signature says most, the excerpt the rest.
const EVIDENCE_BUDGET: usize = 1_500;

/// The context of one proposal (`harness propose --proposer command` writes it to the
/// command's stdin).
#[derive(Debug, Clone, Serialize, Default)]
pub struct ProposerContext {
    /// The task's name.
    pub task: String,
    /// The task prompt without its config block: the objective and the rules.
    pub prompt: String,
    /// The version that failed, e.g. `v3`.
    pub version: String,
    /// The current config as recorded (literal secrets as `${VAR}` references).
    pub current_yaml: String,
    pub failing_steps: Vec<FailingStep>,
    /// The catalog's mutations: what the harness's authors know how to fix.
    pub hints: Vec<Hint>,
    /// The task's versions and how they did, oldest first.
    pub history: Vec<HistoryEntry>,
    /// Proposals for this version already rejected by the gates, and why.
    pub rejected: Vec<RejectedProposal>,
    /// What an answer must be.
    pub answer_format: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub struct FailingStep {
    pub step: String,
    pub signature: String,
    /// The step's evidence as JSON, redacted, at most a few KB.
    pub evidence: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Hint {
    pub mutation: &'static str,
    pub description: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub struct HistoryEntry {
    pub version: String,
    pub change: String,
    pub result: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct RejectedProposal {
    pub proposer: String,
    pub reason: String,
}

const ANSWER_FORMAT: &str = "The complete new docker compose YAML, in one ```yaml fenced \
block (or bare). Keep every service, image, container port, environment key and named volume \
unless the failing evidence names it; add no privileged mode, host namespace, Docker socket, \
credential mount or literal secret (refer to secrets as ${VAR}). Answer nothing to propose nothing.";

/// Where the context's parts come from.
pub struct Sources<'a> {
    pub task: &'a str,
    pub prompt_text: &'a str,
    pub version: String,
    pub current: &'a ComposeFile,
    pub failed: &'a RunRecord,
    pub history: Vec<HistoryEntry>,
}

impl ProposerContext {
    pub fn build(src: &Sources<'_>, redactor: &Redactor) -> ProposerContext {
        let redactor = redactor.with_config(src.current);
        // The config is in `current_yaml` already; the prompt keeps its words around it.
        let prompt = src
            .prompt_text
            .replace(&src.current.text, "(see current_yaml)\n");
        ProposerContext {
            task: src.task.to_string(),
            prompt: bounded(&redactor.text(&prompt), PROMPT_BUDGET),
            version: src.version.clone(),
            current_yaml: redactor.config(src.current).text,
            failing_steps: failing_steps(src.failed, &redactor),
            hints: crate::mutate::catalog()
                .iter()
                .map(|m| Hint {
                    mutation: m.id,
                    description: m.description,
                })
                .collect(),
            history: src
                .history
                .iter()
                .map(|h| HistoryEntry {
                    version: h.version.clone(),
                    change: redactor.text(&h.change),
                    result: redactor.text(&h.result),
                })
                .collect(),
            rejected: Vec::new(),
            answer_format: ANSWER_FORMAT,
        }
    }

    /// The context as the JSON a command reads on stdin.
    pub fn json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}

fn failing_steps(run: &RunRecord, redactor: &Redactor) -> Vec<FailingStep> {
    run.steps
        .iter()
        .filter_map(|step| {
            let sig = step.signature()?;
            let evidence = serde_json::to_string(&step.evidence).unwrap_or_default();
            Some(FailingStep {
                step: step.name.clone(),
                signature: sig.to_string(),
                evidence: bounded(&redactor.text(&evidence), EVIDENCE_BUDGET),
            })
        })
        .collect()
}

/// At most `max` bytes of `text`, cut on a character boundary and marked as cut.
pub fn bounded(text: &str, max: usize) -> String {
    let kept = crate::report::truncate_bytes(text, max);
    if kept.len() == text.len() {
        return text.to_string();
    }
    format!("{kept}… [{} bytes cut]", text.len() - kept.len())
}

#[cfg(test)]
mod tests {
    use super::bounded;

    #[test]
    fn bounded_cuts_on_a_character_boundary() {
        assert_eq!(bounded("abc", 5), "abc");
        let cut = bounded("ééé", 3);
        assert!(cut.starts_with('é') && cut.contains("cut"), "{cut}");
    }
}
