//! The `- **Label**: value` lines of the metrics section.

use std::ops::Range;
use std::path::Path;

use super::error::TaskError;
use super::lines::Line;

/// Run metrics as currently written in the prompt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Metrics {
    pub successes: u64,
    pub failures: u64,
    /// The Last Updated value as written (trimmed); the format is the caller's.
    pub last_updated: String,
    /// `None` for the seed's placeholders (`None - first execution`, `TBD`,
    /// `[...]`, empty); any other value verbatim, even if it is not a UUID,
    /// so callers can report a bogus one instead of silently ignoring it.
    pub last_uuid: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Field {
    Ratio,
    LastUpdated,
    LastUuid,
    EvolutionHistory,
    ExecutionUuid,
}

impl Field {
    pub fn label(self) -> &'static str {
        match self {
            Field::Ratio => "Success/Failure Ratio",
            Field::LastUpdated => "Last Updated",
            Field::LastUuid => "Last UUID",
            Field::EvolutionHistory => "Evolution History",
            Field::ExecutionUuid => "Execution UUID",
        }
    }

    pub fn expected(self) -> &'static str {
        match self {
            Field::Ratio => "- **Success/Failure Ratio**: 0:0 (Target: 10:1 to graduate)",
            Field::LastUpdated => "- **Last Updated**: 2025-07-08 18:41:00",
            Field::LastUuid => "- **Last UUID**: `None - first execution`",
            Field::EvolutionHistory => "- **Evolution History**: (followed by the table)",
            Field::ExecutionUuid => "**Execution UUID**: `[GENERATE WITH uuid.uuid4()]`",
        }
    }
}

/// Where a value is (re)written: `before` and `after` supply markup the line
/// lacks (a space after the colon, backticks around a UUID).
#[derive(Debug, Clone)]
pub(crate) struct Slot {
    pub range: Range<usize>,
    pub before: &'static str,
    pub after: &'static str,
}

impl Slot {
    pub fn render(&self, value: &str) -> String {
        format!("{}{value}{}", self.before, self.after)
    }
}

/// Byte locations of everything `record_run` rewrites in the metrics section.
#[derive(Debug, Clone)]
pub(crate) struct MetricsLayout {
    /// The `S:F` numbers only; the text around them is kept.
    pub ratio: Range<usize>,
    pub last_updated: Slot,
    pub last_uuid: Slot,
    /// Optional: older prompts may not have the line.
    pub execution_uuid: Option<Slot>,
    /// Index of the `**Evolution History**` line; the table follows it.
    pub history_line: usize,
}

/// A field line and the text after its label.
struct Found<'a> {
    line: Line<'a>,
    /// Absolute byte offset of `rest`.
    rest_start: usize,
    rest: &'a str,
}

pub(crate) fn parse(
    path: &Path,
    lines: &[Line<'_>],
    fenced: &[bool],
) -> Result<(Metrics, MetricsLayout), TaskError> {
    let require = |field| {
        find(lines, fenced, field).ok_or_else(|| TaskError::MissingField {
            path: path.to_path_buf(),
            field: field.label(),
            expected: field.expected(),
        })
    };
    let ratio_line = require(Field::Ratio)?;
    let updated_line = require(Field::LastUpdated)?;
    let uuid_line = require(Field::LastUuid)?;
    let history_line = require(Field::EvolutionHistory)?;

    let (successes, failures, ratio) =
        parse_ratio(&ratio_line).ok_or_else(|| TaskError::MalformedField {
            path: path.to_path_buf(),
            line: ratio_line.line.number(),
            field: Field::Ratio.label(),
            expected: Field::Ratio.expected(),
            found: ratio_line.line.content.trim().to_string(),
        })?;
    let (last_updated, updated_slot) = plain_value(&updated_line);
    let (last_uuid, uuid_slot) = code_value(&uuid_line);
    let execution_uuid = find(lines, fenced, Field::ExecutionUuid).map(|f| code_value(&f).1);

    let metrics = Metrics {
        successes,
        failures,
        last_updated: last_updated.to_string(),
        last_uuid: (!is_placeholder(last_uuid)).then(|| last_uuid.to_string()),
    };
    let layout = MetricsLayout {
        ratio,
        last_updated: updated_slot,
        last_uuid: uuid_slot,
        execution_uuid,
        history_line: history_line.line.index,
    };
    Ok((metrics, layout))
}

/// First unfenced line carrying the field's label. Later duplicates (e.g. in
/// prose further down) are left alone: the metrics section comes first.
fn find<'a>(lines: &[Line<'a>], fenced: &[bool], field: Field) -> Option<Found<'a>> {
    lines
        .iter()
        .filter(|l| !fenced.get(l.index).copied().unwrap_or(false))
        .find_map(|l| {
            let offset = after_label(l.content, field.label())?;
            Some(Found {
                line: *l,
                rest_start: l.start + offset,
                rest: &l.content[offset..],
            })
        })
}

/// Offset just past `**Label**:` (or `**Label:**`), allowing indentation and a
/// list marker before it; labels match ASCII-case-insensitively.
fn after_label(content: &str, label: &str) -> Option<usize> {
    let mut s = content.trim_start_matches([' ', '\t']);
    if let Some(rest) = s.strip_prefix(['-', '*', '+'])
        && rest.starts_with([' ', '\t'])
    {
        s = rest.trim_start_matches([' ', '\t']);
    }
    let consumed = content.len() - s.len();
    [format!("**{label}**:"), format!("**{label}:**")]
        .iter()
        .find(|pat| {
            s.get(..pat.len())
                .is_some_and(|p| p.eq_ignore_ascii_case(pat))
        })
        .map(|pat| consumed + pat.len())
}

