//! The values the sibling `.env` gives variables, for the one rule that must know where a
//! URL points (`loopback-service-url`: `redis://${REDIS_HOST}:${REDIS_PORT}`). A value
//! may be a secret, so this type never shows one: its `Debug` lists names only, and the
//! rules read a value only to judge a host or a port.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

#[derive(Clone, Default, PartialEq, Eq)]
pub struct Dotenv {
    values: BTreeMap<String, String>,
}

impl fmt::Debug for Dotenv {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.values.keys()).finish()
    }
}

impl Dotenv {
    /// The `.env` beside `compose_file` (empty when there is none or it cannot be read).
    pub fn beside(compose_file: &Path) -> Dotenv {
        let dir = compose_file
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        crate::user_file::read_to_string(&dir.join(".env"))
            .map(|text| Dotenv::parse(&text))
            .unwrap_or_default()
    }

    /// `KEY=value` lines as Compose's dotenv reader takes them: `export ` and comments
    /// skipped, one pair of matching quotes around the value removed.
    pub fn parse(text: &str) -> Dotenv {
        let values = text
            .lines()
            .filter_map(|line| {
                let line = line.trim();
                let line = line.strip_prefix("export ").unwrap_or(line);
                let (key, value) = line.split_once('=')?;
                let key = key.trim();
                let valid = !key.is_empty()
                    && !key.starts_with('#')
                    && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
                valid.then(|| (key.to_string(), unquote(value.trim()).to_string()))
            })
            .collect();
        Dotenv { values }
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }
}

fn unquote(v: &str) -> &str {
    for q in ['"', '\''] {
        if let Some(inner) = v.strip_prefix(q).and_then(|r| r.strip_suffix(q)) {
            return inner;
        }
    }
    // An unquoted value ends at a comment.
    v.split(" #").next().unwrap_or(v).trim_end()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_with_quotes_exports_and_comments() {
        let d = Dotenv::parse(
            "# c\nexport PORT=6379\nHOST=\"cache\"\nPW='s3cret'\nX=1 # note\nbad line\n",
        );
        assert_eq!(d.get("PORT"), Some("6379"));
        assert_eq!(d.get("HOST"), Some("cache"));
        assert_eq!(d.get("X"), Some("1"));
        assert_eq!(d.get("bad line"), None);
        let shown = format!("{d:?}");
        assert!(shown.contains("PW") && !shown.contains("s3cret"), "{shown}");
    }
}
