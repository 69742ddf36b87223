//! `--proposer llm`: a language model asked for the next config, over the Anthropic
//! Messages API or any OpenAI-compatible chat-completions server (Ollama, vLLM,
//! llama.cpp). One plain POST per try; retries on 429/5xx/529 honour `retry-after`,
//! bounded in count and by the proposer's timeout.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::command::failing;
use super::context::{ProposerContext, bounded};
use super::proposer::{Answer, Candidate, Proposer, Provenance, digest, yaml_of};
use crate::redact::Redactor;

const ANTHROPIC_URL: &str = "https://api.anthropic.com";
const DEFAULT_MODEL: &str = "claude-sonnet-4-5";
/// A compose file is short; a bound keeps a rambling answer cheap.
const MAX_TOKENS: u32 = 8_192;
const MAX_RETRIES: u32 = 4;
/// A server asking for a longer wait than this is treated as down.
const MAX_RETRY_WAIT: Duration = Duration::from_secs(60);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

const SYSTEM: &str = "You repair docker compose configs for a test harness. You get a JSON \
context: the task's objective and rules, the current YAML, the failing steps with their \
signatures and evidence, hints (the harness's own fixes), the version history and the \
proposals already rejected, with reasons. Answer with the complete corrected compose YAML in \
one ```yaml fenced block and nothing else of substance. Change as little as possible.";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    Anthropic,
    OpenAi,
}

/// Where the model is and how to reach it, from the environment.
#[derive(Clone)]
pub struct LlmConfig {
    pub api: Api,
    /// The base URL; the API's path is appended.
    pub url: String,
    pub model: String,
    key: Option<String>,
}

impl std::fmt::Debug for LlmConfig {
    // The key never reaches a log line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LlmConfig")
            .field("api", &self.api)
            .field("url", &self.url)
            .field("model", &self.model)
            .finish_non_exhaustive()
    }
}

impl LlmConfig {
    /// The configured model, or why there is none.
    pub fn from_env() -> Result<LlmConfig, String> {
        LlmConfig::from_vars(|name| std::env::var(name).ok().filter(|v| !v.is_empty()))
    }

    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<LlmConfig, String> {
        let openai = match var("HARNESS_LLM_API").as_deref() {
            None | Some("anthropic") => false,
            Some("openai") => true,
            Some(other) => {
                return Err(format!(
                    "HARNESS_LLM_API={other} is not an API the harness speaks: set `anthropic` or `openai`"
                ));
            }
        };
        if openai {
            let url = var("HARNESS_LLM_URL").ok_or(
                "HARNESS_LLM_API=openai needs HARNESS_LLM_URL (e.g. http://127.0.0.1:11434/v1)",
            )?;
            return Ok(LlmConfig {
                api: Api::OpenAi,
                url: url.trim_end_matches('/').to_string(),
                model: var("HARNESS_LLM_MODEL").unwrap_or_else(|| "llama3.1".into()),
                key: var("HARNESS_LLM_API_KEY"),
            });
        }
        let key = var("ANTHROPIC_API_KEY")
            .ok_or("not configured (set ANTHROPIC_API_KEY, or HARNESS_LLM_API=openai)")?;
        Ok(LlmConfig {
            api: Api::Anthropic,
            url: var("ANTHROPIC_BASE_URL")
                .unwrap_or_else(|| ANTHROPIC_URL.into())
                .trim_end_matches('/')
                .to_string(),
            model: var("HARNESS_LLM_MODEL").unwrap_or_else(|| DEFAULT_MODEL.into()),
            key: Some(key),
        })
    }

    fn endpoint(&self) -> String {
        match self.api {
            Api::Anthropic => format!("{}/v1/messages", self.url),
            Api::OpenAi => format!("{}/chat/completions", self.url),
        }
    }

    fn body(&self, user: &str) -> Value {
        match self.api {
            Api::Anthropic => json!({
                "model": self.model, "max_tokens": MAX_TOKENS, "system": SYSTEM,
                "messages": [{"role": "user", "content": user}],
            }),
            Api::OpenAi => json!({
                "model": self.model, "max_tokens": MAX_TOKENS, "stream": false,
                "messages": [{"role": "system", "content": SYSTEM},
                             {"role": "user", "content": user}],
            }),
        }
    }

    fn request(&self, client: &reqwest::Client, body: Vec<u8>) -> reqwest::RequestBuilder {
        let req = client
            .post(self.endpoint())
            .header("content-type", "application/json")
            .body(body);
        match (self.api, &self.key) {
            (Api::Anthropic, Some(key)) => req
                .header("x-api-key", key)
                .header("anthropic-version", "2023-06-01"),
            (Api::OpenAi, Some(key)) => req.bearer_auth(key),
            (_, None) => req,
        }
    }
}

pub struct LlmProposer {
    pub config: LlmConfig,
    /// Every try, retries included, ends within this.
    pub timeout: Duration,
}

/// What the model answered, and what it cost.
struct Reply {
    text: String,
    raw: Vec<u8>,
    input_tokens: Option<u64>,
    output_tokens: Option<u64>,
}