/// `S:F` at the start of the value (spaces around the colon allowed).
fn parse_ratio(found: &Found<'_>) -> Option<(u64, u64, Range<usize>)> {
    let rest = found.rest;
    let start = leading_ws(rest);
    let (successes, mut pos) = number(rest, start)?;
    pos += leading_ws(&rest[pos..]);
    pos += rest[pos..].strip_prefix(':').map(|_| 1)?;
    pos += leading_ws(&rest[pos..]);
    let (failures, end) = number(rest, pos)?;
    let base = found.rest_start;
    Some((successes, failures, base + start..base + end))
}

fn number(s: &str, start: usize) -> Option<(u64, usize)> {
    let digits = s[start..].len()
        - s[start..]
            .trim_start_matches(|c: char| c.is_ascii_digit())
            .len();
    let end = start + digits;
    Some((s[start..end].parse().ok()?, end))
}

/// The rest of the line, e.g. a timestamp.
fn plain_value<'a>(found: &Found<'a>) -> (&'a str, Slot) {
    let ws = leading_ws(found.rest);
    let slot = Slot {
        range: found.rest_start + ws..found.rest_start + found.rest.len(),
        before: if ws == 0 { " " } else { "" },
        after: "",
    };
    (found.rest.trim(), slot)
}

/// A value in backticks; only the inside is replaced so trailing notes stay.
/// A bare value is replaced whole and gets backticks.
fn code_value<'a>(found: &Found<'a>) -> (&'a str, Slot) {
    let ws = leading_ws(found.rest);
    let value = &found.rest[ws..];
    let start = found.rest_start + ws;
    if let Some(inner) = value.strip_prefix('`')
        && let Some(close) = inner.find('`')
    {
        let slot = Slot {
            range: start + 1..start + 1 + close,
            before: "",
            after: "",
        };
        return (inner[..close].trim(), slot);
    }
    let slot = Slot {
        range: start..start + value.len(),
        before: if ws == 0 { " `" } else { "`" },
        after: "`",
    };
    (value.trim().trim_matches('`').trim(), slot)
}

fn is_placeholder(value: &str) -> bool {
    let v = value.to_ascii_lowercase();
    v.is_empty() || v.starts_with("none") || v == "tbd" || v.starts_with('[')
}

fn leading_ws(s: &str) -> usize {
    s.len() - s.trim_start_matches([' ', '\t']).len()
}

#[cfg(test)]
mod tests {
    use super::super::lines::split;
    use super::*;

    fn found(text: &str, field: Field) -> Option<Found<'_>> {
        let lines = split(text);
        let fenced = vec![false; lines.len()];
        find(&lines, &fenced, field)
    }

    #[test]
    fn labels_match_with_markers_and_case() {
        assert_eq!(after_label("- **Last UUID**: `x`", "Last UUID"), Some(16));
        assert_eq!(after_label("  * **last uuid:** x", "Last UUID"), Some(18));
        assert_eq!(after_label("**Last UUID**:", "Last UUID"), Some(14));
        assert_eq!(after_label("-**Last UUID**: x", "Last UUID"), None);
        assert_eq!(after_label("See **Last UUID**: x", "Last UUID"), None);
    }

    #[test]
    fn ratio_span_covers_only_numbers() {
        let text = "- **Success/Failure Ratio**: 12 : 3 (Target: 10:1 to graduate)";
        let f = found(text, Field::Ratio).expect("found");
        let (s, fl, range) = parse_ratio(&f).expect("ratio");
        assert_eq!((s, fl, &text[range]), (12, 3, "12 : 3"));
    }

    #[test]
    fn ratio_rejects_garbage_and_overflow() {
        for text in [
            "- **Success/Failure Ratio**: TBD",
            "- **Success/Failure Ratio**: 1:",
            "- **Success/Failure Ratio**: 99999999999999999999:1",
        ] {
            let f = found(text, Field::Ratio).expect("found");
            assert!(parse_ratio(&f).is_none(), "{text}");
        }
    }

    #[test]
    fn code_value_keeps_trailing_note() {
        let text = "- **Last UUID**: `abc` (see runs/)";
        let f = found(text, Field::LastUuid).expect("found");
        let (v, slot) = code_value(&f);
        assert_eq!((v, &text[slot.range.clone()]), ("abc", "abc"));
        let bare = "- **Last UUID**:abc";
        let f = found(bare, Field::LastUuid).expect("found");
        let (v, slot) = code_value(&f);
        assert_eq!(
            (v, &bare[slot.range.clone()], slot.render("u")),
            ("abc", "abc", " `u`".into())
        );
    }

    #[test]
    fn placeholders() {
        for p in [
            "None - first execution",
            "",
            "TBD",
            "[GENERATE WITH uuid.uuid4()]",
        ] {
            assert!(is_placeholder(p), "{p}");
        }
        assert!(!is_placeholder("0b7f2c1e-0000-4000-9000-000000000000"));
    }
}
