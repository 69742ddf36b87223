//! Where a finding's node sits in the author's bytes: line, column and byte span, read
//! from a lossless (span-keeping) parse of the same text the rules saw as a tree.
//!
//! A path that runs through an alias or a `<<:` merge key has no text of its own at the
//! end; the nearest ancestor that has is reported instead, so every finding of a file that
//! parses gets a line.

use std::ops::Range;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::str::FromStr;

use yaml_edit::{Mapping, Sequence, YamlFile, YamlNode};

use super::path::{Path, Seg};

/// A finding's place in the text. Lines and columns are 1-based; the column counts
/// Unicode code points (SARIF's `unicodeCodePoints`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Loc {
    pub line: usize,
    pub column: usize,
    /// The bytes of the whole entry (`key: value` for a mapping entry, the item for a
    /// sequence item) in the located text: what a fix for this finding may touch.
    pub span: Range<usize>,
    /// The path was found all the way down (not an ancestor standing in for it).
    pub exact: bool,
}

pub(crate) struct Locator<'t> {
    text: &'t str,
    root: Option<Mapping>,
    /// Byte offset of each line start.
    lines: Vec<usize>,
}

/// Line and column of the mapping entry at `keys` (`["services", "api"]`) in `text`.
pub(crate) fn key_position(text: &str, keys: &[&str]) -> Option<(usize, usize)> {
    let path = keys.iter().fold(Path::root(), |p, k| p.key(k));
    let loc = Locator::new(text).locate(&path)?;
    loc.exact.then_some((loc.line, loc.column))
}

#[derive(Clone)]
enum Node {
    Map(Mapping),
    Seq(Sequence),
    Leaf,
}

impl<'t> Locator<'t> {
    pub(crate) fn new(text: &'t str) -> Locator<'t> {
        // The editor is a third-party parser fed arbitrary files: a panic in it costs the
        // line numbers, never the lint.
        let root = catch_unwind(AssertUnwindSafe(|| {
            YamlFile::from_str(text)
                .ok()
                .and_then(|f| f.document())
                .and_then(|d| d.as_mapping())
        }))
        .ok()
        .flatten();
        let mut lines = vec![0];
        lines.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Locator { text, root, lines }
    }

    /// Whether the text could be read with positions at all.
    pub(crate) fn parsed(&self) -> bool {
        self.root.is_some()
    }

    /// The text of the node at exactly `path` (a mapping value or a sequence item).
    pub(crate) fn raw(&self, path: &Path) -> Option<&'t str> {
        let loc = self.locate(path).filter(|l| l.exact)?;
        let entry = self.text.get(loc.span)?;
        // A mapping entry's text starts with its key; the value follows the colon.
        match path.segs().last() {
            Some(Seg::Index(_)) => Some(entry),
            _ => entry.split_once(':').map(|(_, v)| v.trim_start()),
        }
    }

    /// The location of `path`, or of its nearest ancestor with text of its own.
    pub(crate) fn locate(&self, path: &Path) -> Option<Loc> {
        let root = self.root.clone()?;
        catch_unwind(AssertUnwindSafe(|| self.walk(root, path)))
            .ok()
            .flatten()
    }

    fn walk(&self, root: Mapping, path: &Path) -> Option<Loc> {
        let mut here = Node::Map(root);
        let mut best: Option<(usize, Range<usize>)> = None;
        let segs = path.segs();
        for (depth, seg) in segs.iter().enumerate() {
            let (start, span, next) = match (&here, seg) {
                (Node::Map(m), Seg::Key(k)) => {
                    let Some(entry) = m.find_entry_by_key(k.as_str()) else {
                        break;
                    };
                    let key_at = entry.key_node().map(|n| n.byte_range().start as usize);
                    let r = entry.byte_range();
                    let span = r.start as usize..r.end as usize;
                    (key_at.unwrap_or(span.start), span, entry.value_node())
                }
                (Node::Seq(s), Seg::Index(i)) => {
                    let Some(item) = s.get(*i) else {
                        break;
                    };
                    let r = item.byte_range();
                    let span = r.start as usize..r.end as usize;
                    (span.start, span, Some(item))
                }
                _ => break,
            };
            best = Some((start, span));
            let last = depth + 1 == segs.len();
            match next.as_ref().map(node_of) {
                Some(n) => here = n,
                None if last => {}
                None => break,
            }
            if last {
                let (start, span) = best?;
                return Some(self.loc(start, span, true));
            }
            if matches!(here, Node::Leaf) {
                break;
            }
        }
        let (start, span) = best?;
        Some(self.loc(start, span, false))
    }

