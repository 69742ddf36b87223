//! Where a node sits in a compose file: `[services, api, ports, 0]`, kept structured so
//! findings sort `ports[2]` before `ports[10]`, and rendered as lint prints it.

use serde_yaml_ng::Value;

use super::read::untag;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Seg {
    Key(String),
    Index(usize),
}

impl Seg {
    pub fn key(k: &str) -> Seg {
        Seg::Key(k.to_string())
    }
}

/// Kept structured until the end so findings sort `ports[2]` before `ports[10]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Path(Vec<Seg>);

impl Path {
    pub fn root() -> Path {
        Path::default()
    }

    pub fn segs(&self) -> &[Seg] {
        &self.0
    }

    /// The segments as the mutation editor addresses nodes.
    pub fn to_vec(&self) -> Vec<Seg> {
        self.0.clone()
    }

    /// The node at this path in `doc`, through tags.
    pub fn lookup<'v>(&self, doc: &'v Value) -> Option<&'v Value> {
        let mut cur = doc;
        for seg in &self.0 {
            let here = untag(cur);
            cur = match seg {
                Seg::Key(k) => here.as_mapping()?.get(k.as_str())?,
                Seg::Index(i) => here.as_sequence()?.get(*i)?,
            };
        }
        Some(cur)
    }

    pub fn key(&self, k: &str) -> Path {
        let mut p = self.clone();
        p.0.push(Seg::Key(k.to_string()));
        p
    }

    pub fn index(&self, i: usize) -> Path {
        let mut p = self.clone();
        p.0.push(Seg::Index(i));
        p
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        for seg in &self.0 {
            match seg {
                Seg::Index(i) => out.push_str(&format!("[{i}]")),
                Seg::Key(k) if is_word(k) => {
                    if !out.is_empty() {
                        out.push('.');
                    }
                    out.push_str(k);
                }
                Seg::Key(k) => {
                    let quoted = serde_json::to_string(k).unwrap_or_else(|_| format!("\"{k}\""));
                    out.push_str(&format!("[{quoted}]"));
                }
            }
        }
        out
    }
}

fn is_word(k: &str) -> bool {
    !k.is_empty()
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}
