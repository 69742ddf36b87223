//! A service's `volumes:` entries, short or long syntax, read after interpolation with
//! every variable but `HOME` unset (it reads as `~`: Compose always has it).

use serde_yaml_ng::{Mapping, Value};

use super::credentials::home_as_tilde;
use super::read::{get_seq, get_str, untag};

pub struct Mount {
    /// The entry's place in the `volumes:` list.
    pub index: usize,
    /// Empty for an anonymous volume.
    pub source: String,
    pub target: String,
    /// No source: Compose makes an anonymous volume.
    pub anonymous: bool,
    pub tmpfs: bool,
    /// Written in the long (mapping) syntax.
    pub long: bool,
    /// `:ro` (short syntax) or `read_only: true` (long).
    pub read_only: bool,
}

impl Mount {
    /// Backed by something that outlives the container: a volume or a host path.
    pub fn keeps_data(&self) -> bool {
        !self.source.is_empty() && !self.tmpfs
    }

    /// A named volume, not a host path.
    pub fn named_volume(&self) -> Option<&str> {
        let s = self.source.as_str();
        let path = s.starts_with(['.', '/', '~', '$']) || s.contains('/');
        (!s.is_empty() && !self.tmpfs && !path).then_some(s)
    }
}

/// The mounts of a service body. `unset` is the reading of a value with variables unset:
/// lint and the mutation catalog differ only in what a malformed `${` becomes (lint keeps
/// the text before it, the catalog the text as written), and each keeps its own.
pub fn mounts(body: &Mapping, unset: fn(&str) -> String) -> Vec<Mount> {
    get_seq(body, "volumes")
        .unwrap_or_default()
        .iter()
        .enumerate()
        .filter_map(|(index, v)| mount(index, v, unset))
        .collect()
}

fn mount(index: usize, v: &Value, unset: fn(&str) -> String) -> Option<Mount> {
    match untag(v) {
        Value::String(s) => {
            let text = unset(&home_as_tilde(s));
            let mut parts = text.splitn(3, ':');
            let first = parts.next().unwrap_or_default().to_string();
            let target = parts.next();
            let read_only = parts
                .next()
                .is_some_and(|options| options.split(',').any(|o| o == "ro"));
            Some(match target {
                Some(target) => Mount {
                    index,
                    source: first,
                    target: target.to_string(),
                    anonymous: false,
                    tmpfs: false,
                    long: false,
                    read_only,
                },
                None => Mount {
                    index,
                    source: String::new(),
                    target: first,
                    anonymous: true,
                    tmpfs: false,
                    long: false,
                    read_only,
                },
            })
        }
        Value::Mapping(m) => {
            let field = |k: &str| unset(&home_as_tilde(&get_str(m, k).unwrap_or_default()));
            let source = field("source");
            let kind = field("type");
            Some(Mount {
                index,
                anonymous: source.is_empty() && kind != "tmpfs",
                tmpfs: kind == "tmpfs",
                source,
                target: field("target"),
                long: true,
                read_only: matches!(m.get("read_only").map(untag), Some(Value::Bool(true)))
                    || field("read_only") == "true",
            })
        }
        _ => None,
    }
}
