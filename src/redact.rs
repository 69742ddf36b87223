//! Secrets never reach a record: every text the harness writes passes through here first.

/// Variable names whose values are treated as secrets (`API_KEY` and `*_PRIVATE_KEY`
/// end in `_KEY`). Lint's `literal-secret` judges names by this too.
pub fn is_secret_name(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    const ENDINGS: [&str; 6] = [
        "_KEY",
        "APIKEY",
        "_TOKEN",
        "_SECRET",
        "_PASS",
        "_CREDENTIALS",
    ];
    const WHOLE: [&str; 3] = ["SECRET", "TOKEN", "CREDENTIALS"];
    upper.contains("PASSWORD")
        || upper.contains("PASSWD")
        || ENDINGS.iter().any(|e| upper.ends_with(e))
        || WHOLE.contains(&upper.as_str())
}

use crate::compose::{ComposeFile, config_hash};

pub const MASK: &str = "[REDACTED]";

/// The dummy key the missing_key step gives one instance: distinctive per process, so a
/// leak is findable, and known to every redactor from the start.
pub fn dummy_key() -> &'static str {
    static KEY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    KEY.get_or_init(|| format!("sk-ant-harness-dummy-{}", uuid::Uuid::new_v4().simple()))
}

/// The secret values of one process's environment (and of the config at hand), longest
/// first so a secret that contains another is masked whole.
#[derive(Debug, Clone, Default)]
pub struct Redactor {
    /// `(variable, value)`: the variable is how a recorded config refers to the value.
    secrets: Vec<(String, String)>,
    /// Literal secrets of a config: masked in text; in a recorded config they are
    /// replaced where they stand (see [`Redactor::config`]).
    literals: Vec<String>,
}

/// A config as the harness records it: the text that lands in files and rows, and its
/// content address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedConfig {
    pub text: String,
    pub hash: String,
}

/// Very short values would mask ordinary words; no real key is that short.
const MIN_SECRET: usize = 6;

impl Redactor {
    /// The secrets of this process's environment, and the dummy key.
    pub fn from_env() -> Redactor {
        let dummy = ("HARNESS_DUMMY_KEY".to_string(), dummy_key().to_string());
        Redactor::from_pairs(std::env::vars().chain([dummy]))
    }

    pub fn from_pairs(vars: impl IntoIterator<Item = (String, String)>) -> Redactor {
        let mut secrets: Vec<(String, String)> = vars
            .into_iter()
            .filter(|(k, v)| is_secret_name(k) && v.trim().len() >= MIN_SECRET)
            .collect();
        secrets.sort_by_key(|(_, v)| std::cmp::Reverse(v.len()));
        secrets.dedup_by(|a, b| a.1 == b.1);
        Redactor {
            secrets,
            literals: Vec::new(),
        }
    }

    /// This redactor, also masking the literal secrets written in `file`: what Compose's
    /// stderr or a mutation's reason may quote back.
    pub fn with_config(&self, file: &ComposeFile) -> Redactor {
        let mut literals = self.literals.clone();
        literals.extend(
            crate::mutate::literal_secrets(file)
                .into_iter()
                .map(|l| l.value)
                .filter(|v| v.trim().len() >= MIN_SECRET),
        );
        literals.sort_by_key(|v| std::cmp::Reverse(v.len()));
        literals.dedup();
        Redactor {
            secrets: self.secrets.clone(),
            literals,
        }
    }

    pub fn text(&self, text: &str) -> String {
        let masked = self.secrets.iter().fold(text.to_string(), |acc, (_, s)| {
            acc.replace(s.as_str(), MASK)
        });
        self.literals
            .iter()
            .fold(masked, |acc, s| acc.replace(s.as_str(), MASK))
    }

