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

/// A single fenced block the harness reads: the ```yaml candidate config, or the
/// protocol block.
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

/// The info-string language of the protocol block: YAML inside, named so the config's
/// ```yaml search never takes it (and editors show it as what it is).
pub(crate) const PROTOCOL_LANG: &str = "harness-protocol";

/// Finds THE config block. Only fences at column 0 count: an indented
/// ```yaml is an example nested in a list or quote, and its content would
/// carry the indentation anyway.
pub(crate) fn config_block(
    path: &Path,
    lines: &[Line<'_>],
    fences: &Fences,
) -> Result<ConfigBlock, TaskError> {
    let is_yaml = |f: &Fence| f.lang == "yaml" || f.lang == "yml";
    match single(lines, fences, is_yaml) {
        Single::None => Err(TaskError::NoConfigBlock {
            path: path.to_path_buf(),
            indented: fences
                .fences
                .iter()
                .find(|f| is_yaml(f))
                .map(|f| f.open + 1),
        }),
        Single::Two { first, second } => Err(TaskError::DuplicateConfigBlock {
            path: path.to_path_buf(),
            line: second,
            first_line: first,
        }),
        Single::One(block) => Ok(block),
    }
}

/// The ```harness-protocol block, if the task declares one; at most one may.
pub(crate) fn protocol_block(
    path: &Path,
    lines: &[Line<'_>],
    fences: &Fences,
) -> Result<Option<ConfigBlock>, TaskError> {
    match single(lines, fences, |f| f.lang == PROTOCOL_LANG) {
        Single::None => Ok(None),
        Single::Two { first, second } => Err(TaskError::DuplicateProtocolBlock {
            path: path.to_path_buf(),
            line: second,
            first_line: first,
        }),
        Single::One(block) => Ok(Some(block)),
    }
}

/// How many column-0 fences of one language a prompt has; lines are 1-based.
enum Single {
    None,
    One(ConfigBlock),
    Two { first: usize, second: usize },
}

fn single(lines: &[Line<'_>], fences: &Fences, lang: impl Fn(&Fence) -> bool) -> Single {
    let mut candidates = fences
        .fences
        .iter()
        .filter(|f| lang(f))
        .filter(|f| f.indent == 0);
    let Some(first) = candidates.next() else {
        return Single::None;
    };
    if let Some(second) = candidates.next() {
        return Single::Two {
            first: first.open + 1,
            second: second.open + 1,
        };
    }
    let open = &lines[first.open];
    Single::One(ConfigBlock {
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
