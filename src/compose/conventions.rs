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
/// loopback is right there, or at least not a service-to-service call. A public or base
/// URL (`APP_URL`, `*_BASE_URL`, `ROOT_URL`) is the address users reach the app at.
pub fn not_service_to_service(key: &str) -> bool {
    let k = key.to_ascii_uppercase();
    [
        "PUBLIC", "ORIGIN", "CORS", "CALLBACK", "REDIRECT", "NEXTAUTH", "SITE", "FRONTEND",
        "EXTERNAL", "BROWSER", "LISTEN", "BIND", "BASEURL",
    ]
    .iter()
    .any(|hint| k.contains(hint))
        || k.ends_with("_URLS")
        || ["APP_URL", "ROOT_URL", "BASE_URL"]
            .iter()
            .any(|name| k == *name || k.ends_with(&format!("_{name}")))
}

/// Keys that name a connection to a backing service: a `*_URL`, `*_URI`, `*_HOST`,
/// `*_DSN` or `*_ADDR` whose words name a database, cache or queue (`DATABASE_URL`,
/// `REDIS_HOST`, `CELERY_BROKER_URL`, `PG_DSN`).
pub fn backing_service_key(key: &str) -> bool {
    const ENDS: [&str; 6] = ["URL", "URI", "HOST", "DSN", "ADDR", "ADDRESS"];
    const STORES: [&str; 27] = [
        "DB",
        "DATABASE",
        "SQL",
        "MYSQL",
        "MARIADB",
        "POSTGRES",
        "POSTGRESQL",
        "PG",
        "PSQL",
        "MSSQL",
        "REDIS",
        "VALKEY",
        "CACHE",
        "MEMCACHE",
        "MEMCACHED",
        "MONGO",
        "MONGODB",
        "RABBIT",
        "RABBITMQ",
        "AMQP",
        "KAFKA",
        "QUEUE",
        "BROKER",
        "MQ",
        "NATS",
        "ELASTIC",
        "ELASTICSEARCH",
    ];
    let k = key.to_ascii_uppercase();
    let words: Vec<&str> = k.split(['_', '.', '-']).filter(|w| !w.is_empty()).collect();
    let Some((last, rest)) = words.split_last() else {
        return false;
    };
    ENDS.contains(last) && rest.iter().any(|w| STORES.contains(w))
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
    fn public_urls_and_backing_service_keys() {
        for k in [
            "APP_URL",
            "API_BASE_URL",
            "PUBLIC_URL",
            "SITE_URL",
            "GITEA_EXTERNAL_URL",
        ] {
            assert!(not_service_to_service(k), "{k}");
        }
        for k in [
            "DATABASE_URL",
            "API_URL",
            "REDIS_URL",
            "HAPPY_URL",
            "DATABASE_BASE",
        ] {
            assert!(!not_service_to_service(k), "{k}");
        }
        for k in [
            "DATABASE_URL",
            "REDIS_HOST",
            "CELERY_BROKER_URL",
            "PG_DSN",
            "db.host",
        ] {
            assert!(backing_service_key(k), "{k}");
        }
        for k in ["API_URL", "UPGRADE_URL", "DB_NAME", "REDIS", "DBURL"] {
            assert!(!backing_service_key(k), "{k}");
        }
    }

    #[test]
    fn redis_images() {
        assert!(is_redis("harness/redis:local"));
        assert!(is_redis("redis@sha256:abc"));
        assert!(!is_redis("rediscommander/redis-commander"));
        assert!(!is_redis("nginx"));
    }
}
