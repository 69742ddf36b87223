//! What compose files mean by convention, judged the same way by lint (to report) and by
//! the mutation catalog (to fix).

use serde_yaml_ng::{Mapping, Value};

use super::read::{get, scalar};

/// A host that, inside a container, is the container itself.
pub fn loopback(host: &str) -> bool {
    let h = host
        .trim()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_ascii_lowercase();
    h == "localhost"
        || h.ends_with(".localhost")
        || h.starts_with("127.")
        || h == "::1"
        || h == "0:0:0:0:0:0:0:1"
}

/// Keys whose URL is for a browser on the host, or an address the service itself binds:
/// loopback is right there, or at least not a service-to-service call.
pub fn not_service_to_service(key: &str) -> bool {
    let k = key.to_ascii_uppercase();
    [
        "PUBLIC", "ORIGIN", "CORS", "CALLBACK", "REDIRECT", "NEXTAUTH", "SITE", "FRONTEND",
        "EXTERNAL", "BROWSER", "LISTEN", "BIND",
    ]
    .iter()
    .any(|hint| k.contains(hint))
        || k.ends_with("_URLS")
}

/// Where a Redis service keeps its data: `--dir` in its command, else the image's /data.
pub fn redis_data_dir(body: &Mapping) -> String {
    let words: Vec<String> = match get(body, "command") {
        Some(Value::Sequence(items)) => items.iter().filter_map(scalar).collect(),
        Some(other) => scalar(other)
            .map(|s| s.split_whitespace().map(str::to_string).collect())
            .unwrap_or_default(),
        None => Vec::new(),
    };
    words
        .iter()
        .position(|w| w == "--dir")
        .and_then(|i| words.get(i + 1))
        .map(|d| d.trim_matches(|c| c == '"' || c == '\'').to_string())
        .unwrap_or_else(|| "/data".to_string())
}

/// Image name without registry path, tag or digest, lower-cased: `bitnami/redis:7` → `redis`.
pub fn image_base(image: &str) -> String {
    let without_digest = image.split('@').next().unwrap_or(image);
    let last = without_digest.rsplit('/').next().unwrap_or(without_digest);
    last.split(':').next().unwrap_or(last).to_ascii_lowercase()
}

/// Redis servers by image name; tools that merely talk to Redis carry it in their name too.
pub fn is_redis(image: &str) -> bool {
    let name = image_base(image);
    name.starts_with("redis")
        && !["commander", "insight", "exporter", "ui", "admin"]
            .iter()
            .any(|tool| name.contains(tool))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redis_images() {
        assert!(is_redis("harness/redis:local"));
        assert!(is_redis("redis@sha256:abc"));
        assert!(!is_redis("rediscommander/redis-commander"));
        assert!(!is_redis("nginx"));
    }
}
