//! Turns a mutation's edits into the new file text. The edits are made on the author's
//! text with a lossless YAML editor (comments, quoting, key order and blank lines stay),
//! and the result is accepted only if it parses to exactly the tree the edits mean; when
//! it does not, the tree itself is serialised, which loses comments but is never wrong.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::str::FromStr;

use serde_yaml_ng::Value;
use yaml_edit::{Document, Mapping, Scalar, Sequence, YamlNode};

use super::edit::{Op, RawEdit, Seg, apply_value, rewrite_raw};
use super::types::MutateError;
use crate::compose::ComposeFile;

/// How the text was produced, best first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Rendering {
    /// Only the edited nodes changed, in the author's own style.
    Lossless,
    /// As lossless, but changed strings are double-quoted: the author's style could not
    /// hold the new value.
    Requoted,
    /// The edited tree serialised afresh: comments and quoting are gone.
    Reserialised,
}

pub(crate) struct Rendered {
    pub text: String,
    pub how: Rendering,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Style {
    Keep,
    Quote,
}

pub(crate) fn render(file: &ComposeFile, ops: &[Op]) -> Result<Rendered, MutateError> {
    let mut expected = file.doc.clone();
    for op in ops {
        apply_value(&mut expected, op).map_err(|e| MutateError::Misplaced(e.0))?;
    }
    for (style, how) in [
        (Style::Keep, Rendering::Lossless),
        (Style::Quote, Rendering::Requoted),
    ] {
        if let Some(text) = lossless(&file.text, ops, style) {
            let text = space_new_sections(&file.text, &tidy(&file.text, &text), ops);
            if means(&text, &expected) {
                return Ok(Rendered { text, how });
            }
        }
    }
    let text =
        serde_yaml_ng::to_string(&expected).map_err(|e| MutateError::Serialise(e.to_string()))?;
    if !means(&text, &expected) {
        return Err(MutateError::Unrenderable(file.origin.clone()));
    }
    Ok(Rendered {
        text,
        how: Rendering::Reserialised,
    })
}

/// `text` parses to `expected`, keys in the same order.
fn means(text: &str, expected: &Value) -> bool {
    let Ok(got) = serde_yaml_ng::from_str::<Value>(text) else {
        return false;
    };
    // Mapping equality ignores order; the serialisations do not.
    got == *expected
        && serde_yaml_ng::to_string(&got).ok() == serde_yaml_ng::to_string(expected).ok()
}

fn lossless(text: &str, ops: &[Op], style: Style) -> Option<String> {
    // The editor is a third-party parser fed arbitrary files: a panic in it must cost
    // only the lossless rendering, never the caller.
    catch_unwind(AssertUnwindSafe(|| {
        let doc = Document::from_str(text).ok()?;
        for op in ops {
            apply_text(&doc, op, style)?;
        }
        Some(doc.to_string())
    }))
    .ok()
    .flatten()
}

#[derive(Clone)]
enum Container {
    Map(Mapping),
    Seq(Sequence),
}

enum Found {
    At(YamlNode),
    /// The path runs through an alias: the edit lands where the anchor is defined (or
    /// nowhere), and the comparison with the intended tree decides.
    Alias,
}

/// The node at `path`, and whether a flow collection (`[...]`, `{...}`) encloses it.
fn find(doc: &Document, path: &[Seg]) -> Option<(Found, bool)> {
    let mut here = Container::Map(doc.as_mapping()?);
    let mut flow = is_flow(&here);
    let (last, parents) = path.split_last()?;
    for seg in parents {
        let node = child(&here, seg)?;
        if node.is_alias() {
            return Some((Found::Alias, flow));
        }
        here = container(&node)?;
        flow |= is_flow(&here);
    }
    let node = child(&here, last)?;
    if node.is_alias() {
        return Some((Found::Alias, flow));
    }
    Some((Found::At(node), flow))
}

fn child(c: &Container, seg: &Seg) -> Option<YamlNode> {
    match (c, seg) {
        (Container::Map(m), Seg::Key(k)) => m.get(k.as_str()),
        (Container::Seq(s), Seg::Index(i)) => s.get(*i),
        _ => None,
    }
}

fn container(node: &YamlNode) -> Option<Container> {
    if let Some(m) = node.as_mapping() {
        return Some(Container::Map(m.clone()));
    }
    if let Some(s) = node.as_sequence() {
        return Some(Container::Seq(s.clone()));
    }
    let tagged = node.as_tagged()?;
    tagged
        .as_mapping()
        .map(Container::Map)
        .or_else(|| tagged.as_sequence().map(Container::Seq))
}

fn is_flow(c: &Container) -> bool {
    match c {
        Container::Map(m) => m.is_flow_style(),
        Container::Seq(s) => s.is_flow_style(),
    }
}

/// `None` when the editor cannot make this edit.
fn apply_text(doc: &Document, op: &Op, style: Style) -> Option<()> {
    match op {
        Op::SetStr { at, value, raw } => {
            let (found, flow) = find(doc, at)?;
            let Found::At(node) = found else {
                return Some(());
            };
            let scalar = node.as_scalar()?;
            let text = scalar_text(&scalar.value(), value, raw, style, flow)?;
            scalar.set_value(&text);
        }
        Op::Remove { at } => {
            let (Seg::Key(k), parent) = at.split_last()? else {
                return None;
            };
            match parent_container(doc, parent)? {
                Some(Container::Map(m)) => {
                    m.remove(k.as_str())?;
                }
                Some(Container::Seq(_)) => return None,
                None => {}
            }
        }
        Op::RemoveItem { at } => {
            let (Seg::Index(i), parent) = at.split_last()? else {
                return None;
            };
            match parent_container(doc, parent)? {
                Some(Container::Seq(s)) => {
                    s.remove(*i)?;
                }
                Some(Container::Map(_)) => return None,
                None => {}
            }
        }
        Op::Set { at, key, value } => match parent_container(doc, at)? {
            Some(Container::Map(m)) => set_in(&m, key, value)?,
            Some(Container::Seq(_)) => return None,
            None => {}
        },
        Op::SetFlow { at, key, value } => match parent_container(doc, at)? {
            Some(Container::Map(m)) => m.set(key, &flow_list(value)?),
            Some(Container::Seq(_)) => return None,
            None => {}
        },
        Op::Replace { at, value } => {
            let (last, parent) = at.split_last()?;
            match (parent_container(doc, parent)?, last) {
                (Some(Container::Map(m)), Seg::Key(k)) => set_in(&m, k, value)?,
                (Some(Container::Seq(s)), Seg::Index(i)) => replace_item(&s, *i, value)?,
                (None, _) => {}
                _ => return None,
            }
        }
        Op::Push { at, value } => match parent_container(doc, at)? {
            Some(Container::Seq(s)) => push_to(&s, value)?,
            Some(Container::Map(_)) => return None,
            None => {}
        },
    }
    Some(())
}

/// The collection at `path` (the root for an empty path); `Some(None)` behind an alias.
fn parent_container(doc: &Document, path: &[Seg]) -> Option<Option<Container>> {
    if path.is_empty() {
        return Some(Some(Container::Map(doc.as_mapping()?)));
    }
    match find(doc, path)? {
        (Found::Alias, _) => Some(None),
        (Found::At(node), _) => Some(Some(container(&node)?)),
    }
}

/// A value built by the editor's own parser from its YAML text, so it is inserted with
/// the editor's indentation rules.
enum NewNode {
    Scalar(Scalar),
    Map(Mapping),
    Seq(Sequence),
    Node(YamlNode),
}

fn new_node(value: &Value) -> Option<NewNode> {
    if value.is_null() {
        // `key:` with nothing after it, as people write a volume or network with no options.
        let doc = Document::from_str("k:\n").ok()?;
        let (_, v) = doc.as_mapping()?.iter().next()?;
        return Some(NewNode::Node(v));
    }
    let text = bare_nulls(&serde_yaml_ng::to_string(value).ok()?);
    let doc = Document::from_str(&text).ok()?;
    match value {
        Value::Mapping(_) => doc.as_mapping().map(NewNode::Map),
        Value::Sequence(_) => doc.as_sequence().map(NewNode::Seq),
        _ => doc.as_scalar().map(NewNode::Scalar),
    }
}

/// A list of strings as a flow sequence, each item double-quoted: `["CMD", "x"]`.
fn flow_list(value: &Value) -> Option<Sequence> {
    let items: Option<Vec<String>> = value
        .as_sequence()?
        .iter()
        .map(|v| serde_json::to_string(v.as_str()?).ok())
        .collect();
    let text = format!("[{}]\n", items?.join(", "));
    Document::from_str(&text).ok()?.as_sequence()
}

/// `key: null` → `key:`. The serialiser quotes a string "null", so a bare one at the end
/// of a line is always the null value.
fn bare_nulls(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        let body = line.trim_end_matches('\n');
        match body.strip_suffix(": null") {
            Some(key) => {
                out.push_str(key);
                out.push(':');
                out.push_str(&line[body.len()..]);
            }
            None => out.push_str(line),
        }
    }
    out
}

