//! Compose's variable interpolation, as far as mutations need it: what a value becomes
//! where no variable is set, and the same text with every reference given a default.
use crate::compose::interp::{matching_brace, name_len};

/// Nesting deeper than any real file keeps a hostile string from exhausting the stack.
const MAX_DEPTH: usize = 16;

struct Invalid;

/// `s` with every `${VAR}`, `$VAR` and `${VAR:?msg}` written `${VAR:-}`, inside defaults
/// too; `$$` and everything else as it was. `None` for a malformed `${...}`, which Compose
/// rejects anyway and no rewrite should touch.
pub(crate) fn with_defaults(s: &str) -> Option<String> {
    defaults(s, 0).ok()
}

/// The value a string has where no variable is set: defaults applied, the rest empty.
pub(crate) fn unset(s: &str) -> String {
    let mut out = String::new();
    match unset_into(s, &mut out, 0) {
        Ok(()) => out,
        // Malformed: Compose would stop; the text as written is the best guess.
        Err(Invalid) => s.to_string(),
    }
}

/// Whether `s` holds a reference that has no default.
pub(crate) fn lacks_default(s: &str) -> bool {
    s.contains('$') && with_defaults(s).is_some_and(|d| d != s)
}

/// The references in `s` that have no default, as written (`${KEY}`, `$HOME`, `${K:?x}`).
pub(crate) fn without_default(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    collect(s, &mut out, 0);
    out
}

fn collect(s: &str, out: &mut Vec<String>, depth: usize) {
    let Ok(tokens) = tokens(s) else {
        return;
    };
    if depth > MAX_DEPTH {
        return;
    }
    for t in tokens {
        let text = match t {
            Token::Bare(name) => format!("${name}"),
            Token::Braced { name, op, arg } => match op {
                "" | "?" | ":?" => format!("${{{name}{op}{arg}}}"),
                _ => {
                    collect(arg, out, depth + 1);
                    continue;
                }
            },
            Token::Text(_) | Token::Escaped => continue,
        };
        if !out.contains(&text) {
            out.push(text);
        }
    }
}

enum Token<'a> {
    Text(&'a str),
    /// `$$`.
    Escaped,
    /// `$NAME`.
    Bare(&'a str),
    /// `${NAME<op><arg>}`: op is `""`, `-`, `:-`, `?`, `:?`, `+` or `:+`.
    Braced {
        name: &'a str,
        op: &'a str,
        arg: &'a str,
    },
}

/// Splits `s` into text and references, the way Compose reads it.
fn tokens(s: &str) -> Result<Vec<Token<'_>>, Invalid> {
    let mut out = Vec::new();
    let mut rest = s;
    while let Some(at) = rest.find('$') {
        if at > 0 {
            out.push(Token::Text(&rest[..at]));
        }
        let tail = &rest[at + 1..];
        match tail.chars().next() {
            Some('$') => {
                out.push(Token::Escaped);
                rest = &tail[1..];
            }
            Some('{') => {
                let close = matching_brace(tail).ok_or(Invalid)?;
                out.push(braced(&tail[1..close])?);
                rest = &tail[close + 1..];
            }
            Some(c) if c == '_' || c.is_ascii_alphabetic() => {
                let len = name_len(tail);
                out.push(Token::Bare(&tail[..len]));
                rest = &tail[len..];
            }
            // A `$` that starts no reference stays as it is (`$(cmd)`, `$5`).
            _ => {
                out.push(Token::Text("$"));
                rest = tail;
            }
        }
    }
    if !rest.is_empty() {
        out.push(Token::Text(rest));
    }
    Ok(out)
}

fn braced(inner: &str) -> Result<Token<'_>, Invalid> {
    let len = name_len(inner);
    if len == 0 {
        return Err(Invalid);
    }
    let spec = &inner[len..];
    let colon = usize::from(spec.starts_with(':'));
    let op_len = match spec[colon..].chars().next() {
        None if colon == 0 => 0,
        Some('-' | '?' | '+') => colon + 1,
        _ => return Err(Invalid),
    };
    Ok(Token::Braced {
        name: &inner[..len],
        op: &spec[..op_len],
        arg: &spec[op_len..],
    })
}

fn defaults(s: &str, depth: usize) -> Result<String, Invalid> {
    if depth > MAX_DEPTH {
        return Err(Invalid);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for t in tokens(s)? {
        match t {
            Token::Text(text) => out.push_str(text),
            Token::Escaped => out.push_str("$$"),
            Token::Bare(name) => out.push_str(&format!("${{{name}:-}}")),
            Token::Braced { name, op, arg } => match op {
                "" | "?" | ":?" => out.push_str(&format!("${{{name}:-}}")),
                _ => out.push_str(&format!("${{{name}{op}{}}}", defaults(arg, depth + 1)?)),
            },
        }
    }
    Ok(out)
}

fn unset_into(s: &str, out: &mut String, depth: usize) -> Result<(), Invalid> {
    if depth > MAX_DEPTH {
        return Err(Invalid);
    }
    for t in tokens(s)? {
        match t {
            Token::Text(text) => out.push_str(text),
            Token::Escaped => out.push('$'),
            Token::Bare(_) => {}
            Token::Braced { op, arg, .. } => {
                if op.ends_with('-') {
                    unset_into(arg, out, depth + 1)?;
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reference_without_a_default_gets_one() {
        let d = |s: &str| with_defaults(s).unwrap();
        assert_eq!(d("${ANTHROPIC_API_KEY}"), "${ANTHROPIC_API_KEY:-}");
        assert_eq!(d("$HOME/x"), "${HOME:-}/x");
        assert_eq!(d("${K:?set K} and ${K?x}"), "${K:-} and ${K:-}");
        assert_eq!(d("${A:-${B}}"), "${A:-${B:-}}");
        assert_eq!(d("${A-1} ${A:+on $B}"), "${A-1} ${A:+on ${B:-}}");
        assert_eq!(
            d("$$HOME $(date) cost $5 end$"),
            "$$HOME $(date) cost $5 end$"
        );
        assert_eq!(d("héllo $X wörld"), "héllo ${X:-} wörld");
        assert!(with_defaults("${A").is_none());
        assert!(with_defaults("${A%x}").is_none());
        let deep = format!("{}x{}", "${A:-".repeat(100), "}".repeat(100));
        assert!(with_defaults(&deep).is_none());
    }

    #[test]
    fn unset_applies_defaults_and_empties_the_rest() {
        assert_eq!(unset("${API_EXTERNAL_PORT:-8001}:8000"), "8001:8000");
        assert_eq!(unset("${P}:8000"), ":8000");
        assert_eq!(unset("${A:-${B:-x}y}"), "xy");
        assert_eq!(unset("${A:+on}"), "");
        assert_eq!(unset("a$$b"), "a$b");
    }

    #[test]
    fn references_without_a_default_as_written() {
        assert_eq!(
            without_default("${A} $B ${C:?set C} ${D:-${E}} ${A} $$F ${G:-1}"),
            vec!["${A}", "$B", "${C:?set C}", "${E}"]
        );
    }

    #[test]
    fn lacks_default_ignores_escapes_and_defaults() {
        assert!(lacks_default("${A}"));
        assert!(lacks_default("x $A"));
        assert!(!lacks_default("${A:-}"));
        assert!(!lacks_default("$$A"));
        assert!(!lacks_default("plain"));
    }
}
