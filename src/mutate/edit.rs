//! The edits a mutation is made of, as data: each is applied once to the parsed tree (the
//! intended result) and once to the text (the result the user reads), and the two must
//! agree.

use std::fmt;

use serde_yaml_ng::Value;

use crate::compose::interp;

pub(crate) use crate::compose::path::Seg;

/// From the document root: `[services, api, ports, 0]`.
pub(crate) type Path = Vec<Seg>;

pub(crate) fn child(path: &Path, seg: Seg) -> Path {
    let mut p = path.clone();
    p.push(seg);
    p
}

/// How the text of a changed scalar is rewritten where that keeps the author's quoting
/// and layout better than rendering the new value afresh.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RawEdit {
    /// Render the new value in the scalar's original style.
    Render,
    /// Rewrite every variable reference without a default in place.
    EnvDefault,
    /// Replace these substrings of the scalar's text.
    Replace(Vec<(String, String)>),
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Op {
    /// The scalar at `at` becomes the string `value`.
    SetStr {
        at: Path,
        value: String,
        raw: RawEdit,
    },
    /// The mapping entry `at` (last segment a key) goes away.
    Remove { at: Path },
    /// The sequence item `at` (last segment an index) goes away; later items move up, so
    /// several removals from one sequence are listed last item first.
    RemoveItem { at: Path },
    /// `key` in the mapping at `at` is added at its end, or its value replaced in place.
    Set { at: Path, key: String, value: Value },
    /// As `Set`, the value (a list of strings) written on one line in flow style, as
    /// people write an exec-form command: `["CMD", "/bin/check"]`.
    SetFlow { at: Path, key: String, value: Value },
    /// `value` is appended to the sequence at `at`.
    Push { at: Path, value: Value },
    /// The node at `at` (a sequence item or a mapping value) becomes `value`.
    Replace { at: Path, value: Value },
}

/// A mutation's edits do not fit the tree they were planned on: a bug in the planner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Misplaced(pub String);

impl fmt::Display for Misplaced {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

pub(crate) fn render_path(path: &[Seg]) -> String {
    let mut out = String::new();
    for seg in path {
        match seg {
            Seg::Index(i) => out.push_str(&format!("[{i}]")),
            Seg::Key(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(k);
            }
        }
    }
    out
}

fn untag_mut(v: &mut Value) -> &mut Value {
    match v {
        Value::Tagged(t) => untag_mut(&mut t.value),
        other => other,
    }
}

fn node_mut<'a>(root: &'a mut Value, path: &[Seg]) -> Result<&'a mut Value, Misplaced> {
    let mut cur = root;
    for seg in path {
        let here = untag_mut(cur);
        let next = match seg {
            Seg::Key(k) => here.as_mapping_mut().and_then(|m| m.get_mut(k.as_str())),
            Seg::Index(i) => here.as_sequence_mut().and_then(|s| s.get_mut(*i)),
        };
        cur = next.ok_or_else(|| Misplaced(format!("no node at {}", render_path(path))))?;
    }
    Ok(cur)
}

