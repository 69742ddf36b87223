//! Evidence → signature. Only what the engine, the CLI, the logs and the probes said counts;
//! nothing here knows which config is running.

use crate::engine::WaitFailure;
use crate::run::Signature;

/// What Compose prints when it cannot talk to the engine: the harness's fault, not the
/// config's.
const ENGINE_GONE: &[&str] = &[
    "Cannot connect to the Docker daemon",
    "connect to Docker daemon",
    "Error while fetching server API version",
    "Connection aborted",
    "error during connect",
];

/// Whether a failed Compose command failed because the engine was not there.
pub fn engine_gone(stderr: &str) -> bool {
    ENGINE_GONE.iter().any(|m| stderr.contains(m))
}

/// The first rule whose marker appears in the text wins; order from specific to general.
const COMPOSE_RULES: &[(&[&str], Signature)] = &[
    (
        &[
            "port is already allocated",
            "address already in use",
            "ports are not available",
        ],
        Signature::PortConflict,
    ),
    (
        &["is already in use by container", "The container name"],
        Signature::NameConflict,
    ),
    (
        &[
            "network with name",
            "has incorrect label com.docker.compose.network",
            "Pool overlaps",
        ],
        Signature::NetworkConflict,
    ),
    (
        &["Missing mandatory value", "required variable"],
        Signature::MissingEnvFatal,
    ),
    (
        &[
            "No such image",
            "pull access denied",
            "repository does not exist",
            "manifest unknown",
            "Error response from daemon: Get",
            // v1 prints a failed pull's registry error bare, without the daemon's prefix.
            "Get \"https://",
            "not found: manifest",
        ],
        Signature::ImageMissing,
    ),
    (&["is unhealthy"], Signature::Unhealthy),
    (&["timed out after"], Signature::Timeout),
    (
        &[
            "is invalid because",
            "Unsupported config option",
            "contains an invalid type",
            "Additional property",
            "validating ",
            "yaml: ",
        ],
        Signature::ComposeRejected,
    ),
];

/// Classifies a failed `compose up` by its output; `unclassified` when no marker matches
/// (the raw stderr stays in the evidence).
pub fn compose_failure(stderr: &str) -> Signature {
    COMPOSE_RULES
        .iter()
        .find(|(markers, _)| markers.iter().any(|m| stderr.contains(m)))
        .map(|(_, sig)| *sig)
        .unwrap_or(Signature::Unclassified)
}

/// The words of a failed `compose up` that say why: around the marker a rule matched,
/// else the last error line. Compose's lines are long; the reason is at their end.
pub fn compose_summary(stderr: &str) -> String {
    let markers = ENGINE_GONE
        .iter()
        .chain(COMPOSE_RULES.iter().flat_map(|(m, _)| m.iter()));
    let marked = markers
        .filter_map(|m| stderr.lines().find_map(|l| l.find(m).map(|at| (l, at))))
        .next();
    let (line, at) = match marked {
        Some(found) => found,
        None => {
            let line = stderr
                .lines()
                .rev()
                .find(|l| l.contains("ERROR") || l.contains("rror"))
                .or_else(|| stderr.lines().last())
                .unwrap_or_default();
            (line, line.len())
        }
    };
    let start = line[..at]
        .char_indices()
        .rev()
        .nth(70)
        .map(|(i, _)| i)
        .unwrap_or(0);
    let text = line[start..].trim();
    if start > 0 {
        format!("…{text}")
    } else {
        text.to_string()
    }
}

/// Classifies a project that came up but did not become ready.
pub fn wait_failure(failure: &WaitFailure, logs: &str) -> Signature {
    match failure {
        WaitFailure::HealthcheckBroken { .. } => Signature::HealthcheckBroken,
        // Not reached: the caller makes an engine error a fault before classifying.
        WaitFailure::Engine(_) => Signature::Unclassified,
        WaitFailure::Timeout { .. } => Signature::HealthTimeout,
        WaitFailure::Unhealthy { .. }
        | WaitFailure::Exited { .. }
        | WaitFailure::CrashLoop { .. } => {
            if let Some(sig) = log_signature(logs) {
                return sig;
            }
            match failure {
                WaitFailure::CrashLoop { .. } => Signature::CrashLoop,
                _ => Signature::Unhealthy,
            }
        }
    }
}