    fn loc(&self, start: usize, span: Range<usize>, exact: bool) -> Loc {
        let start = start.min(self.text.len());
        let line_idx = self
            .lines
            .partition_point(|&s| s <= start)
            .saturating_sub(1);
        let line_start = self.lines[line_idx];
        let column = self
            .text
            .get(line_start..start)
            .map(|s| s.chars().count())
            .unwrap_or(0)
            + 1;
        Loc {
            line: line_idx + 1,
            column,
            span: span.start.min(self.text.len())..span.end.min(self.text.len()),
            exact,
        }
    }
}

fn node_of(n: &YamlNode) -> Node {
    if n.is_alias() {
        return Node::Leaf;
    }
    if let Some(m) = n.as_mapping() {
        return Node::Map(m.clone());
    }
    if let Some(s) = n.as_sequence() {
        return Node::Seq(s.clone());
    }
    if let Some(t) = n.as_tagged() {
        if let Some(m) = t.as_mapping() {
            return Node::Map(m);
        }
        if let Some(s) = t.as_sequence() {
            return Node::Seq(s);
        }
    }
    Node::Leaf
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str, path: Path) -> Option<(usize, usize, bool)> {
        Locator::new(text)
            .locate(&path)
            .map(|l| (l.line, l.column, l.exact))
    }

    fn p(keys: &[&str]) -> Path {
        keys.iter()
            .fold(Path::root(), |p, k| match k.parse::<usize>() {
                Ok(i) => p.index(i),
                Err(_) => p.key(k),
            })
    }

    const TEXT: &str = "# top\nversion: '3'\nservices:\n  api:\n    image: x\n    ports:\n      - \"7001:7000\"\n      - 9000\n    environment:\n      \"discovery.type\": single\n  web: {image: y, ports: [\"80:80\"]}\n";

    #[test]
    fn keys_items_and_quoted_keys() {
        assert_eq!(at(TEXT, p(&["version"])), Some((2, 1, true)));
        assert_eq!(at(TEXT, p(&["services", "api"])), Some((4, 3, true)));
        assert_eq!(
            at(TEXT, p(&["services", "api", "ports", "0"])),
            Some((7, 9, true))
        );
        assert_eq!(
            at(TEXT, p(&["services", "api", "ports", "1"])),
            Some((8, 9, true))
        );
        assert_eq!(
            at(
                TEXT,
                p(&["services", "api", "environment", "discovery.type"])
            ),
            Some((10, 7, true))
        );
        assert_eq!(
            at(TEXT, p(&["services", "web", "ports", "0"])),
            Some((11, 27, true))
        );
    }

    #[test]
    fn a_missing_or_merged_node_falls_back_to_its_ancestor() {
        assert_eq!(
            at(TEXT, p(&["services", "api", "healthcheck"])),
            Some((4, 3, false))
        );
        let merged = "x-b: &b\n  restart: always\nservices:\n  a:\n    <<: *b\n    image: x\n";
        assert_eq!(
            at(merged, p(&["services", "a", "restart"])),
            Some((4, 3, false))
        );
        assert_eq!(at("a: [", p(&["a"])), None);
        assert_eq!(at("", p(&["a"])), None);
    }

    #[test]
    fn the_span_is_the_whole_entry() {
        let loc = Locator::new(TEXT)
            .locate(&p(&["services", "api", "image"]))
            .unwrap();
        assert_eq!(TEXT[loc.span].trim_end(), "image: x");
    }

    #[test]
    fn columns_count_characters_not_bytes() {
        let text = "services:\n  a:\n    environment: {ÄÖ: 1, B: 2}\n";
        assert_eq!(
            at(text, p(&["services", "a", "environment", "B"])),
            Some((3, 26, true))
        );
    }
}
