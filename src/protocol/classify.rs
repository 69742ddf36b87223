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

/// The words of a failed `compose up` that say why: around the marker a rule matched,
/// else the last error line. Compose's lines are long; the reason is at their end.
pub fn compose_summary(stderr: &str) -> String {
    let markers = COMPOSE_RULES.iter().flat_map(|(m, _)| m.iter());
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
