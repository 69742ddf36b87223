//! Networks and volumes: the top-level definitions, with their place in the file, and the
//! networks each service joins.

use serde_yaml_ng::{Mapping, Value};

use super::path::Path;
use super::read::{get, get_map, scalar, untag};
use super::service::{Service, key_string};

/// A top-level network or volume definition.
pub struct Definition<'a> {
    pub key: String,
    pub path: Path,
    /// The definition, through tags; `None` for `name:` with no body or a non-mapping.
    pub body: Option<&'a Mapping>,
    /// Under a string key with a mapping body, so the editor can address it.
    pub editable: bool,
}

impl Definition<'_> {
    /// Meant to be shared: its name is how it is found, not something to drop.
    pub fn external(&self) -> bool {
        self.body.is_some_and(external)
    }
}

/// The top-level `networks:`, in file order.
pub fn networks(doc: &Value) -> Vec<Definition<'_>> {
    definitions(doc, "networks")
}

/// The top-level `volumes:`, in file order.
pub fn volumes(doc: &Value) -> Vec<Definition<'_>> {
    definitions(doc, "volumes")
}

fn definitions<'a>(doc: &'a Value, kind: &str) -> Vec<Definition<'a>> {
    let Some(top) = doc.as_mapping().and_then(|top| get_map(top, kind)) else {
        return Vec::new();
    };
    top.iter()
        .map(|(k, v)| {
            let key = key_string(k);
            Definition {
                path: Path::root().key(kind).key(&key),
                key,
                body: untag(v).as_mapping(),
                editable: k.as_str().is_some() && v.is_mapping(),
            }
        })
        .collect()
}

/// `external: true`, or v1's `external: {name: …}`.
fn external(body: &Mapping) -> bool {
    match get(body, "external") {
        Some(Value::Bool(b)) => *b,
        Some(Value::Mapping(_)) => true,
        Some(other) => scalar(other).is_some_and(|s| s == "true"),
        None => false,
    }
}

/// The networks the service names under `networks:` (list or mapping form); `None`
/// when it names none that way.
pub fn joined(svc: &Service<'_>) -> Option<Vec<String>> {
    match get(svc.body, "networks") {
        Some(Value::Sequence(items)) => Some(items.iter().filter_map(scalar).collect()),
        Some(Value::Mapping(m)) => Some(m.keys().map(key_string).collect()),
        _ => None,
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
    fn definitions_and_what_services_join() {
        let d = doc(
            "services:\n  a: {networks: [x, y]}\n  b: {networks: {z: {}}}\n  c: {image: i}\nnetworks:\n  x:\n  y: {external: true}\n  z: {external: {name: legacy}}\n  w: !reset {driver: bridge}\n",
        );
        let n = networks(&d);
        let shown: Vec<(&str, bool, bool)> = n
            .iter()
            .map(|n| (n.key.as_str(), n.external(), n.editable))
            .collect();
        assert_eq!(
            shown,
            vec![
                ("x", false, false),
                ("y", true, true),
                ("z", true, true),
                ("w", false, true)
            ]
        );
        assert_eq!(n[3].path.render(), "networks.w");
        let s = services(&d);
        assert_eq!(joined(&s[0]), Some(vec!["x".into(), "y".into()]));
        assert_eq!(joined(&s[1]), Some(vec!["z".into()]));
        assert_eq!(joined(&s[2]), None);
    }
}
