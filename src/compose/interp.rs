//! Compose's `${VAR…}` interpolation, read statically and shared by lint and the mutation
//! catalog: one lexer, then what lint asks (which variables a string refers to, what it
//! becomes where none is set) and what mutations ask (the same text with every reference
//! given a default).

/// Nesting deeper than any real file keeps a hostile string from exhausting the stack.
const MAX_DEPTH: usize = 16;

/// A malformed `${...}`: Compose rejects the whole file.
struct Invalid;

/// Index in `s` (which starts with `{`) of the brace that closes it; defaults may nest
/// further references (`${A:-${B}}`).
pub fn matching_brace(s: &str) -> Option<usize> {
    let mut depth = 0usize;
    for (i, c) in s.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

/// Length of the variable name at the start of `s` (0 when there is none).
pub fn name_len(s: &str) -> usize {
    s.char_indices()
        .find(|(i, c)| !(*c == '_' || c.is_ascii_alphabetic() || (*i > 0 && c.is_ascii_digit())))
        .map(|(i, _)| i)
        .unwrap_or(s.len())
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

/// Splits `s` into text and references, the way Compose reads it: the tokens before the
/// first malformed `${...}`, and whether there was one (lint reads a string up to it).
fn scan(s: &str) -> (Vec<Token<'_>>, Result<(), Invalid>) {
    let mut out = Vec::new();
    let mut rest = s;
    // Every turn consumes at least the `$` it found, so this ends.
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
                let Some(close) = matching_brace(tail) else {
                    return (out, Err(Invalid));
                };
                match braced(&tail[1..close]) {
                    Ok(t) => out.push(t),
                    Err(e) => return (out, Err(e)),
                }
                rest = &tail[close + 1..];
            }
            Some(c) if c == '_' || c.is_ascii_alphabetic() => {
                let len = name_len(tail);
                out.push(Token::Bare(&tail[..len]));
                rest = &tail[len..];
            }
            // Compose v2 leaves a `$` that starts no reference as it is (`$(cmd)`, `$5`);
            // only a malformed `${` is an error.
            _ => {
                out.push(Token::Text("$"));
                rest = tail;
            }
        }
    }
    if !rest.is_empty() {
        out.push(Token::Text(rest));
    }
    (out, Ok(()))
}

/// Every token of `s`, or `Invalid` if any `${...}` in it is malformed.
fn tokens(s: &str) -> Result<Vec<Token<'_>>, Invalid> {
    let (tokens, valid) = scan(s);
    valid.map(|()| tokens)
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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `$VAR` or `${VAR}`.
    Plain,
    /// `${VAR:-x}` or `${VAR-x}`.
    Default,
    /// `${VAR:?msg}` or `${VAR?msg}`: Compose stops when it is unset.
    Required,
    /// `${VAR:+x}` or `${VAR+x}`: empty when unset.
    Alternative,
}

