//! The content address of a config: the same services, however written, are one version.

use serde_json::Value as Json;
use sha2::{Digest, Sha256};

use super::ComposeFile;

/// sha256 of the normalised document: keys sorted at every level, comments and layout gone.
pub fn config_hash(file: &ComposeFile) -> String {
    let normal = normalise(serde_json::to_value(&file.doc).unwrap_or(Json::Null));
    let bytes = serde_json::to_vec(&normal).unwrap_or_default();
    hex::encode(Sha256::digest(&bytes))
}

fn normalise(v: Json) -> Json {
    match v {
        Json::Object(map) => {
            let mut entries: Vec<(String, Json)> =
                map.into_iter().map(|(k, v)| (k, normalise(v))).collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Json::Object(entries.into_iter().collect())
        }
        Json::Array(items) => Json::Array(items.into_iter().map(normalise).collect()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hash(text: &str) -> String {
        config_hash(&ComposeFile::parse("t", text, 1).unwrap())
    }

    #[test]
    fn key_order_and_comments_do_not_change_the_hash() {
        let a = hash("services:\n  web:\n    image: a\n    ports: ['1:1']\n");
        let b = hash("# c\nservices:\n  web:\n    ports: ['1:1']  # p\n    image: a\n");
        assert_eq!(a, b);
    }

    #[test]
    fn content_changes_the_hash() {
        assert_ne!(
            hash("services:\n  web:\n    image: a\n"),
            hash("services:\n  web:\n    image: b\n")
        );
    }
}