    /// `file` as the harness records it (version row, proposal, graduated file): each
    /// literal secret of an `environment:` entry becomes a reference to the variable
    /// that is to carry it (`${DB_PASSWORD}`), and each value of this environment's
    /// secrets a reference to the variable that holds it — so the record still deploys
    /// wherever those variables are set, and holds no secret.
    ///
    /// The hash is taken after the first step only: a version's address must not depend
    /// on the environment of the process that computed it, and must not be a way to test
    /// guesses of a password offline.
    pub fn config(&self, file: &ComposeFile) -> RecordedConfig {
        let (text, addressed) = match crate::mutate::secrets_as_references(file) {
            Ok(None) => (file.text.clone(), None),
            Ok(Some(text)) => {
                let parsed = ComposeFile::parse(&file.origin, &text, file.first_line).ok();
                (text, parsed)
            }
            // The editor could not write the references: masking is still no leak.
            Err(_) => (self.with_config(file).text(&file.text), None),
        };
        let hash = config_hash(addressed.as_ref().unwrap_or(file));
        let text = self.secrets.iter().fold(text, |acc, (name, value)| {
            acc.replace(value.as_str(), &format!("${{{name}}}"))
        });
        RecordedConfig { text, hash }
    }

    /// Masks every string inside a JSON value, keys included.
    pub fn json(&self, value: serde_json::Value) -> serde_json::Value {
        use serde_json::Value;
        if self.secrets.is_empty() && self.literals.is_empty() {
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
    fn secret_looking_names() {
        for name in [
            "ANTHROPIC_API_KEY",
            "APIKEY",
            "STRIPE_APIKEY",
            "API_KEY",
            "SMTP_PASS",
            "GCP_CREDENTIALS",
            "SSH_PRIVATE_KEY",
            "GITHUB_TOKEN",
            "JWT_SECRET",
            "DB_PASSWORD_FILE",
            "MYSQL_PASSWD",
        ] {
            assert!(is_secret_name(name), "{name}");
        }
        for name in [
            "HOME",
            "PASSENGER_COUNT",
            "KEYBOARD",
            "TOKENIZER_MODEL",
            "LOG_LEVEL",
        ] {
            assert!(!is_secret_name(name), "{name}");
        }
    }

    fn compose(text: &str) -> ComposeFile {
        ComposeFile::parse("t.yml", text, 1).expect("parses")
    }

    const PLANTED: &str = "services:\n  app:\n    image: postgres:16\n    command: [\"--token\", \"ghp_abcdefgh\"]\n    environment:\n      DB_PASSWORD: planted-pw-1\n      LOG_LEVEL: info\n";

    #[test]
    fn a_recorded_config_refers_to_its_secrets_and_still_deploys() {
        let r = redactor();
        let rec = r.config(&compose(PLANTED));
        assert_eq!(
            rec.text,
            "services:\n  app:\n    image: postgres:16\n    command: [\"--token\", \"${GITHUB_TOKEN}\"]\n    environment:\n      DB_PASSWORD: ${DB_PASSWORD}\n      LOG_LEVEL: info\n"
        );
        // Where the variables are set, the record means what the original meant.
        let deployed = compose(&rec.text);
        assert_eq!(
            deployed.doc["services"]["app"]["environment"]["DB_PASSWORD"].as_str(),
            Some("${DB_PASSWORD}")
        );
        // Text quoting the config masks its literal secrets too.
        let quoted = r
            .with_config(&compose(PLANTED))
            .text("ERROR: planted-pw-1 is invalid");
        assert_eq!(quoted, "ERROR: [REDACTED] is invalid");
    }

    #[test]
    fn the_address_ignores_secret_values_and_the_environment() {
        let other_pw = PLANTED.replace("planted-pw-1", "another-pw-2");
        let a = redactor().config(&compose(PLANTED));
        let b = Redactor::default().config(&compose(&other_pw));
        assert_eq!(a.hash, b.hash);
        // A config without secrets keeps the address it always had.
        let plain = compose("services:\n  a:\n    image: x\n");
        assert_eq!(redactor().config(&plain).hash, config_hash(&plain));
        assert_eq!(redactor().config(&plain).text, plain.text);
        let other_image = compose(&PLANTED.replace("postgres:16", "postgres:17"));
        assert_ne!(redactor().config(&other_image).hash, a.hash);
    }

    #[test]
    fn masks_inside_json() {
        let v = redactor().json(json!({"a": ["x sk-ant-fake-123456"], "sk-ant-fake-123456": 1}));
        let text = v.to_string();
        assert!(!text.contains("sk-ant-fake"), "{text}");
    }
}
