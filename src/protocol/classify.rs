//! Evidence → signature. Only what the engine, the CLI, the logs and the probes said counts;
//! nothing here knows which config is running.

use super::Signature;
use crate::engine::WaitFailure;

/// The first rule whose marker appears in the text wins; order from specific to general.
const COMPOSE_RULES: &[(&[&str], Signature)] = &[
    (
        &[
            "Cannot connect to the Docker daemon",
            "Error while fetching server API version",
            "Connection aborted",
        ],
        Signature::EngineUnavailable,
    ),
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
            "not found: manifest",
        ],
        Signature::ImageMissing,
    ),
    (&["is unhealthy"], Signature::Unhealthy),
];

/// Classifies a failed `compose up` by its output.
pub fn compose_failure(stderr: &str) -> Signature {
    COMPOSE_RULES
        .iter()
        .find(|(markers, _)| markers.iter().any(|m| stderr.contains(m)))
        .map(|(_, sig)| *sig)
        .unwrap_or(if stderr.contains("timed out after") {
            Signature::Timeout
        } else {
            Signature::ComposeRejected
        })
}

/// Classifies a project that came up but did not become ready.
pub fn wait_failure(failure: &WaitFailure, logs: &str) -> Signature {
    match failure {
        WaitFailure::HealthcheckBroken { .. } => Signature::HealthcheckBroken,
        WaitFailure::Engine(_) => Signature::EngineUnavailable,
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
            ("something else entirely", Signature::ComposeRejected),
        ];
        for (text, sig) in cases {
            assert_eq!(compose_failure(text), sig, "{text}");
        }
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
