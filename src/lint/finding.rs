use std::fmt;

use serde::Serialize;
use serde_yaml_ng::Value;
use sha2::{Digest, Sha256};

pub(crate) use crate::compose::path::Path;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// Fails the run's lint step.
    Error,
    Warn,
    Info,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Error => "error",
            Level::Warn => "warn",
            Level::Info => "info",
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// Stable kebab-case id, one of [`rules`](super::rules).
    pub rule: &'static str,
    pub level: Level,
    /// Where in the file: `services.app.ports[0]`, `networks.net.name`, `version`.
    pub path: String,
    /// What is wrong and why, for a human; never contains a secret value.
    pub message: String,
    /// The mutation-catalog id that fixes it, where one exists.
    pub mutation: Option<&'static str>,
    /// 1-based line of the offending node in the file (in the prompt file for a task's
    /// candidate); `None` only where the text could not be read with positions.
    pub line: Option<usize>,
    /// 1-based column, in characters.
    pub column: Option<usize>,
    /// 16 hex digits of sha256(rule, path, value at the path): the same finding keeps it
    /// when the message is reworded or the file is reformatted or reordered.
    pub fingerprint: String,
    /// The path as segments, for locating and fixing.
    #[serde(skip)]
    pub(crate) at: Path,
    /// The bytes of the offending entry in the text, once located.
    #[serde(skip)]
    pub(crate) span: Option<std::ops::Range<usize>>,
    /// What the file's author may have meant (a variable left empty on purpose): an error
    /// only where the profile says so.
    #[serde(skip)]
    pub(crate) choice: bool,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:<5} {} {}: {}",
            self.level, self.rule, self.path, self.message
        )?;
        if let Some(m) = self.mutation {
            write!(f, " [fix: {m}]")?;
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RuleInfo {
    pub id: &'static str,
    /// The level the rule reports at; a few findings of a rule are milder (see the
    /// description).
    pub level: Level,
    pub mutation: Option<&'static str>,
    pub description: &'static str,
    /// Which linter has the same check: `dclint`, `KICS`, `compose-lint`, `seed` (the
    /// seed task's penalties), `ours`.
    pub anchor: &'static str,
    /// Off unless a config file turns it on (rules users dispute, like key ordering).
    pub default_on: bool,
}

#[derive(Debug, Default)]
pub(crate) struct Sink {
    items: Vec<(Path, Finding)>,
}

impl Sink {
    pub(crate) fn add(&mut self, rule: &RuleInfo, path: &Path, message: String) {
        self.add_at(rule, rule.level, path, message);
    }

    pub(crate) fn add_at(&mut self, rule: &RuleInfo, level: Level, path: &Path, message: String) {
        self.push(rule, level, rule.mutation, path, message);
    }

    /// A finding the author may have meant; see [`Finding::choice`].
    pub(crate) fn add_choice(&mut self, rule: &RuleInfo, path: &Path, message: String) {
        self.add(rule, path, message);
        if let Some((_, f)) = self.items.last_mut() {
            f.choice = true;
        }
    }

    /// A finding of a rule whose fix covers only its other findings: no fix is offered.
    pub(crate) fn add_unfixed(
        &mut self,
        rule: &RuleInfo,
        level: Level,
        path: &Path,
        message: String,
    ) {
        self.push(rule, level, None, path, message);
    }

    fn push(
        &mut self,
        rule: &RuleInfo,
        level: Level,
        mutation: Option<&'static str>,
        path: &Path,
        message: String,
    ) {
        self.items.push((
            path.clone(),
            Finding {
                rule: rule.id,
                level,
                path: path.render(),
                message,
                mutation,
                line: None,
                column: None,
                fingerprint: String::new(),
                at: path.clone(),
                span: None,
                choice: false,
            },
        ));
    }

    /// Sorted by path then rule; the sort is stable, so several findings of one rule at
    /// one path keep the order they were found in.
    /// `doc` is the tree the rules read: the value at each finding's path goes into its
    /// fingerprint.
    pub(crate) fn finish(mut self, doc: &Value) -> Vec<Finding> {
        self.items
            .sort_by(|(pa, fa), (pb, fb)| pa.cmp(pb).then_with(|| fa.rule.cmp(fb.rule)));
        let mut out: Vec<Finding> = Vec::with_capacity(self.items.len());
        for (path, mut f) in self.items {
            f.fingerprint = fingerprint(f.rule, &f.path, path.lookup(doc));
            // An alias repeats its anchor's nodes, so one problem can be found twice.
            if !out.contains(&f) {
                out.push(f);
            }
        }
        out
    }
}

/// The rules whose value is a secret: their fingerprint leaves the value out, so a hash
/// of a weak password is never published.
const SECRET_RULES: [&str; 1] = ["literal-secret"];

fn fingerprint(rule: &str, path: &str, value: Option<&Value>) -> String {
    let value = match value {
        Some(v) if !SECRET_RULES.contains(&rule) => serde_yaml_ng::to_string(v).unwrap_or_default(),
        _ => String::new(),
    };
    let mut h = Sha256::new();
    for part in [rule, path, value.as_str()] {
        h.update(part.as_bytes());
        h.update([0]);
    }
    hex::encode(&h.finalize()[..8])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_render_dotted_with_indexes_and_quote_odd_keys() {
        let p = Path::root()
            .key("services")
            .key("api")
            .key("ports")
            .index(3);
        assert_eq!(p.render(), "services.api.ports[3]");
        let p = Path::root()
            .key("services")
            .key("es")
            .key("environment")
            .key("discovery.type");
        assert_eq!(p.render(), r#"services.es.environment["discovery.type"]"#);
        assert_eq!(Path::root().key("version").render(), "version");
    }

    #[test]
    fn findings_sort_by_structured_path_then_rule() {
        const A: RuleInfo = RuleInfo {
            id: "b-rule",
            level: Level::Warn,
            mutation: None,
            description: "",
            anchor: "ours",
            default_on: true,
        };
        const B: RuleInfo = RuleInfo {
            id: "a-rule",
            level: Level::Error,
            mutation: Some("m"),
            description: "",
            anchor: "ours",
            default_on: true,
        };
        let ports = Path::root().key("s").key("ports");
        let mut sink = Sink::default();
        sink.add(&A, &ports.index(10), "x".into());
        sink.add(&A, &ports.index(2), "x".into());
        sink.add(&B, &ports.index(2), "y".into());
        sink.add(&B, &ports.index(2), "y".into());
        let out: Vec<(String, &str)> = sink
            .finish(&Value::Null)
            .into_iter()
            .map(|f| (f.path, f.rule))
            .collect();
        assert_eq!(
            out,
            vec![
                ("s.ports[2]".to_string(), "a-rule"),
                ("s.ports[2]".to_string(), "b-rule"),
                ("s.ports[10]".to_string(), "b-rule"),
            ]
        );
    }
}
