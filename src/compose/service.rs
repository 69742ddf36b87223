//! The services of a compose file, read tolerantly: lint sees files Compose itself would
//! reject and must answer with findings, never a panic.

use serde_yaml_ng::{Mapping, Value};

use super::path::Path;
use super::read::{get_map, get_str, scalar, untag};

/// A mapping key as text: Compose defines only string keys, but a file may hold others.
pub fn key_string(k: &Value) -> String {
    scalar(k).unwrap_or_else(|| {
        serde_yaml_ng::to_string(k)
            .map(|s| s.trim().to_string())
            .unwrap_or_default()
    })
}

pub struct Service<'a> {
    pub name: String,
    pub body: &'a Mapping,
    pub path: Path,
    /// Under a string key and not tagged, so the editor can address and rewrite it: a
    /// tagged body would need its tag kept on edit, a non-string key cannot be a path.
    pub editable: bool,
}

impl Service<'_> {
    pub fn at(&self, key: &str) -> Path {
        self.path.key(key)
    }

    pub fn image(&self) -> Option<String> {
        get_str(self.body, "image")
    }

    /// Sharing the host's or another container's network namespace makes loopback reach
    /// something real, and makes `ports:` meaningless.
    pub fn shares_network_namespace(&self) -> bool {
        let mode = get_str(self.body, "network_mode").unwrap_or_default();
        mode == "host" || mode.starts_with("service:") || mode.starts_with("container:")
    }
}

/// Services whose body is a mapping (through tags), in file order.
pub fn services(doc: &Value) -> Vec<Service<'_>> {
    let Some(m) = top_map(doc, "services") else {
        return Vec::new();
    };
    m.iter()
        .filter_map(|(k, v)| {
            let name = key_string(k);
            Some(Service {
                path: Path::root().key("services").key(&name),
                name,
                body: untag(v).as_mapping()?,
                editable: k.as_str().is_some() && v.is_mapping(),
            })
        })
        .collect()
}

pub fn top_map<'a>(doc: &'a Value, key: &str) -> Option<&'a Mapping> {
    doc.as_mapping().and_then(|top| get_map(top, key))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(text: &str) -> Value {
        serde_yaml_ng::from_str(text).unwrap()
    }

    #[test]
    fn services_that_are_not_mappings_are_skipped() {
        let d = doc("services:\n  a: 1\n  b:\n  c: [x]\n  d: {image: x}\n");
        let names: Vec<String> = services(&d).into_iter().map(|s| s.name).collect();
        assert_eq!(names, vec!["d"]);
        assert!(services(&doc("services: [a, b]")).is_empty());
        assert!(services(&doc("- 1")).is_empty());
    }
}
