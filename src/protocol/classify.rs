//! Evidence → signature. Only what the engine, the CLI, the logs and the probes said counts;
//! nothing here knows which config is running.

use std::collections::BTreeSet;

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
            // Instances creating one fixed network name at the same moment: the engine
            // makes one network per request, all of that name.
            "is ambiguous",
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
    let ruled = COMPOSE_RULES
        .iter()
        .find(|(markers, _)| markers.iter().any(|m| stderr.contains(m)))
        .map(|(_, sig)| *sig);
    match ruled {
        Some(sig) => sig,
        None if network_removed_underneath(stderr) => Signature::NetworkConflict,
        None => Signature::Unclassified,
    }
}

/// A network of one fixed name that another instance created, and removed again while
/// this one was starting its containers: the engine no longer finds it by name.
fn network_removed_underneath(stderr: &str) -> bool {
    stderr
        .lines()
        .any(|l| l.contains("from daemon: network ") && l.trim_end().ends_with(" not found"))
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

/// Classifies a project that came up but did not become ready; `dependency_ports` are the
/// ports the task's dependencies listen on (see [`log_signature`]).
pub fn wait_failure(
    failure: &WaitFailure,
    logs: &str,
    dependency_ports: &BTreeSet<u16>,
) -> Signature {
    match failure {
        WaitFailure::HealthcheckBroken { .. } => Signature::HealthcheckBroken,
        // Not reached: the caller makes an engine error a fault before classifying.
        WaitFailure::Engine(_) => Signature::Unclassified,
        WaitFailure::Timeout { .. } => Signature::HealthTimeout,
        WaitFailure::Unhealthy { .. }
        | WaitFailure::Exited { .. }
        | WaitFailure::CrashLoop { .. } => {
            if let Some(sig) = log_signature(logs, dependency_ports) {
                return sig;
            }
            match failure {
                WaitFailure::CrashLoop { .. } => Signature::CrashLoop,
                _ => Signature::Unhealthy,
            }
        }
    }
}

/// What a service's own logs say about why it is not working: a dependency's port on
/// the service's own loopback. Without known dependency ports the logs are not read
/// (any service may log a loopback address of its own).
pub fn log_signature(logs: &str, dependency_ports: &BTreeSet<u16>) -> Option<Signature> {
    loopback_ports(logs)
        .any(|p| dependency_ports.contains(&p))
        .then_some(Signature::RedisLocalhost)
}

/// Whether an address a service reports for a dependency is its own loopback: in a
/// container nothing of the project listens there.
pub fn targets_loopback(target: &str) -> bool {
    LOOPBACK.iter().any(|h| {
        target.starts_with(h)
            || target.contains(&format!("//{h}"))
            || target.contains(&format!("@{h}"))
    })
}

const LOOPBACK: [&str; 3] = ["localhost", "127.0.0.1", "[::1]"];

/// The port of every `localhost:P`, `127.0.0.1:P` and `[::1]:P` in `text`.
fn loopback_ports(text: &str) -> impl Iterator<Item = u16> + '_ {
    LOOPBACK.iter().flat_map(move |host| {
        let marker = format!("{host}:");
        let mut found = Vec::new();
        let mut rest = text;
        while let Some(at) = rest.find(&marker) {
            let after = &rest[at + marker.len()..];
            let digits = after.len() - after.trim_start_matches(|c: char| c.is_ascii_digit()).len();
            if let Ok(port) = after[..digits].parse() {
                found.push(port);
            }
            rest = after;
        }
        found
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compose_messages_map_to_signatures() {
        let cases = [
            (
                "Bind for 0.0.0.0:7001 failed: port is already allocated",
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
            // Instances of one fixed network name, created or removed at the same moment.
            (
                "Error response from daemon: network shared_net is ambiguous (3 matches found on name)",
                Signature::NetworkConflict,
            ),
            (
                " Container x-redis-1  Starting\nError response from daemon: network shared_net not found",
                Signature::NetworkConflict,
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
        let stderr = "Creating x ... \nERROR: for api  Cannot start service api: driver failed programming external connectivity on endpoint h-x_api_1 (0123456789abcdef): Bind for 0.0.0.0:7001 failed: port is already allocated\nERROR: Encountered errors while bringing up the project.";
        let summary = compose_summary(stderr);
        assert!(
            summary.ends_with("Bind for 0.0.0.0:7001 failed: port is already allocated"),
            "{summary}"
        );
        assert!(summary.chars().count() < 130, "{summary}");
        assert_eq!(compose_summary("a\nERROR: boom\nlast"), "ERROR: boom");
    }

    #[test]
    fn a_dependency_on_loopback_is_recognised_by_its_port() {
        let ports = BTreeSet::from([6390]);
        assert_eq!(
            log_signature(
                "store error: Connection refused (os error 111) 127.0.0.1:6390",
                &ports
            ),
            Some(Signature::RedisLocalhost)
        );
        assert_eq!(log_signature("listening on 127.0.0.1:7000", &ports), None);
        assert_eq!(
            log_signature("refused localhost:6390", &BTreeSet::new()),
            None
        );
        assert_eq!(log_signature("all good", &ports), None);
        assert!(targets_loopback("redis://localhost:6390"));
        assert!(targets_loopback("redis://***@127.0.0.1:6390/0"));
        assert!(!targets_loopback("redis://store:6390"));
    }
}
