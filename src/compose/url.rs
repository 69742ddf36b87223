//! Finding `scheme://authority` in an environment value: secrets in URLs (lint and the
//! catalog's secret fixes) and loopback hosts (the catalog's service-host fix) are both
//! read from here.

use std::ops::Range;

/// Where one URL's scheme and authority sit in the value.
pub struct Span {
    pub scheme: Range<usize>,
    pub authority: Range<usize>,
}

/// Every `scheme://` URL in `s` whose scheme starts with a letter; `authority_len` says
/// where its authority ends (the readers differ on `${...}` inside one).
pub fn spans(s: &str, authority_len: fn(&str) -> usize) -> Vec<Span> {
    let mut out = Vec::new();
    let mut from = 0;
    // Each turn moves `from` past the `://` it found, so this ends.
    while let Some(rel) = s[from..].find("://") {
        let at = from + rel;
        let start = s[..at]
            .char_indices()
            .rev()
            .take_while(|(_, c)| c.is_ascii_alphanumeric() || matches!(c, '+' | '.' | '-'))
            .last()
            .map(|(i, _)| i)
            .unwrap_or(at);
        let rest = &s[at + 3..];
        let end = authority_len(rest);
        if s[start..at].starts_with(|c: char| c.is_ascii_alphabetic()) {
            out.push(Span {
                scheme: start..at,
                authority: at + 3..at + 3 + end,
            });
        }
        from = at + 3;
    }
    out
}

/// Length of the authority at the start of `rest`: up to a path, query, fragment, list
/// separator, quote or space.
pub fn plain_authority_len(rest: &str) -> usize {
    rest.find(|c: char| matches!(c, '/' | '?' | '#' | ',' | ';' | '"' | '\'') || c.is_whitespace())
        .unwrap_or(rest.len())
}

/// Length of the authority at the start of `rest`; a `${...}` inside it (a password from
/// a variable) is part of it, and a `}` outside one ends it (the URL was a default).
pub fn authority_len_with_vars(rest: &str) -> usize {
    let mut depth = 0usize;
    let mut prev = '\0';
    for (i, c) in rest.char_indices() {
        match c {
            '{' if prev == '$' => depth += 1,
            '}' if depth > 0 => depth -= 1,
            '/' | '?' | '#' | '}' | '"' | '\'' | ',' | ';' if depth == 0 => return i,
            c if c.is_whitespace() => return i,
            _ => {}
        }
        prev = c;
    }
    rest.len()
}