/// Applies `op` to the parsed tree: the meaning of the edit.
pub(crate) fn apply_value(root: &mut Value, op: &Op) -> Result<(), Misplaced> {
    match op {
        Op::SetStr { at, value, .. } => {
            *node_mut(root, at)? = Value::String(value.clone());
        }
        Op::Remove { at } => {
            let Some((Seg::Key(k), parent)) = at.split_last() else {
                return Err(Misplaced(format!("cannot remove {}", render_path(at))));
            };
            let map = untag_mut(node_mut(root, parent)?)
                .as_mapping_mut()
                .ok_or_else(|| Misplaced(format!("{} is no mapping", render_path(parent))))?;
            // `shift_remove` keeps the order of the keys that stay, as the text does.
            map.shift_remove(k.as_str())
                .ok_or_else(|| Misplaced(format!("no key {}", render_path(at))))?;
        }
        Op::RemoveItem { at } => {
            let Some((Seg::Index(i), parent)) = at.split_last() else {
                return Err(Misplaced(format!("cannot remove item {}", render_path(at))));
            };
            let seq = untag_mut(node_mut(root, parent)?)
                .as_sequence_mut()
                .ok_or_else(|| Misplaced(format!("{} is no sequence", render_path(parent))))?;
            if *i >= seq.len() {
                return Err(Misplaced(format!("no item {}", render_path(at))));
            }
            seq.remove(*i);
        }
        Op::Set { at, key, value } | Op::SetFlow { at, key, value } => {
            let map = untag_mut(node_mut(root, at)?)
                .as_mapping_mut()
                .ok_or_else(|| Misplaced(format!("{} is no mapping", render_path(at))))?;
            map.insert(Value::String(key.clone()), value.clone());
        }
        Op::Replace { at, value } => {
            *node_mut(root, at)? = value.clone();
        }
        Op::Push { at, value } => {
            untag_mut(node_mut(root, at)?)
                .as_sequence_mut()
                .ok_or_else(|| Misplaced(format!("{} is no sequence", render_path(at))))?
                .push(value.clone());
        }
    }
    Ok(())
}

/// The raw text of a scalar after `raw`, or `None` when the new value must be rendered.
pub(crate) fn rewrite_raw(raw_text: &str, raw: &RawEdit) -> Option<String> {
    match raw {
        RawEdit::Render => None,
        RawEdit::EnvDefault => interp::with_defaults(raw_text),
        RawEdit::Replace(pairs) => {
            let mut out = raw_text.to_string();
            for (from, to) in pairs {
                if !out.contains(from.as_str()) {
                    return None;
                }
                out = out.replace(from.as_str(), to);
            }
            Some(out)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(text: &str) -> Value {
        serde_yaml_ng::from_str(text).unwrap()
    }

    #[test]
    fn ops_on_the_tree_keep_key_order() {
        let mut d = doc("a: 1\nb: {x: 1, y: 2}\nc: [1]\n");
        let b = vec![Seg::key("b")];
        apply_value(
            &mut d,
            &Op::Remove {
                at: child(&b, Seg::key("x")),
            },
        )
        .unwrap();
        apply_value(
            &mut d,
            &Op::Set {
                at: b.clone(),
                key: "z".into(),
                value: Value::Null,
            },
        )
        .unwrap();
        apply_value(
            &mut d,
            &Op::Push {
                at: vec![Seg::key("c")],
                value: 2.into(),
            },
        )
        .unwrap();
        apply_value(
            &mut d,
            &Op::SetStr {
                at: vec![Seg::key("a")],
                value: "s".into(),
                raw: RawEdit::Render,
            },
        )
        .unwrap();
        assert_eq!(
            serde_yaml_ng::to_string(&d).unwrap(),
            "a: s\nb:\n  y: 2\n  z: null\nc:\n- 1\n- 2\n"
        );
    }

    #[test]
    fn a_misplaced_op_is_an_error_not_a_panic() {
        let mut d = doc("a: [1]\n");
        let bad = [
            Op::Remove {
                at: vec![Seg::key("b")],
            },
            Op::Remove {
                at: vec![Seg::key("a"), Seg::Index(0)],
            },
            Op::Set {
                at: vec![Seg::key("a")],
                key: "k".into(),
                value: Value::Null,
            },
            Op::Push {
                at: vec![],
                value: Value::Null,
            },
            Op::SetStr {
                at: vec![Seg::key("a"), Seg::Index(3)],
                value: String::new(),
                raw: RawEdit::Render,
            },
        ];
        for op in &bad {
            assert!(apply_value(&mut d, op).is_err(), "{op:?}");
        }
    }

    #[test]
    fn raw_replacements_need_every_piece() {
        let r = RawEdit::Replace(vec![("localhost".into(), "redis".into())]);
        assert_eq!(
            rewrite_raw("\"redis://localhost:6379\"", &r).as_deref(),
            Some("\"redis://redis:6379\"")
        );
        assert_eq!(rewrite_raw("redis://127.0.0.1", &r), None);
    }
}
