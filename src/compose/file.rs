use serde_yaml_ng::{Mapping, Value};

/// A compose file that parsed and has the shape Compose requires.
#[derive(Debug, Clone)]
pub struct ComposeFile {
    /// Where the text came from, for messages: a path, or `prompt.md:83`.
    pub origin: String,
    pub text: String,
    pub doc: Value,
    /// The line of `origin` where `text` starts (1 for a file of its own), so positions
    /// in the text can be reported as positions in the file.
    pub first_line: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum ComposeError {
    #[error("{origin}{location}: not valid YAML: {message} — fix the syntax at that position")]
    Syntax {
        origin: String,
        location: String,
        message: String,
    },
    #[error(
        "{origin}: the top level must be a mapping with a `services:` key — this is not a compose file"
    )]
    NotAMapping { origin: String },
    #[error(
        "{origin}: `services` is missing or empty — define at least one service under `services:`"
    )]
    NoServices { origin: String },
    #[error("{origin}: `services.{service}` must be a mapping of options (image:, ports:, …)")]
    BadService { origin: String, service: String },
    #[error(
        "{origin}: unknown top-level key `{key}` — Compose accepts {known}; extensions must start with `x-`"
    )]
    UnknownKey {
        origin: String,
        key: String,
        known: String,
    },
}

/// The top-level keys of the Compose specification (and v1's `version`).
const TOP_LEVEL: [&str; 8] = [
    "version", "name", "include", "services", "networks", "volumes", "configs", "secrets",
];

impl ComposeFile {
    /// `first_line` shifts reported line numbers when the YAML is embedded in another file.
    pub fn parse(origin: &str, text: &str, first_line: usize) -> Result<ComposeFile, ComposeError> {
        let doc: Value = serde_yaml_ng::from_str(text).map_err(|e| ComposeError::Syntax {
            origin: origin.to_string(),
            location: e
                .location()
                .map(|l| {
                    format!(
                        ":{}:{}",
                        l.line() + first_line.saturating_sub(1),
                        l.column()
                    )
                })
                .unwrap_or_default(),
            message: e.to_string(),
        })?;
        let file = ComposeFile {
            origin: origin.to_string(),
            text: text.to_string(),
            doc,
            first_line: first_line.max(1),
        };
        file.check_shape()?;
        Ok(file)
    }

    fn check_shape(&self) -> Result<(), ComposeError> {
        let origin = self.origin.clone();
        let top = self.doc.as_mapping().ok_or(ComposeError::NotAMapping {
            origin: origin.clone(),
        })?;
        for key in top.keys().map(key_str) {
            if !TOP_LEVEL.contains(&key.as_str()) && !key.starts_with("x-") {
                return Err(ComposeError::UnknownKey {
                    origin,
                    key,
                    known: TOP_LEVEL.map(|k| format!("`{k}`")).join(", "),
                });
            }
        }
        let services = top
            .get("services")
            .and_then(Value::as_mapping)
            .filter(|s| !s.is_empty())
            .ok_or(ComposeError::NoServices {
                origin: origin.clone(),
            })?;
        for (name, body) in services {
            if !body.is_mapping() {
                return Err(ComposeError::BadService {
                    origin,
                    service: key_str(name),
                });
            }
        }
        Ok(())
    }

    fn top(&self, key: &str) -> Option<&Mapping> {
        self.doc.get(key).and_then(Value::as_mapping)
    }

    pub fn service_names(&self) -> Vec<String> {
        self.top("services")
            .map(|m| m.keys().map(key_str).collect())
            .unwrap_or_default()
    }

    pub fn service(&self, name: &str) -> Option<&Mapping> {
        self.top("services")?.get(name)?.as_mapping()
    }

    /// `(service, image)` for every service that names an image.
    pub fn images(&self) -> Vec<(String, String)> {
        self.service_names()
            .into_iter()
            .filter_map(|s| {
                let image = self.service(&s)?.get("image")?.as_str()?.to_string();
                Some((s, image))
            })
            .collect()
    }

    /// Top-level networks or volumes this project creates itself (not `external`, in
    /// either of its forms).
    pub fn owned(&self, kind: &str) -> Vec<String> {
        let definitions = match kind {
            "networks" => super::networks::networks(&self.doc),
            "volumes" => super::networks::volumes(&self.doc),
            _ => return Vec::new(),
        };
        definitions
            .into_iter()
            .filter(|d| !d.external())
            .map(|d| d.key)
            .collect()
    }

    /// The obsolete `version:` key, which Compose v1 needs to match across `-f` files.
    pub fn version_key(&self) -> Option<String> {
        match self.doc.get("version")? {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    }
}

pub(crate) fn key_str(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => serde_yaml_ng::to_string(other)
            .map(|s| s.trim().to_string())
            .unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syntax_error_names_file_line_and_column() {
        let err = ComposeFile::parse("p.md", "services:\n  a: [\n", 10).unwrap_err();
        let msg = err.to_string();
        assert!(msg.starts_with("p.md:"), "{msg}");
        assert!(msg.contains("not valid YAML"), "{msg}");
    }

    #[test]
    fn an_unknown_top_level_key_is_named() {
        let err = ComposeFile::parse(
            "c.yml",
            "services:\n  a: {image: x}\nservice:\n  b: {}\n",
            1,
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("unknown top-level key `service`"),
            "{err}"
        );
        assert!(
            ComposeFile::parse("c.yml", "x-common: &c {}\nservices:\n  a: {image: x}\n", 1).is_ok()
        );
    }

    #[test]
    fn no_services_is_an_error() {
        let err = ComposeFile::parse("c.yml", "version: '3'\n", 1).unwrap_err();
        assert!(matches!(err, ComposeError::NoServices { .. }));
        let err = ComposeFile::parse("c.yml", "- a\n", 1).unwrap_err();
        assert!(matches!(err, ComposeError::NotAMapping { .. }));
    }

    #[test]
    fn reads_services_images_and_owned_resources() {
        let text = "version: '3.8'\nservices:\n  web:\n    image: a:1\n  db:\n    build: .\nnetworks:\n  n1: {}\n  ext:\n    external: true\nvolumes:\n  v: {}\n  old:\n    external:\n      name: shared\n";
        let f = ComposeFile::parse("c.yml", text, 1).unwrap();
        assert_eq!(f.service_names(), vec!["web", "db"]);
        assert_eq!(f.images(), vec![("web".to_string(), "a:1".to_string())]);
        assert_eq!(f.owned("networks"), vec!["n1"]);
        assert_eq!(f.owned("volumes"), vec!["v"]);
        assert_eq!(f.version_key().as_deref(), Some("3.8"));
    }

    proptest::proptest! {
        /// Whatever the text, loading and linting it answers; it never panics.
        #[test]
        fn arbitrary_text_never_panics(text in "(?s).{0,400}") {
            if let Ok(file) = ComposeFile::parse("p.yml", &text, 1) {
                let _ = crate::lint::lint(&file);
            }
        }

        /// Compose-shaped noise: keys and values from the vocabulary, in any nesting.
        #[test]
        fn compose_shaped_text_never_panics(
            lines in proptest::collection::vec(
                "( {0,6})(services|ports|image|- |networks|volumes|environment|healthcheck|test|\\$\\{A:-1\\}|7001:7000|<<|&a|\\*a|name)(: )?(\\[|\\{|\"|x|1)?",
                0..30,
            )
        ) {
            let text = lines.join("\n");
            if let Ok(file) = ComposeFile::parse("p.yml", &text, 1) {
                let _ = crate::lint::lint(&file);
            }
        }
    }
}
