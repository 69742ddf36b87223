use super::finding::{Level, RuleInfo};

pub(crate) const HARDCODED_HOST_PORT: RuleInfo = RuleInfo {
    id: "hardcoded-host-port",
    level: Level::Error,
    mutation: Some("engine-assigned-port"),
    description: "a published port has a fixed host port (also a default inside ${VAR:-8001}), \
                  so a second instance or anything else on that port makes `up` fail",
};

pub(crate) const PORT_ALL_INTERFACES: RuleInfo = RuleInfo {
    id: "port-all-interfaces",
    level: Level::Warn,
    mutation: Some("engine-assigned-port"),
    description: "a port is published on every host interface (no host IP, or 0.0.0.0/::) \
                  instead of 127.0.0.1",
};

pub(crate) const REQUIRED_VARIABLE: RuleInfo = RuleInfo {
    id: "required-variable",
    level: Level::Error,
    mutation: Some("env-default"),
    description: "${VAR}, $VAR or ${VAR:?msg} without a default: an unset variable becomes an \
                  empty string, or stops Compose",
};

pub(crate) const INVALID_INTERPOLATION: RuleInfo = RuleInfo {
    id: "invalid-interpolation",
    level: Level::Error,
    mutation: None,
    description: "a malformed `${...}` reference; Compose rejects the whole file \
                  (a literal dollar is written `$$`)",
};

pub(crate) const FIXED_CONTAINER_NAME: RuleInfo = RuleInfo {
    id: "fixed-container-name",
    level: Level::Error,
    mutation: Some("drop-container-name"),
    description: "container_name is global on the engine, so a second instance of the stack \
                  cannot start",
};

pub(crate) const FIXED_NETWORK_NAME: RuleInfo = RuleInfo {
    id: "fixed-network-name",
    level: Level::Error,
    mutation: Some("drop-network-name"),
    description: "a network the project creates has a fixed `name:`, so two instances share \
                  (or fight over) one network",
};

pub(crate) const MISSING_HEALTHCHECK: RuleInfo = RuleInfo {
    id: "missing-healthcheck",
    level: Level::Warn,
    mutation: None,
    description: "a long-running service has no healthcheck in the file (info when it is \
                  explicitly disabled)",
};

pub(crate) const DEPENDS_ON_NOT_HEALTHY: RuleInfo = RuleInfo {
    id: "depends-on-not-healthy",
    level: Level::Warn,
    mutation: Some("depends-on-healthy"),
    description: "depends_on a service that has a healthcheck, without \
                  `condition: service_healthy`",
};

pub(crate) const LOOPBACK_SERVICE_URL: RuleInfo = RuleInfo {
    id: "loopback-service-url",
    level: Level::Error,
    mutation: Some("service-host"),
    description: "a URL in the environment points at localhost/127.0.0.1/::1, which inside a \
                  container is the container itself",
};

pub(crate) const OBSOLETE_VERSION: RuleInfo = RuleInfo {
    id: "obsolete-version",
    level: Level::Info,
    mutation: Some("drop-version-key"),
    description: "the top-level `version:` key is obsolete and ignored by Compose v2",
};

pub(crate) const NO_RESTART_POLICY: RuleInfo = RuleInfo {
    id: "no-restart-policy",
    level: Level::Warn,
    mutation: Some("restart-unless-stopped"),
    description: "a long-running service has no restart policy (or `restart: \"no\"`), so a \
                  crash leaves it down",
};

pub(crate) const DOCKER_SOCKET: RuleInfo = RuleInfo {
    id: "docker-socket-mounted",
    level: Level::Warn,
    mutation: None,
    description: "the Docker socket is mounted into a container, which gives it control of \
                  the engine (root on the host)",
};

pub(crate) const LITERAL_SECRET: RuleInfo = RuleInfo {
    id: "literal-secret",
    level: Level::Error,
    mutation: None,
    description: "a secret-looking environment variable (*_KEY, *_TOKEN, *_SECRET, \
                  *PASSWORD*) or a connection string with a password holds a literal value",
};

pub(crate) const REDIS_WITHOUT_VOLUME: RuleInfo = RuleInfo {
    id: "redis-without-volume",
    level: Level::Warn,
    mutation: Some("redis-volume"),
    description: "a Redis service has no named volume or bind mount at its data directory \
                  (/data), so its data is lost with the container",
};

static RULES: [RuleInfo; 14] = [
    HARDCODED_HOST_PORT,
    REQUIRED_VARIABLE,
    INVALID_INTERPOLATION,
    FIXED_CONTAINER_NAME,
    FIXED_NETWORK_NAME,
    LOOPBACK_SERVICE_URL,
    LITERAL_SECRET,
    PORT_ALL_INTERFACES,
    MISSING_HEALTHCHECK,
    DEPENDS_ON_NOT_HEALTHY,
    NO_RESTART_POLICY,
    DOCKER_SOCKET,
    REDIS_WITHOUT_VOLUME,
    OBSOLETE_VERSION,
];

/// Every rule `lint` can report, errors first.
pub fn rules() -> &'static [RuleInfo] {
    &RULES
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_ids_are_unique_kebab_case() {
        let mut ids: Vec<&str> = rules().iter().map(|r| r.id).collect();
        for id in &ids {
            assert!(
                id.chars().all(|c| c.is_ascii_lowercase() || c == '-'),
                "{id}"
            );
        }
        let levels: Vec<Level> = rules().iter().map(|r| r.level).collect();
        let mut sorted = levels.clone();
        sorted.sort();
        assert_eq!(levels, sorted, "errors first, then warnings, then info");
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), rules().len());
    }
}
