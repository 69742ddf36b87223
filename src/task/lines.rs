//! Line splitting that remembers byte offsets and terminators, so edits can be
//! expressed as byte ranges and every untouched byte survives as-is.

/// One line of the document. `content` excludes the terminator.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Line<'a> {
    /// 0-based index; error messages add 1.
    pub index: usize,
    /// Byte offset of the first content byte in the whole text.
    pub start: usize,
    pub content: &'a str,
    /// `"\n"`, `"\r\n"` or `""` (last line without a newline).
    pub eol: &'a str,
}

impl Line<'_> {
    /// Byte offset just past the content (where the terminator starts).
    pub fn content_end(&self) -> usize {
        self.start + self.content.len()
    }

    /// 1-based line number for messages.
    pub fn number(&self) -> usize {
        self.index + 1
    }

    pub fn is_blank(&self) -> bool {
        self.content.trim().is_empty()
    }
}

/// Splits on `\n`, treating a preceding `\r` as part of the terminator. A lone
/// `\r` stays content: only LF and CRLF files are expected, and keeping it in
/// the content means it is preserved rather than normalised.
pub(crate) fn split(text: &str) -> Vec<Line<'_>> {
    let mut lines = Vec::new();
    let mut start = 0;
    for raw in text.split_inclusive('\n') {
        let (content, eol) = match raw.strip_suffix("\r\n") {
            Some(c) => (c, "\r\n"),
            None => match raw.strip_suffix('\n') {
                Some(c) => (c, "\n"),
                None => (raw, ""),
            },
        };
        lines.push(Line {
            index: lines.len(),
            start,
            content,
            eol,
        });
        start += raw.len();
    }
    lines
}

/// The terminator to use for new lines when there is no better local choice:
/// the first one in the file, LF for single-line files.
pub(crate) fn dominant_eol<'a>(lines: &[Line<'a>]) -> &'a str {
    lines
        .iter()
        .map(|l| l.eol)
        .find(|eol| !eol.is_empty())
        .unwrap_or("\n")
}

/// Leading spaces/tabs of a line.
pub(crate) fn indentation(content: &str) -> &str {
    let trimmed = content.trim_start_matches([' ', '\t']);
    &content[..content.len() - trimmed.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_offsets_and_terminators() {
        let text = "a\r\nbb\n\nc";
        let lines = split(text);
        let got: Vec<_> = lines.iter().map(|l| (l.start, l.content, l.eol)).collect();
        assert_eq!(
            got,
            [
                (0, "a", "\r\n"),
                (3, "bb", "\n"),
                (6, "", "\n"),
                (7, "c", "")
            ]
        );
        assert_eq!(dominant_eol(&lines), "\r\n");
    }

    #[test]
    fn empty_text_has_no_lines() {
        assert!(split("").is_empty());
        assert_eq!(dominant_eol(&split("x")), "\n");
    }
}
