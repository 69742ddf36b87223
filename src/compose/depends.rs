//! A service's `depends_on`, from the list or the mapping form.

use serde_yaml_ng::Value;

use super::path::Path;
use super::read::{get_map, get_str, scalar, untag};
use super::service::{Service, key_string};

pub struct Dependency {
    pub name: String,
    pub condition: Option<String>,
    pub path: Path,
    /// Named by a string (every name Compose defines is one); the mutation catalog reads
    /// only these.
    pub by_string: bool,
}

/// Runs to completion rather than serving: one of `dependencies` (every service's, as the
/// caller reads them) waits for it with `service_completed_successfully`, or it is scaled
/// to zero.
pub fn is_one_shot(svc: &Service<'_>, dependencies: impl IntoIterator<Item = Dependency>) -> bool {
    let awaited = dependencies.into_iter().any(|d| {
        d.name == svc.name && d.condition.as_deref() == Some("service_completed_successfully")
    });
    let replicas = get_map(svc.body, "deploy")
        .and_then(|d| get_str(d, "replicas"))
        .or_else(|| get_str(svc.body, "scale"));
    awaited || replicas.as_deref() == Some("0")
}

pub fn depends_on(svc: &Service<'_>) -> Vec<Dependency> {
    let base = svc.at("depends_on");
    match svc.body.get("depends_on").map(untag) {
        Some(Value::Sequence(items)) => items
            .iter()
            .enumerate()
            .filter_map(|(i, v)| {
                Some(Dependency {
                    name: scalar(v)?,
                    condition: None,
                    path: base.index(i),
                    by_string: true,
                })
            })
            .collect(),
        Some(Value::Mapping(m)) => m
            .iter()
            .map(|(k, v)| {
                let name = key_string(k);
                Dependency {
                    path: base.key(&name),
                    name,
                    condition: untag(v).as_mapping().and_then(|c| get_str(c, "condition")),
                    by_string: k.as_str().is_some(),
                }
            })
            .collect(),
        _ => Vec::new(),
    }
}
