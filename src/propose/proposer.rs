//! One trait for everything that can suggest the next config: the catalog, any command,
//! a language model. What they answer is only a candidate: the gates decide.

use std::future::Future;

use serde::Serialize;

use super::context::ProposerContext;

/// Where a candidate came from, as the version row and the `proposals/` transcript keep it.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Provenance {
    pub proposer: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// sha256 of the bytes sent (the context, or the HTTP body).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_sha256: Option<String>,
    /// sha256 of the bytes received.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_sha256: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input_tokens: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output_tokens: Option<u64>,
    pub latency_ms: u64,
}

/// A config some proposer suggests.
#[derive(Debug, Clone)]
pub struct Candidate {
    /// The catalog's mutation id, or the proposer's name.
    pub label: &'static str,
    /// Why, in the proposer's words.
    pub reason: String,
    /// The evidence it answers: "deploy port_conflict".
    pub answers: String,
    /// The full candidate YAML.
    pub yaml: String,
    pub provenance: Provenance,
    /// The redacted exchange, for the run's `proposals/` directory.
    pub transcript: Option<String>,
}

#[derive(Debug, Clone)]
pub enum Answer {
    Candidate(Box<Candidate>),
    /// This try produced nothing usable, but asking again may: recorded as a rejected
    /// attempt (the catalog's edit that did not fit the file).
    Unusable {
        label: &'static str,
        reason: String,
    },
    /// Nothing (more) to propose, and why: "no mutation answers it", "exit status 1".
    Nothing(String),
}

/// Something that suggests the next config from a failed version's context. Each call
/// may see more rejected proposals in `ctx.rejected` than the last.
pub trait Proposer {
    /// `catalog`, `command`, `llm`.
    fn name(&self) -> &'static str;
    /// Open-ended proposers are bounded by `--proposal-attempts`; the catalog is finite.
    fn open_ended(&self) -> bool {
        true
    }
    fn propose(&self, ctx: &ProposerContext) -> impl Future<Output = Answer> + Send;
}

/// The YAML in an answer: the first fenced block (```yaml, ```yml or bare ```), else the
/// whole answer. `None` for an empty answer.
pub fn yaml_of(answer: &str) -> Option<String> {
    let fenced = fenced_block(answer);
    let yaml = fenced.unwrap_or(answer).trim();
    (!yaml.is_empty()).then(|| format!("{yaml}\n"))
}

fn fenced_block(text: &str) -> Option<&str> {
    let start = text.find("```")?;
    let after = &text[start + 3..];
    let body_start = after.find('\n')? + 1;
    let info = after[..body_start].trim();
    if !(info.is_empty() || info == "yaml" || info == "yml") {
        // Another language's block first: look for a YAML one after it.
        let rest = &after[body_start..];
        let end = rest.find("```")?;
        return fenced_block(&rest[end + 3..]);
    }
    let body = &after[body_start..];
    let end = body.find("```").unwrap_or(body.len());
    Some(&body[..end])
}

/// sha256 of `bytes`, hex.
pub fn digest(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(bytes))
}

#[cfg(test)]
mod tests {
    use super::yaml_of;

    #[test]
    fn yaml_comes_from_the_fenced_block_or_the_whole_answer() {
        let fenced = "Here:\n```yaml\nservices:\n  a:\n    image: x\n```\nDone.";
        assert_eq!(
            yaml_of(fenced).as_deref(),
            Some("services:\n  a:\n    image: x\n")
        );
        let other_first = "```sh\nls\n```\n```yml\nservices: {}\n```";
        assert_eq!(yaml_of(other_first).as_deref(), Some("services: {}\n"));
        assert_eq!(
            yaml_of("services:\n  a: {}\n").as_deref(),
            Some("services:\n  a: {}\n")
        );
        assert_eq!(yaml_of("  \n"), None);
    }
}
