//! Tolerant readers over the parsed YAML tree: a mutation looks at files Compose itself
//! would reject and must answer "does not apply", never panic.

use serde_yaml_ng::Value;

use crate::compose;
pub(crate) use crate::compose::conventions::is_redis;
pub(crate) use crate::compose::depends::Dependency;
pub(crate) use crate::compose::env::EnvEntry;
pub(crate) use crate::compose::healthcheck::{Health, health};
pub(crate) use crate::compose::read::{get, get_map, get_seq, get_str, scalar, untag};
pub(crate) use crate::compose::service::{Service, top_map};

/// A mapping key we can address: only string keys, which is every key Compose defines.
pub(crate) fn key_name(k: &Value) -> Option<&str> {
    k.as_str()
}

/// Services the editor can address (see [`Service::editable`]), in file order.
pub(crate) fn services(doc: &Value) -> Vec<Service<'_>> {
    compose::service::services(doc)
        .into_iter()
        .filter(|s| s.editable)
        .collect()
}

/// Runs to completion rather than serving, as far as string-named dependencies say (see
/// [`compose::depends::is_one_shot`]).
pub(crate) fn is_one_shot(all: &[Service<'_>], svc: &Service<'_>) -> bool {
    compose::depends::is_one_shot(svc, all.iter().flat_map(depends_on))
}

/// `depends_on` entries named by a string: the only names a service can have here.
pub(crate) fn depends_on(svc: &Service<'_>) -> Vec<Dependency> {
    compose::depends::depends_on(svc)
        .into_iter()
        .filter(|d| d.by_string)
        .collect()
}

/// `environment:` entries the editor can rewrite in place (see [`EnvEntry::text`]).
pub(crate) fn environment<'a>(svc: &Service<'a>) -> Vec<EnvEntry<'a>> {
    compose::env::environment(svc)
        .into_iter()
        .filter(|e| e.text.is_some())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(text: &str) -> Value {
        serde_yaml_ng::from_str(text).unwrap()
    }

    #[test]
    fn services_skip_odd_bodies_and_keys() {
        let d = doc("services:\n  a: 1\n  b:\n  1: {image: x}\n  d: {image: x}\n");
        let names: Vec<String> = services(&d).into_iter().map(|s| s.name).collect();
        assert_eq!(names, vec!["d"]);
        assert!(services(&doc("- 1")).is_empty());
    }

    #[test]
    fn environment_both_forms() {
        let d = doc(
            "services:\n  a:\n    environment:\n      - A=1=2\n      - B\n  b:\n    environment:\n      A: x\n      B: 1\n",
        );
        let s = services(&d);
        let a = environment(&s[0]);
        assert_eq!(a.len(), 1);
        assert_eq!(a[0].text_value(), Some("1=2"));
        let b = environment(&s[1]);
        assert_eq!(b.len(), 1, "numbers need no edit");
        assert_eq!(b[0].text_value(), Some("x"));
    }
}
