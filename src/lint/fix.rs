//! `lint --fix`: what a fix is (minimal edits of the author's bytes) and the text ranges
//! a fix may touch. The planner that makes fixes from the mutation catalog lives in
//! [`crate::fix`], so lint and mutate do not import each other.

use std::collections::BTreeMap;
use std::ops::Range;

use serde::Serialize;

/// One replacement in a text: bytes `start..end` become `text`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Edit {
    pub start: usize,
    pub end: usize,
    pub text: String,
}

/// The fix of one finding: the edits of the file that belong to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Fix {
    pub mutation: &'static str,
    pub description: String,
    pub edits: Vec<Edit>,
}

/// A fix that was not made, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Skipped {
    pub mutation: &'static str,
    pub reason: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FixPlan {
    /// The fixed text (the original when nothing could be fixed).
    pub text: String,
    /// The mutations made, with their reasons, in order.
    pub applied: Vec<(&'static str, String)>,
    pub skipped: Vec<Skipped>,
    /// Every edit, on the original bytes, in order; nothing outside them changed.
    pub edits: Vec<Edit>,
    /// By finding fingerprint: the edits that fix it.
    pub fixes: BTreeMap<String, Fix>,
    /// The byte ranges of the original text the fixes were allowed to touch.
    pub allowed: Vec<Range<usize>>,
}

impl FixPlan {
    pub fn changed(&self) -> bool {
        !self.edits.is_empty()
    }
}

/// An entry's span grown to whole lines, and over the blank lines after it (removing a
/// key removes the blank line that set it apart).
pub fn widen(text: &str, span: Range<usize>) -> Range<usize> {
    let start = text[..span.start.min(text.len())]
        .rfind('\n')
        .map_or(0, |i| i + 1);
    let mut end = span.end.min(text.len());
    if end > 0 && text.as_bytes()[end - 1] != b'\n' {
        end = text[end..].find('\n').map_or(text.len(), |i| end + i + 1);
    }
    while end < text.len() {
        let next = text[end..].find('\n').map_or(text.len(), |i| end + i + 1);
        if text[end..next].trim().is_empty() {
            end = next;
        } else {
            break;
        }
    }
    start..end
}

/// Overlapping or touching ranges joined: one diff hunk may cover two neighbouring sites.
pub(crate) fn union(mut ranges: Vec<Range<usize>>) -> Vec<Range<usize>> {
    ranges.sort_by_key(|r| (r.start, r.end));
    let mut out: Vec<Range<usize>> = Vec::new();
    for r in ranges {
        match out.last_mut() {
            Some(last) if r.start <= last.end => last.end = last.end.max(r.end),
            _ => out.push(r),
        }
    }
    out
}

/// Whether the edit lies wholly inside one of `sites`.
pub fn inside(e: &Edit, sites: &[Range<usize>]) -> bool {
    sites.iter().any(|s| s.start <= e.start && e.end <= s.end)
}

/// The line-level differences of two texts as replacements on the first.
pub fn edits(old: &str, new: &str) -> Vec<Edit> {
    let diff = similar::TextDiff::from_lines(old, new);
    let old_lines = line_starts(old);
    let new_lines = line_starts(new);
    let mut out = Vec::new();
    for op in diff.ops() {
        if op.tag() == similar::DiffTag::Equal {
            continue;
        }
        let (o, n) = (op.old_range(), op.new_range());
        out.push(Edit {
            start: old_lines[o.start],
            end: old_lines[o.end],
            text: new[new_lines[n.start]..new_lines[n.end]].to_string(),
        });
    }
    out
}

/// Byte offset of every line start, and the text's length as the end of the last line.
fn line_starts(text: &str) -> Vec<usize> {
    let mut starts = vec![0];
    starts.extend(
        text.match_indices('\n')
            .map(|(i, _)| i + 1)
            .filter(|&i| i < text.len()),
    );
    starts.push(text.len());
    starts
}

/// `text` with `edits` (sorted, not overlapping) made.
pub fn apply_edits(text: &str, edits: &[Edit]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for e in edits {
        out.push_str(&text[at..e.start]);
        out.push_str(&e.text);
        at = e.end;
    }
    out.push_str(&text[at..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widen_takes_whole_lines_and_trailing_blank_lines() {
        let t = "a: 1\nb: 2\n\n\nc: 3\n";
        assert_eq!(&t[widen(t, 5..9)], "b: 2\n\n\n");
        assert_eq!(&t[widen(t, 0..4)], "a: 1\n");
    }
}
