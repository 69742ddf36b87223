//! Which mutations exist, and which runtime failures and lint findings each answers.

use super::types::MutationInfo;
use crate::run::Signature;

pub(crate) const ENGINE_ASSIGNED_PORT: &str = "engine-assigned-port";
pub(crate) const ENV_DEFAULT: &str = "env-default";
pub(crate) const DROP_CONTAINER_NAME: &str = "drop-container-name";
pub(crate) const DROP_NETWORK_NAME: &str = "drop-network-name";
pub(crate) const DROP_VOLUME_NAME: &str = "drop-volume-name";
pub(crate) const SERVICE_HOST: &str = "service-host";
pub(crate) const DEPENDS_ON_HEALTHY: &str = "depends-on-healthy";
pub(crate) const RESTART_UNLESS_STOPPED: &str = "restart-unless-stopped";
pub(crate) const REDIS_VOLUME: &str = "redis-volume";
pub(crate) const DROP_VERSION_KEY: &str = "drop-version-key";
pub(crate) const IMAGE_HEALTHCHECK: &str = "image-healthcheck";
pub(crate) const QUOTE_PORTS: &str = "quote-ports";
pub(crate) const DROP_CREDENTIAL_MOUNT: &str = "drop-credential-mount";
pub(crate) const QUICK_HEALTHCHECK: &str = "quick-healthcheck";

static CATALOG: [MutationInfo; 14] = [
    MutationInfo {
        id: ENGINE_ASSIGNED_PORT,
        signatures: &[Signature::PortConflict, Signature::ExposedPort],
        lint_rules: &["hardcoded-host-port", "port-all-interfaces"],
        description: "publish every port as `127.0.0.1::<container port>`: the engine picks a \
                      free host port, reachable from this machine only",
    },
    MutationInfo {
        id: DROP_CONTAINER_NAME,
        signatures: &[Signature::NameConflict],
        lint_rules: &["fixed-container-name"],
        description: "remove `container_name:` so Compose names containers per project",
    },
    MutationInfo {
        id: DROP_NETWORK_NAME,
        signatures: &[Signature::NetworkConflict],
        lint_rules: &["fixed-network-name"],
        description: "remove `name:` from networks the project creates, so each instance \
                      gets its own",
    },
    MutationInfo {
        id: DROP_VOLUME_NAME,
        signatures: &[Signature::VolumeConflict],
        lint_rules: &["fixed-volume-name"],
        description: "remove `name:` from volumes the project creates, so each instance \
                      keeps its own data",
    },
    MutationInfo {
        id: SERVICE_HOST,
        signatures: &[Signature::RedisLocalhost],
        lint_rules: &["loopback-service-url"],
        description: "point a localhost URL in the environment at the service that listens \
                      there, by its name",
    },
    MutationInfo {
        id: ENV_DEFAULT,
        signatures: &[Signature::MissingEnvFatal],
        lint_rules: &["required-variable"],
        description: "write every `${VAR}`, `$VAR` and `${VAR:?msg}` as `${VAR:-}` so an \
                      unset variable neither stops Compose nor passes unnoticed",
    },
    MutationInfo {
        id: IMAGE_HEALTHCHECK,
        signatures: &[Signature::HealthcheckBroken, Signature::HealthTimeout],
        lint_rules: &[],
        description: "replace a healthcheck test that runs a program its image does not have \
                      with the image's own HEALTHCHECK command, keeping the author's interval, \
                      timeout, retries and start period where valid",
    },
    MutationInfo {
        id: QUICK_HEALTHCHECK,
        signatures: &[],
        lint_rules: &["slow-healthcheck"],
        description: "shorten a healthcheck interval above 5s to 2s, with the retries scaled to \
                      keep the same time before `unhealthy`; offered only where the task's \
                      block makes `slow-healthcheck` an error (`lint: {errors: \
                      [slow-healthcheck]}`), since it changes the author's timings",
    },
    MutationInfo {
        id: DEPENDS_ON_HEALTHY,
        signatures: &[Signature::DependencyRace],
        lint_rules: &["depends-on-not-healthy"],
        description: "wait for dependencies that have a healthcheck with `condition: \
                      service_healthy`",
    },
    MutationInfo {
        id: RESTART_UNLESS_STOPPED,
        signatures: &[Signature::NoRestart],
        lint_rules: &["no-restart-policy"],
        description: "give long-running services without a restart policy `restart: \
                      unless-stopped`",
    },
    MutationInfo {
        id: REDIS_VOLUME,
        signatures: &[Signature::DataLost],
        lint_rules: &["redis-without-volume"],
        description: "mount a named volume at a Redis service's data directory",
    },
    MutationInfo {
        id: DROP_VERSION_KEY,
        signatures: &[],
        lint_rules: &["obsolete-version"],
        description: "remove the obsolete top-level `version:`",
    },
    MutationInfo {
        id: DROP_CREDENTIAL_MOUNT,
        signatures: &[],
        lint_rules: &["sensitive-host-mount", "docker-socket-mounted"],
        description: "remove the bind mounts of host credential stores (~/.ssh, ~/.claude, \
                      ~/.config/gcloud, …, the home directory above them) and of the Docker \
                      socket",
    },
    MutationInfo {
        id: QUOTE_PORTS,
        signatures: &[],
        lint_rules: &["unquoted-port"],
        description: "quote `ports:` entries written as `xx:yy` without quotes",
    },
];

