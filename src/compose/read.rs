//! Tolerant readers over a parsed compose tree: lint and the mutation catalog look at
//! files Compose itself would reject and must answer, never panic.

use serde_yaml_ng::{Mapping, Value};

/// Compose's `!reset` / `!override` tags wrap the value they apply to.
pub fn untag(v: &Value) -> &Value {
    match v {
        Value::Tagged(t) => untag(&t.value),
        other => other,
    }
}

pub fn get<'a>(m: &'a Mapping, key: &str) -> Option<&'a Value> {
    m.get(key).map(untag).filter(|v| !v.is_null())
}

pub fn get_map<'a>(m: &'a Mapping, key: &str) -> Option<&'a Mapping> {
    get(m, key).and_then(Value::as_mapping)
}

pub fn get_seq<'a>(m: &'a Mapping, key: &str) -> Option<&'a [Value]> {
    get(m, key).and_then(Value::as_sequence).map(Vec::as_slice)
}

/// A scalar as Compose reads it: `8080`, `true` and `"8080"` are all strings to it.
pub fn scalar(v: &Value) -> Option<String> {
    match untag(v) {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

pub fn get_str(m: &Mapping, key: &str) -> Option<String> {
    get(m, key).and_then(scalar)
}