fn set_in(m: &Mapping, key: &str, value: &Value) -> Option<()> {
    match new_node(value)? {
        NewNode::Scalar(s) => m.set(key, &s),
        NewNode::Map(n) => m.set(key, &n),
        NewNode::Seq(n) => m.set(key, &n),
        NewNode::Node(n) => m.set(key, &n),
    }
    Some(())
}

fn replace_item(s: &Sequence, index: usize, value: &Value) -> Option<()> {
    let done = match new_node(value)? {
        NewNode::Scalar(n) => s.set(index, &n),
        NewNode::Map(n) => s.set(index, &n),
        NewNode::Seq(n) => s.set(index, &n),
        NewNode::Node(n) => s.set(index, &n),
    };
    done.then_some(())
}

fn push_to(s: &Sequence, value: &Value) -> Option<()> {
    match new_node(value)? {
        NewNode::Scalar(n) => s.push(&n),
        NewNode::Map(n) => s.push(&n),
        NewNode::Seq(n) => s.push(&n),
        NewNode::Node(n) => s.push(&n),
    }
    Some(())
}

fn is_block(raw: &str) -> bool {
    raw.starts_with('|') || raw.starts_with('>')
}

/// The new text of a scalar: the old text rewritten in place where the edit allows it,
/// else the new value in the old quoting style, else double-quoted.
fn scalar_text(old: &str, value: &str, raw: &RawEdit, style: Style, flow: bool) -> Option<String> {
    if style == Style::Quote {
        return double_quoted(value);
    }
    // The editor keeps a block scalar's trailing line breaks outside the new text.
    let body = if is_block(old) { old.trim_end() } else { old };
    if let Some(text) = rewrite_raw(body, raw) {
        return Some(text);
    }
    if old.starts_with('\'') && !value.contains('\n') {
        return Some(format!("'{}'", value.replace('\'', "''")));
    }
    if !old.starts_with('"') && !is_block(old) && plain_ok(value, flow) {
        return Some(value.to_string());
    }
    double_quoted(value)
}