impl Proposer for LlmProposer {
    fn name(&self) -> &'static str {
        "llm"
    }

    async fn propose(&self, ctx: &ProposerContext) -> Answer {
        // The context is redacted already; the environment's secrets (the API key among
        // them) are masked once more, so no request body can carry one.
        let user = Redactor::from_env().text(&ctx.json());
        let body = serde_json::to_vec(&self.config.body(&user)).unwrap_or_default();
        let started = Instant::now();
        let reply = match self.exchange(&body).await {
            Ok(reply) => reply,
            Err(why) => return Answer::Nothing(why),
        };
        let provenance = Provenance {
            proposer: "llm".into(),
            model: Some(self.config.model.clone()),
            request_sha256: Some(digest(&body)),
            response_sha256: Some(digest(&reply.raw)),
            input_tokens: reply.input_tokens,
            output_tokens: reply.output_tokens,
            latency_ms: started.elapsed().as_millis() as u64,
        };
        let Some(yaml) = yaml_of(&reply.text) else {
            return Answer::Nothing(format!("{} answered no YAML", self.config.model));
        };
        Answer::Candidate(Box::new(Candidate {
            label: "llm",
            reason: format!("proposed by {}", self.config.model),
            answers: failing(ctx),
            yaml,
            provenance,
            transcript: Some(format!(
                "# llm: {} at {}\n## request\n{}\n## response\n{}\n",
                self.config.model,
                self.config.endpoint(),
                String::from_utf8_lossy(&body),
                reply.text
            )),
        }))
    }
}

impl LlmProposer {
    /// One answer, retried on overload within the bounds; an error says what to fix.
    async fn exchange(&self, body: &[u8]) -> Result<Reply, String> {
        let deadline = Instant::now() + self.timeout;
        let client = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .build()
            .map_err(|e| format!("could not build an HTTP client: {e}"))?;
        let endpoint = self.config.endpoint();
        for attempt in 0..=MAX_RETRIES {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            let sent = self
                .config
                .request(&client, body.to_vec())
                .timeout(left)
                .send()
                .await;
            let response = match sent {
                Ok(r) => r,
                Err(e) if attempt < MAX_RETRIES && (e.is_connect() || e.is_timeout()) => {
                    tracing::warn!(error = %e, "the model's server did not answer; retrying");
                    wait(None, attempt, deadline).await;
                    continue;
                }
                Err(e) => return Err(format!("{endpoint}: {e}")),
            };
            let status = response.status().as_u16();
            let retry_after = response
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_secs);
            let raw = response
                .bytes()
                .await
                .map_err(|e| format!("{endpoint}: {e}"))?
                .to_vec();
            if status == 429 || status >= 500 {
                if attempt == MAX_RETRIES || retry_after.is_some_and(|w| w > MAX_RETRY_WAIT) {
                    return Err(format!("{endpoint} is overloaded ({status}); try later"));
                }
                tracing::warn!(status, attempt, "the model's server is busy; retrying");
                wait(retry_after, attempt, deadline).await;
                continue;
            }
            if !(200..300).contains(&status) {
                return Err(self.refusal(status, &raw));
            }
            return self.reply(raw);
        }
        Err(format!(
            "{endpoint} gave no answer within {} s (--proposer-timeout)",
            self.timeout.as_secs()
        ))
    }

    fn refusal(&self, status: u16, raw: &[u8]) -> String {
        let said = bounded(
            &Redactor::from_env().text(&String::from_utf8_lossy(raw)),
            300,
        );
        let fix = match (status, self.config.api) {
            (401 | 403, Api::Anthropic) => "the key was refused: check ANTHROPIC_API_KEY",
            (401 | 403, Api::OpenAi) => "the key was refused: check HARNESS_LLM_API_KEY",
            (404, _) => "no such model or endpoint: check HARNESS_LLM_MODEL and the base URL",
            _ => "the request was refused",
        };
        format!(
            "{} answered {status}: {fix} ({said})",
            self.config.endpoint()
        )
    }

    fn reply(&self, raw: Vec<u8>) -> Result<Reply, String> {
        let doc: Value = serde_json::from_slice(&raw)
            .map_err(|e| format!("{} answered no JSON: {e}", self.config.endpoint()))?;
        let (text, input, output) = match self.config.api {
            Api::Anthropic => (
                doc["content"]
                    .as_array()
                    .map(|parts| {
                        parts
                            .iter()
                            .filter_map(|p| p["text"].as_str())
                            .collect::<Vec<_>>()
                            .join("\n")
                    })
                    .unwrap_or_default(),
                doc["usage"]["input_tokens"].as_u64(),
                doc["usage"]["output_tokens"].as_u64(),
            ),
            Api::OpenAi => (
                doc["choices"][0]["message"]["content"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                doc["usage"]["prompt_tokens"].as_u64(),
                doc["usage"]["completion_tokens"].as_u64(),
            ),
        };
        Ok(Reply {
            text,
            raw,
            input_tokens: input,
            output_tokens: output,
        })
    }
}

/// `retry-after` when the server gave one, else 1, 2, 4 … s; never past the deadline.
async fn wait(retry_after: Option<Duration>, attempt: u32, deadline: Instant) {
    let backoff = retry_after.unwrap_or(Duration::from_secs(1 << attempt.min(5)));
    let left = deadline.saturating_duration_since(Instant::now());
    tokio::time::sleep(backoff.min(left)).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn configuration_comes_from_the_environment() {
        assert!(LlmConfig::from_vars(vars(&[])).is_err());
        let a = LlmConfig::from_vars(vars(&[("ANTHROPIC_API_KEY", "k-123456")])).expect("set");
        assert_eq!(a.endpoint(), "https://api.anthropic.com/v1/messages");
        assert!(!format!("{a:?}").contains("k-123456"));
        let o = LlmConfig::from_vars(vars(&[
            ("HARNESS_LLM_API", "openai"),
            ("HARNESS_LLM_URL", "http://127.0.0.1:9/v1/"),
        ]))
        .expect("set");
        assert_eq!(o.endpoint(), "http://127.0.0.1:9/v1/chat/completions");
        assert!(LlmConfig::from_vars(vars(&[("HARNESS_LLM_API", "openai")])).is_err());
        assert!(LlmConfig::from_vars(vars(&[("HARNESS_LLM_API", "x")])).is_err());
    }
}
