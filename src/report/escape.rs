//! Text helpers shared by both reports: HTML escaping, one-line messages, evidence summaries.

use std::fmt;

/// Displays its text HTML-escaped, safe in element content and in quoted attributes.
pub(crate) struct Esc<'a>(pub &'a str);

impl fmt::Display for Esc<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut start = 0;
        for (i, c) in self.0.char_indices() {
            let replacement = match c {
                '&' => "&amp;",
                '<' => "&lt;",
                '>' => "&gt;",
                '"' => "&quot;",
                '\'' => "&#39;",
                // Control characters other than tab, newline and CR are not allowed in
                // (X)HTML text.
                c if c.is_control() && !matches!(c, '\n' | '\t' | '\r') => "\u{fffd}",
                _ => continue,
            };
            f.write_str(&self.0[start..i])?;
            f.write_str(replacement)?;
            start = i + c.len_utf8();
        }
        f.write_str(&self.0[start..])
    }
}

pub(crate) fn esc(s: &str) -> Esc<'_> {
    Esc(s)
}

/// Whitespace runs (newlines included) collapsed to one space, cut to `max` characters.
pub(crate) fn one_line(s: &str, max: usize) -> String {
    let line = s.split_whitespace().collect::<Vec<_>>().join(" ");
    truncate_chars(&line, max)
}

/// At most `max` characters, with `…` when cut.
pub(crate) fn truncate_chars(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

/// At most `max` bytes, cut on a character boundary.
pub(crate) fn truncate_bytes(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}
