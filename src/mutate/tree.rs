//! Tolerant readers over the parsed YAML tree: a mutation looks at files Compose itself
//! would reject and must answer "does not apply", never panic.

use serde_yaml_ng::{Mapping, Value};

use super::edit::{Path, Seg};

pub(crate) use crate::compose::conventions::{Health, health};
pub(crate) use crate::compose::read::{get, get_map, get_seq, get_str, scalar, untag};

/// A mapping key we can address: only string keys, which is every key Compose defines.
pub(crate) fn key_name(k: &Value) -> Option<&str> {
    k.as_str()
}

pub(crate) struct Service<'a> {
    pub name: String,
    pub body: &'a Mapping,
    pub path: Path,
}

impl Service<'_> {
    pub(crate) fn at(&self, key: &str) -> Path {
        let mut p = self.path.clone();
        p.push(Seg::key(key));
        p
    }

    pub(crate) fn image(&self) -> Option<String> {
        get_str(self.body, "image")
    }
}

/// Services whose body is a mapping under a string key, in file order.
pub(crate) fn services(doc: &Value) -> Vec<Service<'_>> {
    let Some(m) = top_map(doc, "services") else {
        return Vec::new();
    };
    m.iter()
        .filter_map(|(k, v)| {
            let name = key_name(k)?.to_string();
            Some(Service {
                path: vec![Seg::key("services"), Seg::key(&name)],
                name,
                // A tagged service body would need the tag kept on edit; leave it alone.
                body: v.as_mapping()?,
            })
        })
        .collect()
}

pub(crate) fn top_map<'a>(doc: &'a Value, key: &str) -> Option<&'a Mapping> {
    doc.as_mapping().and_then(|top| get_map(top, key))
}

/// Image name without registry path, tag or digest, lower-cased: `bitnami/redis:7` → `redis`.
pub(crate) fn image_base(image: &str) -> String {
    let without_digest = image.split('@').next().unwrap_or(image);
    let last = without_digest.rsplit('/').next().unwrap_or(without_digest);
    last.split(':').next().unwrap_or(last).to_ascii_lowercase()
}

/// Redis servers by image name; tools that merely talk to Redis carry it in their name too.
pub(crate) fn is_redis(image: &str) -> bool {
    let name = image_base(image);
    name.starts_with("redis")
        && !["commander", "insight", "exporter", "ui", "admin"]
            .iter()
            .any(|tool| name.contains(tool))
}

/// Runs to completion rather than serving: another service waits for it with
/// `service_completed_successfully`, or it is scaled to zero.
pub(crate) fn is_one_shot(all: &[Service<'_>], svc: &Service<'_>) -> bool {
    let awaited = all.iter().any(|other| {
        depends_on(other).iter().any(|d| {
            d.name == svc.name && d.condition.as_deref() == Some("service_completed_successfully")
        })
    });
    let replicas = get_map(svc.body, "deploy")
        .and_then(|d| get_str(d, "replicas"))
        .or_else(|| get_str(svc.body, "scale"));
    awaited || replicas.as_deref() == Some("0")
}

pub(crate) struct Dependency {
    pub name: String,
    pub condition: Option<String>,
}

/// `depends_on` from the list or the mapping form.
pub(crate) fn depends_on(svc: &Service<'_>) -> Vec<Dependency> {
    match svc.body.get("depends_on").map(untag) {
        Some(Value::Sequence(items)) => items
            .iter()
            .filter_map(|v| {
                Some(Dependency {
                    name: scalar(v)?,
                    condition: None,
                })
            })
            .collect(),
        Some(Value::Mapping(m)) => m
            .iter()
            .filter_map(|(k, v)| {
                Some(Dependency {
                    name: key_name(k)?.to_string(),
                    condition: untag(v).as_mapping().and_then(|c| get_str(c, "condition")),
                })
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// One `environment:` entry, in the mapping or the `- KEY=value` list form.
pub(crate) struct EnvEntry {
    pub key: String,
    /// The string the entry's YAML scalar holds: `value` for the mapping form,
    /// `KEY=value` for the list form.
    pub scalar: String,
    pub path: Path,
}

impl EnvEntry {
    /// The value the variable gets, without the `KEY=` of the list form.
    pub(crate) fn value(&self) -> &str {
        match self.scalar.split_once('=') {
            Some((k, v)) if k.trim() == self.key => v,
            _ => &self.scalar,
        }
    }
}

pub(crate) fn environment(svc: &Service<'_>) -> Vec<EnvEntry> {
    let base = svc.at("environment");
    let at = |seg: Seg| {
        let mut p = base.clone();
        p.push(seg);
        p
    };
    match svc.body.get("environment") {
        Some(Value::Mapping(m)) => m
            .iter()
            .filter_map(|(k, v)| {
                let key = key_name(k)?.to_string();
                let scalar = v.as_str()?.to_string();
                Some(EnvEntry {
                    path: at(Seg::key(&key)),
                    key,
                    scalar,
                })
            })
            .collect(),
        Some(Value::Sequence(items)) => items
            .iter()
            .enumerate()
            .filter_map(|(i, item)| {
                let scalar = item.as_str()?.to_string();
                let (key, _) = scalar.split_once('=')?;
                Some(EnvEntry {
                    key: key.trim().to_string(),
                    path: at(Seg::Index(i)),
                    scalar,
                })
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// Sharing the host's or another container's network namespace makes loopback reach
/// something real, and makes `ports:` meaningless.
pub(crate) fn shares_network_namespace(svc: &Service<'_>) -> bool {
    let mode = get_str(svc.body, "network_mode").unwrap_or_default();
    mode == "host" || mode.starts_with("service:") || mode.starts_with("container:")
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
        assert_eq!(a[0].value(), "1=2");
        let b = environment(&s[1]);
        assert_eq!(b.len(), 1, "numbers need no edit");
        assert_eq!(b[0].value(), "x");
    }

    #[test]
    fn redis_images() {
        assert!(is_redis("harness/redis:local"));
        assert!(is_redis("redis@sha256:abc"));
        assert!(!is_redis("rediscommander/redis-commander"));
        assert!(!is_redis("nginx"));
    }
}