/// What a service's own logs say about why it is not working.
pub fn log_signature(logs: &str) -> Option<Signature> {
    if redis_on_localhost(logs) {
        return Some(Signature::RedisLocalhost);
    }
    None
}

/// A service looking for Redis on its own loopback: in a container nothing listens there.
pub fn redis_on_localhost(text: &str) -> bool {
    ["127.0.0.1:6379", "localhost:6379", "[::1]:6379"]
        .iter()
        .any(|m| text.contains(m))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compose_messages_map_to_signatures() {
        let cases = [
            (
                "Bind for 0.0.0.0:8001 failed: port is already allocated",
                Signature::PortConflict,
            ),
            (
                "Conflict. The container name \"/x\" is already in use by container",
                Signature::NameConflict,
            ),
            (
                "ERROR: Missing mandatory value for \"environment\" option",
                Signature::MissingEnvFatal,
            ),
            (
                "pull access denied for harness/nope, repository does not exist",
                Signature::ImageMissing,
            ),
            (
                "ERROR: for web  Container \"ab\" is unhealthy.",
                Signature::Unhealthy,
            ),
            (
                "ERROR: The Compose file './x.yml' is invalid because:\nservices.a.ports contains an invalid type",
                Signature::ComposeRejected,
            ),
            ("something else entirely", Signature::Unclassified),
        ];
        for (text, sig) in cases {
            assert_eq!(compose_failure(text), sig, "{text}");
        }
        assert!(engine_gone(
            "Couldn't connect to Docker daemon\nError while fetching server API version"
        ));
        assert!(!engine_gone("port is already allocated"));
    }

    /// Real stderr of `up -d --no-build` from Compose v1 and v2 for each deploy failure
    /// (tests/fixtures/compose_stderr/capture.sh makes them): each file classifies to the
    /// signature it is named for, on both versions alike.
    #[test]
    fn both_compose_versions_stderr_classify_to_the_same_signature() {
        let dir = std::path::Path::new("tests/fixtures/compose_stderr");
        let mut names: Vec<String> = std::fs::read_dir(dir.join("v2"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert!(names.len() >= 7, "{names:?}");
        for name in names {
            let stem = name.trim_end_matches(".txt");
            let expected: Signature = serde_json::from_value(stem.into()).unwrap();
            for version in ["v1", "v2"] {
                let stderr = std::fs::read_to_string(dir.join(version).join(&name)).unwrap();
                assert_eq!(
                    compose_failure(&stderr),
                    expected,
                    "{version}/{name}:\n{stderr}"
                );
                assert!(!engine_gone(&stderr), "{version}/{name}");
            }
        }
    }

    #[test]
    fn the_summary_keeps_the_reason_at_the_end_of_a_long_line() {
        let stderr = "Creating x ... \nERROR: for cc_execute  Cannot start service cc_execute: driver failed programming external connectivity on endpoint h-x_cc_execute_1 (0123456789abcdef): Bind for 0.0.0.0:8001 failed: port is already allocated\nERROR: Encountered errors while bringing up the project.";
        let summary = compose_summary(stderr);
        assert!(
            summary.ends_with("Bind for 0.0.0.0:8001 failed: port is already allocated"),
            "{summary}"
        );
        assert!(summary.chars().count() < 130, "{summary}");
        assert_eq!(compose_summary("a\nERROR: boom\nlast"), "ERROR: boom");
    }

    #[test]
    fn redis_on_loopback_is_recognised_in_logs() {
        assert_eq!(
            log_signature("redis error: Connection refused (os error 111) 127.0.0.1:6379"),
            Some(Signature::RedisLocalhost)
        );
        assert_eq!(log_signature("all good"), None);
    }
}
