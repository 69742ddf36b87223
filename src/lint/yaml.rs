//! Tolerant readers over the YAML tree: lint sees files Compose itself would reject, and
//! must answer with findings, never a panic.

use serde_yaml_ng::{Mapping, Value};

use super::finding::Path;

// Shared with the mutation catalog: both read files Compose itself may reject.
pub(crate) use crate::compose::conventions::{Health, health};
pub(crate) use crate::compose::read::{get, get_map, get_seq, get_str, scalar, untag};

pub(crate) fn key_string(k: &Value) -> String {
    scalar(k).unwrap_or_else(|| {
        serde_yaml_ng::to_string(k)
            .map(|s| s.trim().to_string())
            .unwrap_or_default()
    })
}

/// `a`, `a and b`, `a, b and c`: lists in messages read like sentences.
pub(crate) fn sentence(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

pub(crate) struct Service<'a> {
    pub name: String,
    pub body: &'a Mapping,
    pub path: Path,
}

/// Services whose body is a mapping; anything else is not a service lint can read.
pub(crate) fn services(doc: &Value) -> Vec<Service<'_>> {
    let Some(m) = doc.as_mapping().and_then(|top| get_map(top, "services")) else {
        return Vec::new();
    };
    m.iter()
        .filter_map(|(k, v)| {
            let name = key_string(k);
            Some(Service {
                path: Path::root().key("services").key(&name),
                name,
                body: untag(v).as_mapping()?,
            })
        })
        .collect()
}

pub(crate) struct EnvEntry {
    pub key: String,
    /// `None` for `- KEY` or `KEY:` (passed through from the shell) and non-scalars.
    pub value: Option<String>,
    pub path: Path,
}

/// `environment:` as a mapping or as a `- KEY=value` list.
pub(crate) fn environment(svc: &Service<'_>) -> Vec<EnvEntry> {
    let base = svc.path.key("environment");
    match svc.body.get("environment").map(untag) {
        Some(Value::Mapping(m)) => m
            .iter()
            .map(|(k, v)| {
                let key = key_string(k);
                EnvEntry {
                    path: base.key(&key),
                    key,
                    value: scalar(v),
                }
            })
            .collect(),
        Some(Value::Sequence(items)) => items
            .iter()
            .enumerate()
            .filter_map(|(i, item)| {
                let text = scalar(item)?;
                let (key, value) = match text.split_once('=') {
                    Some((k, v)) => (k.to_string(), Some(v.to_string())),
                    None => (text, None),
                };
                Some(EnvEntry {
                    key: key.trim().to_string(),
                    value,
                    path: base.index(i),
                })
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// `depends_on` as `(dependency, condition, path)`, from the list or the mapping form.
pub(crate) fn depends_on(svc: &Service<'_>) -> Vec<(String, Option<String>, Path)> {
    let base = svc.path.key("depends_on");
    match svc.body.get("depends_on").map(untag) {
        Some(Value::Sequence(items)) => items
            .iter()
            .enumerate()
            .filter_map(|(i, v)| Some((scalar(v)?, None, base.index(i))))
            .collect(),
        Some(Value::Mapping(m)) => m
            .iter()
            .map(|(k, v)| {
                let name = key_string(k);
                let condition = untag(v).as_mapping().and_then(|c| get_str(c, "condition"));
                (name.clone(), condition, base.key(&name))
            })
            .collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(text: &str) -> Value {
        serde_yaml_ng::from_str(text).unwrap()
    }

    #[test]
    fn environment_reads_both_forms() {
        let d = doc("services:\n  a:\n    environment:\n      - A=1\n      - B\n      - C=x=y\n");
        let s = services(&d);
        let env = environment(&s[0]);
        let got: Vec<(String, Option<String>, String)> = env
            .into_iter()
            .map(|e| (e.key, e.value, e.path.render()))
            .collect();
        assert_eq!(
            got,
            vec![
                (
                    "A".into(),
                    Some("1".into()),
                    "services.a.environment[0]".into()
                ),
                ("B".into(), None, "services.a.environment[1]".into()),
                (
                    "C".into(),
                    Some("x=y".into()),
                    "services.a.environment[2]".into()
                ),
            ]
        );
        let d = doc("services:\n  a:\n    environment:\n      A: 1\n      B:\n");
        let env = environment(&services(&d)[0]);
        assert_eq!(env[0].value.as_deref(), Some("1"));
        assert_eq!(env[1].value, None);
        assert_eq!(env[1].path.render(), "services.a.environment.B");
    }

    #[test]
    fn services_that_are_not_mappings_are_skipped() {
        let d = doc("services:\n  a: 1\n  b:\n  c: [x]\n  d: {image: x}\n");
        let names: Vec<String> = services(&d).into_iter().map(|s| s.name).collect();
        assert_eq!(names, vec!["d"]);
        assert!(services(&doc("services: [a, b]")).is_empty());
        assert!(services(&doc("- 1")).is_empty());
    }

    #[test]
    fn health_states() {
        let h = |t: &str| health(doc(t).as_mapping().unwrap());
        assert_eq!(h("image: x"), Health::Missing);
        assert_eq!(h("healthcheck: {disable: true}"), Health::Disabled);
        assert_eq!(h("healthcheck: {test: [NONE]}"), Health::Disabled);
        assert_eq!(h("healthcheck: {test: [CMD, x]}"), Health::Present);
    }
}
