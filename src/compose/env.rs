//! A service's `environment:`, in the mapping or the `- KEY=value` list form.

use serde_yaml_ng::Value;

use super::path::Path;
use super::read::{scalar, untag};
use super::service::{Service, key_string};

pub struct EnvEntry<'a> {
    pub key: String,
    /// `None` for `- KEY` or `KEY:` (passed through from the shell) and non-scalars.
    pub value: Option<String>,
    pub path: Path,
    /// The string the entry's YAML scalar holds where the editor can rewrite it in place
    /// (`value` for the mapping form, `KEY=value` for the list form): a plain string, not
    /// a number or a tagged node, in an untagged block under a string key.
    pub text: Option<&'a str>,
}

impl<'a> EnvEntry<'a> {
    /// The value the variable gets as the editor sees it: `text` without the `KEY=` of
    /// the list form.
    pub fn text_value(&self) -> Option<&'a str> {
        let text = self.text?;
        Some(match text.split_once('=') {
            Some((k, v)) if k.trim() == self.key => v,
            _ => text,
        })
    }
}

pub fn environment<'a>(svc: &Service<'a>) -> Vec<EnvEntry<'a>> {
    let base = svc.at("environment");
    let raw = svc.body.get("environment");
    // The editor does not keep a tag on the block it rewrites.
    let untagged = !matches!(raw, Some(Value::Tagged(_)));
    match raw.map(untag) {
        Some(Value::Mapping(m)) => m
            .iter()
            .map(|(k, v)| {
                let key = key_string(k);
                EnvEntry {
                    path: base.key(&key),
                    key,
                    value: scalar(v),
                    text: v.as_str().filter(|_| untagged && k.as_str().is_some()),
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
                    text: item.as_str().filter(|s| untagged && s.contains('=')),
                    value,
                    path: base.index(i),
                })
            })
            .collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compose::service::services;

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
}