/// JSON's string syntax is a subset of YAML's double-quoted style.
fn double_quoted(value: &str) -> Option<String> {
    serde_json::to_string(value).ok()
}

/// `value` reads back as the same string when written without quotes here.
fn plain_ok(value: &str, flow: bool) -> bool {
    if value.is_empty() || value.contains('\n') || value.trim() != value {
        return false;
    }
    let probe = if flow {
        format!("[{value}]")
    } else {
        format!("- {value}\n")
    };
    matches!(
        serde_yaml_ng::from_str::<Value>(&probe),
        Ok(Value::Sequence(items)) if items.len() == 1 && items[0].as_str() == Some(value)
    )
}

/// Whitespace the editor leaves behind: blank lines before the first key when the first
/// key went, trailing blanks on new lines (`key: ` for a null), a lost final newline.
fn tidy(original: &str, edited: &str) -> String {
    let mut text = edited;
    if !original.starts_with(['\n', '\r']) {
        text = text.trim_start_matches(['\n', '\r']);
    }
    let old_lines: std::collections::HashSet<&str> = original.lines().collect();
    let mut out = String::with_capacity(text.len() + 1);
    for line in text.split_inclusive('\n') {
        let body = line.trim_end_matches(['\n', '\r']);
        if body != body.trim_end() && !old_lines.contains(body) {
            out.push_str(body.trim_end());
        } else {
            out.push_str(body);
        }
        out.push_str(&line[body.len()..]);
    }
    if original.ends_with('\n') && !out.ends_with('\n') {
        out.push_str(if original.ends_with("\r\n") {
            "\r\n"
        } else {
            "\n"
        });
    }
    out
}

