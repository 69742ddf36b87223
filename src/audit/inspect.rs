//! A run's JSON, read as the audit needs it: the record, and whether `execution_uuid` is its
//! last key. Neither builds a `serde_json::Value`: at 100 000 runs the tree costs more than
//! the reads.

use std::fmt;

use serde::de::{Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::error::Category;

use super::FindingKind;
use crate::run::record::RunRecord;

/// A run's JSON, parsed: the record if it is one, and what is wrong with it.
pub(crate) struct Inspection {
    pub record: Option<RunRecord>,
    pub problems: Vec<(FindingKind, String)>,
}

pub(crate) fn inspect(bytes: &[u8]) -> Inspection {
    let invalid = |why: String| Inspection {
        record: None,
        problems: vec![(FindingKind::InvalidRecord, why)],
    };
    let keys = match top_keys(bytes) {
        Ok(keys) => keys,
        Err(e) if e.classify() == Category::Data => {
            return invalid("not a JSON object".to_string());
        }
        Err(e) => return invalid(format!("not valid JSON: {e}")),
    };
    let mut problems = Vec::new();
    if let Some(message) = keys.uuid_not_last() {
        problems.push((FindingKind::UuidNotLast, message));
    }
    let record = match serde_json::from_slice::<RunRecord>(bytes) {
        Ok(r) => Some(r),
        Err(e) => {
            problems.push((FindingKind::InvalidRecord, format!("not a run record: {e}")));
            None
        }
    };
    Inspection { record, problems }
}

/// The top-level keys of a JSON object, in order, values skipped.
struct TopKeys(Vec<String>);

impl TopKeys {
    fn uuid_not_last(&self) -> Option<String> {
        let last = self.0.last().map(String::as_str);
        if last == Some("execution_uuid") {
            return None;
        }
        Some(match self.0.iter().position(|k| k == "execution_uuid") {
            Some(i) => format!(
                "`execution_uuid` is key {} of {}, not the last; the last key is `{}`",
                i + 1,
                self.0.len(),
                last.unwrap_or_default()
            ),
            None => "there is no `execution_uuid` key".to_string(),
        })
    }
}

fn top_keys(bytes: &[u8]) -> serde_json::Result<TopKeys> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let keys = de.deserialize_map(KeysVisitor)?;
    de.end()?;
    Ok(keys)
}

struct KeysVisitor;

impl<'de> Visitor<'de> for KeysVisitor {
    type Value = TopKeys;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<TopKeys, A::Error> {
        let mut keys = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            map.next_value::<IgnoredAny>()?;
            keys.push(key);
        }
        Ok(TopKeys(keys))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_where_the_uuid_key_is() {
        let out = inspect(br#"{"execution_uuid": "x", "task": "t"}"#);
        let (kind, message) = &out.problems[0];
        assert_eq!(*kind, FindingKind::UuidNotLast);
        assert!(message.contains("key 1 of 2"), "{message}");
        assert!(message.contains("`task`"), "{message}");
        let out = inspect(br#"{"task": "t"}"#);
        assert!(out.problems[0].1.contains("no `execution_uuid`"));
    }

    #[test]
    fn tells_bad_json_from_a_non_object() {
        let out = inspect(b"[1, 2]");
        assert_eq!(out.problems[0].1, "not a JSON object");
        let out = inspect(b"{\"a\": ");
        assert!(
            out.problems[0].1.starts_with("not valid JSON"),
            "{}",
            out.problems[0].1
        );
        let out = inspect(b"{\"execution_uuid\": 1} trailing");
        assert!(
            out.problems[0].1.starts_with("not valid JSON"),
            "{}",
            out.problems[0].1
        );
    }
}