impl Op {
    fn of(op: &str) -> Op {
        match op.trim_start_matches(':') {
            "-" => Op::Default,
            "?" => Op::Required,
            "+" => Op::Alternative,
            _ => Op::Plain,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ref {
    pub name: String,
    pub op: Op,
    /// The reference as written, for messages.
    pub text: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Parsed {
    pub refs: Vec<Ref>,
    /// The value with every variable unset: defaults applied, everything else empty; for
    /// a malformed string, what came before the malformed part.
    pub unset: String,
    /// A malformed `${...}`; Compose rejects the whole file.
    pub invalid: bool,
}

impl Parsed {
    pub fn has_refs(&self) -> bool {
        !self.refs.is_empty()
    }
}

pub fn parse(s: &str) -> Parsed {
    let mut p = Parsed::default();
    let mut unset = String::new();
    p.invalid = walk(s, &mut p.refs, &mut unset, 0).is_err();
    p.unset = unset;
    p
}

/// The value a string has where no variable is set (see [`Parsed::unset`]).
pub fn unset(s: &str) -> String {
    parse(s).unset
}

fn walk(s: &str, refs: &mut Vec<Ref>, out: &mut String, depth: usize) -> Result<(), Invalid> {
    if depth > MAX_DEPTH {
        return Err(Invalid);
    }
    let (tokens, valid) = scan(s);
    for t in tokens {
        match t {
            Token::Text(text) => out.push_str(text),
            Token::Escaped => out.push('$'),
            Token::Bare(name) => refs.push(Ref {
                name: name.to_string(),
                op: Op::Plain,
                text: format!("${name}"),
            }),
            Token::Braced { name, op, arg } => {
                let kind = Op::of(op);
                refs.push(Ref {
                    name: name.to_string(),
                    op: kind,
                    text: format!("${{{name}{op}{arg}}}"),
                });
                match kind {
                    Op::Default => walk(arg, refs, out, depth + 1)?,
                    // The alternative only matters where the variable is set, but its own
                    // references are still references.
                    Op::Alternative => walk(arg, refs, &mut String::new(), depth + 1)?,
                    Op::Plain | Op::Required => {}
                }
            }
        }
    }
    valid
}

/// `s` with every `${VAR}`, `$VAR` and `${VAR:?msg}` written `${VAR:-}`, inside defaults
/// too; `$$` and everything else as it was. `None` for a malformed `${...}`, which Compose
/// rejects anyway and no rewrite should touch.
pub fn with_defaults(s: &str) -> Option<String> {
    defaults(s, 0).ok()
}

/// The value a string has where no variable is set: defaults applied, the rest empty; a
/// malformed string as written, which is the best guess where Compose would stop.
pub fn unset_or_as_written(s: &str) -> String {
    resolve(s, &|_| None)
}

/// Whether `s` holds a reference that has no default.
pub fn lacks_default(s: &str) -> bool {
    s.contains('$') && with_defaults(s).is_some_and(|d| d != s)
}

/// The references in `s` that have no default, as written (`${KEY}`, `$HOME`, `${K:?x}`).
pub fn without_default(s: &str) -> Vec<String> {
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

/// The value a string has where the variables `lookup` knows are set (as Compose reads
/// a `.env`) and the rest are not; a malformed string as written.
pub fn resolve(s: &str, lookup: &dyn Fn(&str) -> Option<String>) -> String {
    let mut out = String::new();
    match resolve_into(s, &mut out, 0, lookup) {
        Ok(()) => out,
        Err(Invalid) => s.to_string(),
    }
}

fn resolve_into(
    s: &str,
    out: &mut String,
    depth: usize,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<(), Invalid> {
    if depth > MAX_DEPTH {
        return Err(Invalid);
    }
    for t in tokens(s)? {
        match t {
            Token::Text(text) => out.push_str(text),
            Token::Escaped => out.push('$'),
            Token::Bare(name) => out.push_str(&lookup(name).unwrap_or_default()),
            Token::Braced { name, op, arg } => {
                let value = lookup(name);
                // `:-`/`:+` treat an empty value as unset; `-`/`+` only a missing one.
                let set = match op.starts_with(':') {
                    true => value.as_deref().is_some_and(|v| !v.is_empty()),
                    false => value.is_some(),
                };
                match (op.trim_start_matches(':'), set) {
                    ("-", false) | ("+", true) => resolve_into(arg, out, depth + 1, lookup)?,
                    ("+", false) => {}
                    _ => out.push_str(&value.unwrap_or_default()),
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
    fn resolves_set_variables_and_defaults_for_the_rest() {
        let vars = |n: &str| match n {
            "PORT" => Some("6380".to_string()),
            "EMPTY" => Some(String::new()),
            _ => None,
        };
        let r = |s: &str| resolve(s, &vars);
        assert_eq!(
            r("redis://${HOST:-localhost}:${PORT:-6379}"),
            "redis://localhost:6380"
        );
        assert_eq!(r("$PORT/${EMPTY:-x}/${EMPTY-x}/${NO}"), "6380/x//");
        assert_eq!(r("${PORT:+a}${NO:+b}${EMPTY+c}$$"), "ac$");
        assert_eq!(r("${bad"), "${bad");
    }

    fn ops(s: &str) -> Vec<(String, Op)> {
        parse(s).refs.into_iter().map(|r| (r.name, r.op)).collect()
    }

    #[test]
    fn reads_every_reference_form() {
        assert_eq!(ops("${A}"), vec![("A".into(), Op::Plain)]);
        assert_eq!(ops("$A/x"), vec![("A".into(), Op::Plain)]);
        assert_eq!(ops("${A:-1}"), vec![("A".into(), Op::Default)]);
        assert_eq!(ops("${A-1}"), vec![("A".into(), Op::Default)]);
        assert_eq!(ops("${A:?no}"), vec![("A".into(), Op::Required)]);
        assert_eq!(ops("${A?no}"), vec![("A".into(), Op::Required)]);
        assert_eq!(ops("${A:+x}"), vec![("A".into(), Op::Alternative)]);
        assert_eq!(
            ops("${A:-${B}}"),
            vec![("A".into(), Op::Default), ("B".into(), Op::Plain)]
        );
        assert_eq!(ops("$$A and $${B}"), vec![]);
        assert_eq!(ops("plain"), vec![]);
    }

    #[test]
    fn unset_applies_defaults_and_empties_the_rest() {
        assert_eq!(unset("${API_EXTERNAL_PORT:-7001}:7000"), "7001:7000");
        assert_eq!(unset("${P}:7000"), ":7000");
        assert_eq!(unset("${P:-}:7000"), ":7000");
        assert_eq!(unset("${A:-${B:-x}y}"), "xy");
        assert_eq!(unset("${A:+on}"), "");
        assert_eq!(unset("a$$b"), "a$b");
        assert_eq!(unset("héllo ${X:-wörld}"), "héllo wörld");
    }

    #[test]
    fn only_a_malformed_brace_is_invalid() {
        assert!(!parse("cost $5").invalid);
        assert!(!parse("end$").invalid);
        assert_eq!(unset("$(cat f) $5 end$"), "$(cat f) $5 end$");
        assert!(parse("${}").invalid);
        assert!(parse("${A").invalid);
        assert!(parse("${A%%x}").invalid);
        assert!(!parse("$$(cat f)").invalid);
        assert!(!parse("${A_1:-x}").invalid);
        let deep = format!("{}x{}", "${A:-".repeat(10_000), "}".repeat(10_000));
        assert!(parse(&deep).invalid);
    }

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
    fn unset_or_as_written_applies_defaults_and_empties_the_rest() {
        assert_eq!(
            unset_or_as_written("${API_EXTERNAL_PORT:-7001}:7000"),
            "7001:7000"
        );
        assert_eq!(unset_or_as_written("${P}:7000"), ":7000");
        assert_eq!(unset_or_as_written("${A:-${B:-x}y}"), "xy");
        assert_eq!(unset_or_as_written("${A:+on}"), "");
        assert_eq!(unset_or_as_written("a$$b"), "a$b");
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