/// A new top-level key (`volumes:`) gets a blank line before it where the author
/// separates the top-level sections that way.
fn space_new_sections(original: &str, text: &str, ops: &[Op]) -> String {
    let spaced = original
        .lines()
        .collect::<Vec<_>>()
        .windows(2)
        .any(|w| w[0].trim().is_empty() && starts_top_key(w[1]));
    if !spaced {
        return text.to_string();
    }
    let new_keys: Vec<&str> = ops
        .iter()
        .filter_map(|op| match op {
            Op::Set { at, key, .. } if at.is_empty() => Some(key.as_str()),
            _ => None,
        })
        .filter(|k| !original.lines().any(|l| l.starts_with(&format!("{k}:"))))
        .collect();
    let mut out: Vec<&str> = Vec::new();
    for line in text.split_inclusive('\n') {
        let is_new = new_keys.iter().any(|k| line.starts_with(&format!("{k}:")));
        if is_new && out.last().is_some_and(|prev| !prev.trim().is_empty()) {
            out.push("\n");
        }
        out.push(line);
    }
    out.concat()
}

fn starts_top_key(line: &str) -> bool {
    line.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_') && line.contains(':')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mutate::edit::child as at;

    fn file(text: &str) -> ComposeFile {
        ComposeFile::parse("t.yml", text, 1).unwrap()
    }

    fn svc(name: &str) -> Vec<Seg> {
        vec![Seg::key("services"), Seg::key(name)]
    }

    #[test]
    fn scalars_keep_their_quoting() {
        let f = file(
            "services:\n  a:\n    image: 'x'   # pinned\n    ports: [\"80:80\", 81]\n    command: run\n",
        );
        let ops = vec![
            Op::SetStr {
                at: at(&svc("a"), Seg::key("image")),
                value: "it's".into(),
                raw: RawEdit::Render,
            },
            Op::SetStr {
                at: at(&at(&svc("a"), Seg::key("ports")), Seg::Index(0)),
                value: "127.0.0.1::80".into(),
                raw: RawEdit::Render,
            },
            Op::SetStr {
                at: at(&at(&svc("a"), Seg::key("ports")), Seg::Index(1)),
                value: "127.0.0.1::81".into(),
                raw: RawEdit::Render,
            },
            Op::SetStr {
                at: at(&svc("a"), Seg::key("command")),
                value: "a: b".into(),
                raw: RawEdit::Render,
            },
        ];
        let r = render(&f, &ops).unwrap();
        assert_eq!(r.how, Rendering::Lossless);
        assert_eq!(
            r.text,
            "services:\n  a:\n    image: 'it''s'   # pinned\n    ports: [\"127.0.0.1::80\", 127.0.0.1::81]\n    command: \"a: b\"\n"
        );
    }

    #[test]
    fn block_scalars_are_rewritten_in_place() {
        let f = file(
            "services:\n  a:\n    command: |\n      echo $HOME\n      run\n\n  b:\n    image: x\n",
        );
        let ops = vec![Op::SetStr {
            at: at(&svc("a"), Seg::key("command")),
            value: "echo ${HOME:-}\nrun\n".into(),
            raw: RawEdit::EnvDefault,
        }];
        let r = render(&f, &ops).unwrap();
        assert_eq!(r.how, Rendering::Lossless);
        assert_eq!(
            r.text,
            "services:\n  a:\n    command: |\n      echo ${HOME:-}\n      run\n\n  b:\n    image: x\n"
        );
    }

    #[test]
    fn a_wrong_lossless_edit_falls_back_to_the_tree() {
        // The raw rewrite claims a value the planner did not intend: the check catches it.
        let f = file("# c\nservices:\n  a:\n    image: x\n");
        let ops = vec![Op::SetStr {
            at: at(&svc("a"), Seg::key("image")),
            value: "y".into(),
            raw: RawEdit::Replace(vec![("x".into(), "z".into())]),
        }];
        let r = render(&f, &ops).unwrap();
        assert_eq!(r.how, Rendering::Requoted);
        assert_eq!(r.text, "# c\nservices:\n  a:\n    image: \"y\"\n");
    }

    #[test]
    fn null_values_are_written_bare() {
        let f = file("services:\n  a:\n    image: x\nvolumes:\n  v1:\n");
        let ops = vec![Op::Set {
            at: vec![Seg::key("volumes")],
            key: "v2".into(),
            value: Value::Null,
        }];
        let r = render(&f, &ops).unwrap();
        assert_eq!(
            r.text,
            "services:\n  a:\n    image: x\nvolumes:\n  v1:\n  v2:\n"
        );
    }

    #[test]
    fn a_new_section_is_spaced_like_the_others() {
        let f = file("services:\n  a:\n    image: x\n\nnetworks:\n  n: {}\n");
        let mut m = serde_yaml_ng::Mapping::new();
        m.insert("v".into(), Value::Null);
        let op = Op::Set {
            at: vec![],
            key: "volumes".into(),
            value: Value::Mapping(m),
        };
        let r = render(&f, &[op]).unwrap();
        assert_eq!(
            r.text,
            "services:\n  a:\n    image: x\n\nnetworks:\n  n: {}\n\nvolumes:\n  v:\n"
        );
    }

    #[test]
    fn crlf_line_endings_stay() {
        let f = file(
            "services:\r\n  a:\r\n    image: x\r\n    container_name: y\r\n    ports:\r\n      - \"80:80\"\r\n",
        );
        let ops = vec![
            Op::Remove {
                at: at(&svc("a"), Seg::key("container_name")),
            },
            Op::SetStr {
                at: at(&at(&svc("a"), Seg::key("ports")), Seg::Index(0)),
                value: "127.0.0.1::80".into(),
                raw: RawEdit::Render,
            },
        ];
        let r = render(&f, &ops).unwrap();
        assert_eq!(r.how, Rendering::Lossless);
        assert_eq!(
            r.text,
            "services:\r\n  a:\r\n    image: x\r\n    ports:\r\n      - \"127.0.0.1::80\"\r\n"
        );
    }

    #[test]
    fn the_first_key_goes_without_leaving_a_blank_line() {
        let f = file("version: '3.8'\n\nservices:\n  a:\n    image: x\n");
        let r = render(
            &f,
            &[Op::Remove {
                at: vec![Seg::key("version")],
            }],
        )
        .unwrap();
        assert_eq!(r.text, "services:\n  a:\n    image: x\n");
    }
}
