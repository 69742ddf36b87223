//! Compose's variable interpolation, read statically: which variables a string refers to,
//! and what it becomes on a machine where none of them is set.
use crate::compose::interp::{matching_brace, name_len};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    /// `$VAR` or `${VAR}`.
    Plain,
    /// `${VAR:-x}` or `${VAR-x}`.
    Default,
    /// `${VAR:?msg}` or `${VAR?msg}`: Compose stops when it is unset.
    Required,
    /// `${VAR:+x}` or `${VAR+x}`: empty when unset.
    Alternative,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Ref {
    pub name: String,
    pub op: Op,
    /// The reference as written, for messages.
    pub text: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Parsed {
    pub refs: Vec<Ref>,
    /// The value with every variable unset: defaults applied, everything else empty.
    pub unset: String,
    /// A malformed `${...}`; Compose rejects the whole file.
    pub invalid: bool,
}

impl Parsed {
    pub(crate) fn has_refs(&self) -> bool {
        !self.refs.is_empty()
    }
}

pub(crate) fn parse(s: &str) -> Parsed {
    let mut p = Parsed::default();
    let mut unset = String::new();
    p.invalid = walk(s, &mut p.refs, &mut unset, 0).is_err();
    p.unset = unset;
    p
}

/// The value a string has where no variable is set.
pub(crate) fn unset(s: &str) -> String {
    parse(s).unset
}

struct Invalid;

/// Nesting deeper than any real file keeps a hostile string from exhausting the stack.
const MAX_DEPTH: usize = 16;

fn walk(s: &str, refs: &mut Vec<Ref>, out: &mut String, depth: usize) -> Result<(), Invalid> {
    if depth > MAX_DEPTH {
        return Err(Invalid);
    }
    let mut rest = s;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let tail = &rest[at + 1..];
        match tail.chars().next() {
            Some('$') => {
                out.push('$');
                rest = &tail[1..];
            }
            Some('{') => {
                let close = matching_brace(tail).ok_or(Invalid)?;
                braced(&tail[1..close], refs, out, depth)?;
                rest = &tail[close + 1..];
            }
            Some(c) if c == '_' || c.is_ascii_alphabetic() => {
                let len = name_len(tail);
                refs.push(Ref {
                    name: tail[..len].to_string(),
                    op: Op::Plain,
                    text: format!("${}", &tail[..len]),
                });
                rest = &tail[len..];
            }
            // Compose v2 leaves a `$` that starts no reference as it is (`$(cmd)`, `$5`);
            // only a malformed `${` is an error.
            _ => {
                out.push('$');
                rest = tail;
            }
        }
    }
    out.push_str(rest);
    Ok(())
}

fn braced(inner: &str, refs: &mut Vec<Ref>, out: &mut String, depth: usize) -> Result<(), Invalid> {
    let len = name_len(inner);
    if len == 0 {
        return Err(Invalid);
    }
    let name = inner[..len].to_string();
    let text = format!("${{{inner}}}");
    let spec = &inner[len..];
    let spec = spec.strip_prefix(':').unwrap_or(spec);
    let (op, arg) = match spec.chars().next() {
        None if inner.len() == len => (Op::Plain, ""),
        Some('-') => (Op::Default, &spec[1..]),
        Some('?') => (Op::Required, &spec[1..]),
        Some('+') => (Op::Alternative, &spec[1..]),
        _ => return Err(Invalid),
    };
    refs.push(Ref { name, op, text });
    match op {
        Op::Default => walk(arg, refs, out, depth + 1),
        // The alternative only matters where the variable is set, but its own references
        // are still references.
        Op::Alternative => walk(arg, refs, &mut String::new(), depth + 1),
        Op::Plain | Op::Required => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(unset("${API_EXTERNAL_PORT:-8001}:8000"), "8001:8000");
        assert_eq!(unset("${P}:8000"), ":8000");
        assert_eq!(unset("${P:-}:8000"), ":8000");
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
}