/// Every mutation, in the order a proposer should try them for a lint-only fix.
pub fn catalog() -> &'static [MutationInfo] {
    &CATALOG
}

/// Whether the mutation only shortens waits — the config means what it meant — so it is
/// worth trying before the fixes of what failed: every later version's runs are quicker.
pub fn quickens(id: &str) -> bool {
    id == QUICK_HEALTHCHECK
}

/// The mutations that may fix a runtime failure with this signature, best first.
pub fn for_signature(sig: Signature) -> &'static [&'static str] {
    match sig {
        Signature::PortConflict | Signature::ExposedPort => &[ENGINE_ASSIGNED_PORT],
        Signature::NameConflict => &[DROP_CONTAINER_NAME],
        Signature::NetworkConflict => &[DROP_NETWORK_NAME],
        Signature::VolumeConflict => &[DROP_VOLUME_NAME],
        Signature::RedisLocalhost => &[SERVICE_HOST],
        Signature::MissingEnvFatal => &[ENV_DEFAULT],
        Signature::HealthcheckBroken | Signature::HealthTimeout => &[IMAGE_HEALTHCHECK],
        Signature::DependencyRace => &[DEPENDS_ON_HEALTHY],
        Signature::NoRestart => &[RESTART_UNLESS_STOPPED],
        Signature::DataLost => &[REDIS_VOLUME],
        _ => &[],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_map_and_the_catalog_agree() {
        for info in catalog() {
            for sig in info.signatures {
                assert!(for_signature(*sig).contains(&info.id), "{} {sig}", info.id);
            }
        }
        let all = [
            Signature::PortConflict,
            Signature::NameConflict,
            Signature::NetworkConflict,
            Signature::VolumeConflict,
            Signature::RedisLocalhost,
            Signature::MissingEnvFatal,
            Signature::HealthcheckBroken,
            Signature::HealthTimeout,
            Signature::DependencyRace,
            Signature::NoRestart,
            Signature::DataLost,
        ];
        for sig in all {
            let ids = for_signature(sig);
            assert!(!ids.is_empty(), "{sig}");
            for id in ids {
                let info = catalog().iter().find(|i| i.id == *id).unwrap();
                assert!(info.signatures.contains(&sig), "{id} {sig}");
            }
        }
        assert!(for_signature(Signature::Interrupted).is_empty());
    }
}
