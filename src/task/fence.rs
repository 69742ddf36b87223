//! Fenced code blocks (CommonMark rules, minus container blocks). Needed both
//! to find the config and so that example text inside any fence is never
//! mistaken for a metrics line or a table row.

use std::ops::Range;
use std::path::Path;

use super::error::TaskError;
use super::lines::Line;

#[derive(Debug, Clone)]
pub(crate) struct Fence {
    pub open: usize,
    pub close: usize,
    /// Leading spaces of the opening line (0..=3).
    pub indent: usize,
    pub marker: char,
    pub len: usize,
    /// First word of the info string, lower-cased (`yaml`, `bash`, ...).
    pub lang: String,
}

/// Result of scanning: the fences and, per line, whether it belongs to one
/// (fence lines included).
#[derive(Debug)]
pub(crate) struct Fences {
    pub fences: Vec<Fence>,
    pub fenced: Vec<bool>,
}

/// The single ```yaml block holding the candidate config.
#[derive(Debug, Clone)]
pub(crate) struct ConfigBlock {
    /// Byte range of the content between the fence lines.
    pub content: Range<usize>,
    /// 1-based line of the first content line.
    pub first_line: usize,
    /// Terminator of the opening fence line; reused for rewritten content.
    pub eol: String,
    pub marker: char,
    pub len: usize,
}

struct Opener<'a> {
    indent: usize,
    marker: char,
    len: usize,
    info: &'a str,
}

pub(crate) fn scan(path: &Path, lines: &[Line<'_>]) -> Result<Fences, TaskError> {
    let mut fences = Vec::new();
    let mut fenced = vec![false; lines.len()];
    let mut i = 0;
    while i < lines.len() {
        let Some(open) = opener(lines[i].content) else {
            i += 1;
            continue;
        };
        let close = lines[i + 1..]
            .iter()
            .find(|l| closes(l.content, open.marker, open.len))
            .map(|l| l.index)
            .ok_or_else(|| TaskError::UnterminatedFence {
                path: path.to_path_buf(),
                line: lines[i].number(),
                opener: lines[i].content.trim().to_string(),
                closer: open.marker.to_string().repeat(open.len),
            })?;
        fenced[i..=close].iter_mut().for_each(|f| *f = true);
        fences.push(Fence {
            open: i,
            close,
            indent: open.indent,
            marker: open.marker,
            len: open.len,
            lang: open
                .info
                .split_whitespace()
                .next()
                .unwrap_or("")
                .to_ascii_lowercase(),
        });
        i = close + 1;
    }
    Ok(Fences { fences, fenced })
}

/// Finds THE config block. Only fences at column 0 count: an indented
/// ```yaml is an example nested in a list or quote, and its content would
/// carry the indentation anyway.
pub(crate) fn config_block(
    path: &Path,
    lines: &[Line<'_>],
    fences: &Fences,
) -> Result<ConfigBlock, TaskError> {
    let is_yaml = |f: &&Fence| f.lang == "yaml" || f.lang == "yml";
    let mut candidates = fences
        .fences
        .iter()
        .filter(is_yaml)
        .filter(|f| f.indent == 0);
    let Some(first) = candidates.next() else {
        let indented = fences.fences.iter().find(is_yaml).map(|f| f.open + 1);
        return Err(TaskError::NoConfigBlock {
            path: path.to_path_buf(),
            indented,
        });
    };
    if let Some(second) = candidates.next() {
        return Err(TaskError::DuplicateConfigBlock {
            path: path.to_path_buf(),
            line: second.open + 1,
            first_line: first.open + 1,
        });
    }
    let open = &lines[first.open];
    Ok(ConfigBlock {
        content: open.content_end() + open.eol.len()..lines[first.close].start,
        first_line: first.open + 2,
        eol: open.eol.to_string(),
        marker: first.marker,
        len: first.len,
    })
}

fn opener(content: &str) -> Option<Opener<'_>> {
    let indent = leading_spaces(content)?;
    let rest = &content[indent..];
    let marker = rest.chars().next().filter(|c| *c == '`' || *c == '~')?;
    let len = rest.len() - rest.trim_start_matches(marker).len();
    if len < 3 {
        return None;
    }
    let info = rest[len..].trim();
    // A backtick run followed by more backticks on the line is inline code.
    if marker == '`' && info.contains('`') {
        return None;
    }
    Some(Opener {
        indent,
        marker,
        len,
        info,
    })
}

/// Whether `content` closes a fence opened with `len` × `marker`.
pub(crate) fn closes(content: &str, marker: char, len: usize) -> bool {
    let Some(indent) = leading_spaces(content) else {
        return false;
    };
    let rest = &content[indent..];
    let after = rest.trim_start_matches(marker);
    rest.len() - after.len() >= len && after.trim_matches([' ', '\t']).is_empty()
}

/// Up to three leading spaces; `None` if the line is indented further (or by a
/// tab), which makes it an indented code line rather than a fence.
fn leading_spaces(content: &str) -> Option<usize> {
    let n = content.len() - content.trim_start_matches(' ').len();
    (n <= 3 && !content[n..].starts_with('\t')).then_some(n)
}

#[cfg(test)]
mod tests {
    use super::super::lines::split;
    use super::*;

    fn scan_str(text: &str) -> Result<Fences, TaskError> {
        scan(Path::new("t.md"), &split(text))
    }

    #[test]
    fn recognises_openers() {
        assert!(opener("```yaml").is_some());
        assert!(opener("   ~~~~ yml extra").is_some());
        assert!(opener("    ```yaml").is_none());
        assert!(opener("\t```yaml").is_none());
        assert!(opener("``yaml").is_none());
        assert!(opener("```yaml``` inline").is_none());
        assert_eq!(
            opener("````YAML title").map(|o| (o.len, o.info)),
            Some((4, "YAML title"))
        );
    }

    #[test]
    fn closing_needs_same_marker_and_length() {
        assert!(closes("```", '`', 3));
        assert!(closes("  ````  ", '`', 3));
        assert!(!closes("```", '`', 4));
        assert!(!closes("~~~", '`', 3));
        assert!(!closes("``` x", '`', 3));
        assert!(!closes("    ```", '`', 3));
    }

    #[test]
    fn nested_shorter_fence_is_content() {
        let f = scan_str("````md\n```yaml\n```\n````\n").expect("scan");
        assert_eq!(f.fences.len(), 1);
        assert_eq!(f.fences[0].lang, "md");
        assert_eq!(f.fenced, [true, true, true, true]);
    }

    #[test]
    fn unterminated_names_opening_line() {
        let err = scan_str("x\n~~~bash\nls\n").expect_err("unterminated");
        assert!(
            matches!(err, TaskError::UnterminatedFence { line: 2, .. }),
            "{err}"
        );
        assert!(err.to_string().contains("add a line `~~~`"), "{err}");
    }
}
