//! Secrets never reach a record: every text the harness writes passes through here first.

/// Environment variable names whose values are treated as secrets.
fn is_secret_name(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    upper == "ANTHROPIC_API_KEY"
        || upper.ends_with("_KEY")
        || upper.ends_with("_TOKEN")
        || upper.ends_with("_SECRET")
        || upper.contains("PASSWORD")
}

pub const MASK: &str = "[REDACTED]";

/// The dummy key the missing_key step gives one instance: distinctive per process, so a
/// leak is findable, and known to every redactor from the start.
pub fn dummy_key() -> &'static str {
    static KEY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    KEY.get_or_init(|| format!("sk-ant-harness-dummy-{}", uuid::Uuid::new_v4().simple()))
}

/// The secret values of one process's environment, longest first so a secret that contains
/// another is masked whole.
#[derive(Debug, Clone, Default)]
pub struct Redactor {
    secrets: Vec<String>,
}

impl Redactor {
    /// The secrets of this process's environment, and the dummy key.
    pub fn from_env() -> Redactor {
        let dummy = ("HARNESS_DUMMY_KEY".to_string(), dummy_key().to_string());
        Redactor::from_pairs(std::env::vars().chain([dummy]))
    }

    pub fn from_pairs(vars: impl IntoIterator<Item = (String, String)>) -> Redactor {
        // Very short values would mask ordinary words; no real key is that short.
        let mut secrets: Vec<String> = vars
            .into_iter()
            .filter(|(k, v)| is_secret_name(k) && v.trim().len() >= 6)
            .map(|(_, v)| v)
            .collect();
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        secrets.dedup();
        Redactor { secrets }
    }

    pub fn text(&self, text: &str) -> String {
        self.secrets
            .iter()
            .fold(text.to_string(), |acc, s| acc.replace(s.as_str(), MASK))
    }

    /// Masks every string inside a JSON value, keys included.
    pub fn json(&self, value: serde_json::Value) -> serde_json::Value {
        use serde_json::Value;
        if self.secrets.is_empty() {
            return value;
        }
        match value {
            Value::String(s) => Value::String(self.text(&s)),
            Value::Array(items) => Value::Array(items.into_iter().map(|v| self.json(v)).collect()),
            Value::Object(map) => Value::Object(
                map.into_iter()
                    .map(|(k, v)| (self.text(&k), self.json(v)))
                    .collect(),
            ),
            other => other,
        }
    }
}

/// Stderr for log lines, with every secret masked: third-party crates log what they
/// see (bollard's debug output includes a container's environment).
#[derive(Clone)]
pub struct RedactingStderr(pub std::sync::Arc<Redactor>);

impl std::io::Write for RedactingStderr {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        // The fmt layer writes one whole event per call, so a secret is never split.
        let text = self.0.text(&String::from_utf8_lossy(buf));
        std::io::stderr().write_all(text.as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn redactor() -> Redactor {
        Redactor::from_pairs([
            ("ANTHROPIC_API_KEY".into(), "sk-ant-fake-123456".into()),
            ("GITHUB_TOKEN".into(), "ghp_abcdefgh".into()),
            ("DB_PASSWORD_FILE".into(), "hunter22".into()),
            ("HOME".into(), "/root/home-dir".into()),
            ("SHORT_KEY".into(), "abc".into()),
        ])
    }

    #[test]
    fn masks_secret_values_and_leaves_the_rest() {
        let r = redactor();
        let out =
            r.text("key=sk-ant-fake-123456 tok=ghp_abcdefgh pw=hunter22 home=/root/home-dir abc");
        assert_eq!(
            out,
            "key=[REDACTED] tok=[REDACTED] pw=[REDACTED] home=/root/home-dir abc"
        );
    }

    #[test]
    fn masks_inside_json() {
        let v = redactor().json(json!({"a": ["x sk-ant-fake-123456"], "sk-ant-fake-123456": 1}));
        let text = v.to_string();
        assert!(!text.contains("sk-ant-fake"), "{text}");
    }
}
