use super::finding::{Level, RuleInfo};

pub(crate) const HARDCODED_HOST_PORT: RuleInfo = RuleInfo {
    id: "hardcoded-host-port",
    level: Level::Error,
    mutation: Some("engine-assigned-port"),
    description: "a published port has a fixed host port (also a default inside ${VAR:-8081}), \
                  so a second instance or anything else on that port makes `up` fail",
    anchor: "seed",
    default_on: true,
};

pub(crate) const PORT_ALL_INTERFACES: RuleInfo = RuleInfo {
    id: "port-all-interfaces",
    level: Level::Warn,
    mutation: Some("engine-assigned-port"),
    description: "a port is published on every host interface (no host IP, or 0.0.0.0/::) \
                  instead of 127.0.0.1",
    anchor: "dclint",
    default_on: true,
};

pub(crate) const REQUIRED_VARIABLE: RuleInfo = RuleInfo {
    id: "required-variable",
    level: Level::Error,
    mutation: Some("env-default"),
    description: "${VAR}, $VAR or ${VAR:?msg} without a default: an unset variable becomes an \
                  empty string, or stops Compose",
    anchor: "seed",
    default_on: true,
};

pub(crate) const INVALID_INTERPOLATION: RuleInfo = RuleInfo {
    id: "invalid-interpolation",
    level: Level::Error,
    mutation: None,
    description: "a malformed `${...}` reference; Compose rejects the whole file \
                  (a literal dollar is written `$$`)",
    anchor: "ours",
    default_on: true,
};

pub(crate) const FIXED_CONTAINER_NAME: RuleInfo = RuleInfo {
    id: "fixed-container-name",
    level: Level::Error,
    mutation: Some("drop-container-name"),
    description: "container_name is global on the engine, so a second instance of the stack \
                  cannot start",
    anchor: "seed",
    default_on: true,
};

pub(crate) const FIXED_NETWORK_NAME: RuleInfo = RuleInfo {
    id: "fixed-network-name",
    level: Level::Error,
    mutation: Some("drop-network-name"),
    description: "a network the project creates has a fixed `name:`, so two instances share \
                  (or fight over) one network",
    anchor: "seed",
    default_on: true,
};

pub(crate) const FIXED_VOLUME_NAME: RuleInfo = RuleInfo {
    id: "fixed-volume-name",
    level: Level::Error,
    mutation: Some("drop-volume-name"),
    description: "a volume the project creates has a fixed `name:`, so two instances mount \
                  one volume and share their data",
    anchor: "ours",
    default_on: true,
};

pub(crate) const SHARED_EXTERNAL_VOLUME: RuleInfo = RuleInfo {
    id: "shared-external-volume",
    level: Level::Warn,
    mutation: None,
    description: "a service mounts an external volume read-write, so every instance of the \
                  stack writes the same data (the harness's multi_instance fails with \
                  `volume_conflict`); info under the default profile, where one copy runs",
    anchor: "ours",
    default_on: true,
};

pub(crate) const MISSING_HEALTHCHECK: RuleInfo = RuleInfo {
    id: "missing-healthcheck",
    level: Level::Warn,
    mutation: None,
    description: "a long-running service has no healthcheck in the file (info when it is \
                  explicitly disabled)",
    anchor: "ours",
    default_on: true,
};

pub(crate) const DEPENDS_ON_NOT_HEALTHY: RuleInfo = RuleInfo {
    id: "depends-on-not-healthy",
    level: Level::Warn,
    mutation: Some("depends-on-healthy"),
    description: "depends_on a service that has a healthcheck, without \
                  `condition: service_healthy`",
    anchor: "ours",
    default_on: true,
};

pub(crate) const LOOPBACK_SERVICE_URL: RuleInfo = RuleInfo {
    id: "loopback-service-url",
    level: Level::Error,
    mutation: Some("service-host"),
    description: "a URL that connects to a backing service (a store's scheme, a *_URL/*_HOST/\
                  *_DSN naming a database, cache or queue, or a port another service listens \
                  on) points at localhost/127.0.0.1/::1, which inside a container is the \
                  container itself; public and base URLs (APP_URL, *_BASE_URL, PUBLIC_URL, \
                  SITE_URL, *_EXTERNAL_URL) are not connections",
    anchor: "seed",
    default_on: true,
};

pub(crate) const OBSOLETE_VERSION: RuleInfo = RuleInfo {
    id: "obsolete-version",
    level: Level::Info,
    mutation: Some("drop-version-key"),
    description: "the top-level `version:` key is obsolete and ignored by Compose v2",
    anchor: "dclint",
    default_on: true,
};

pub(crate) const SLOW_HEALTHCHECK: RuleInfo = RuleInfo {
    id: "slow-healthcheck",
    level: Level::Warn,
    mutation: Some("quick-healthcheck"),
    description: "a healthcheck `interval` above 5s: Docker runs the first check one interval \
                  after the container starts, so every deploy (and whatever waits for the \
                  service with `service_healthy`) waits at least that long; the message \
                  gives the cost and an interval with retries that keeps the same patience",
    anchor: "ours",
    default_on: true,
};

pub(crate) const NO_RESTART_POLICY: RuleInfo = RuleInfo {
    id: "no-restart-policy",
    level: Level::Warn,
    mutation: Some("restart-unless-stopped"),
    description: "a long-running service has no restart policy (or `restart: \"no\"`), so a \
                  crash leaves it down",
    anchor: "ours",
    default_on: true,
};

pub(crate) const DOCKER_SOCKET: RuleInfo = RuleInfo {
    id: "docker-socket-mounted",
    level: Level::Error,
    mutation: Some("drop-credential-mount"),
    description: "the Docker socket is mounted into a container, which gives it control of \
                  the engine (root on the host)",
    anchor: "KICS, compose-lint",
    default_on: true,
};

pub(crate) const LITERAL_SECRET: RuleInfo = RuleInfo {
    id: "literal-secret",
    level: Level::Error,
    mutation: None,
    description: "a secret-looking environment variable (*_KEY, *APIKEY, *_TOKEN, *_SECRET, \
                  *_PASS, *_CREDENTIALS, *PASSWORD*, *PASSWD*) or a connection string with a \
                  password holds a literal value",
    anchor: "KICS, compose-lint",
    default_on: true,
};

pub(crate) const REDIS_WITHOUT_VOLUME: RuleInfo = RuleInfo {
    id: "redis-without-volume",
    level: Level::Warn,
    mutation: Some("redis-volume"),
    description: "a Redis service has no named volume or bind mount at its data directory \
                  (/data), so its data is lost with the container",
    anchor: "ours",
    default_on: true,
};

pub(crate) const PRIVILEGED: RuleInfo = RuleInfo {
    id: "privileged",
    level: Level::Error,
    mutation: None,
    description: "`privileged: true` gives the container every capability and the host's \
                  devices: a container escape is one step away",
    anchor: "KICS, compose-lint",
    default_on: true,
};

pub(crate) const CAP_ADD: RuleInfo = RuleInfo {
    id: "cap-add",
    level: Level::Error,
    mutation: None,
    description: "`cap_add` grants kernel capabilities, tiered: ALL, SYS_ADMIN, SYS_MODULE, \
                  SYS_RAWIO, SYS_PTRACE, DAC_READ_SEARCH, BPF are errors; NET_ADMIN, \
                  NET_RAW, SYS_TIME, MKNOD and the like warnings; the rest info",
    anchor: "KICS, compose-lint",
    default_on: true,
};

pub(crate) const DUPLICATE_CONTAINER_NAME: RuleInfo = RuleInfo {
    id: "duplicate-container-name",
    level: Level::Error,
    mutation: None,
    description: "two services share one `container_name`, so the second cannot be created",
    anchor: "dclint",
    default_on: true,
};

pub(crate) const DUPLICATE_HOST_PORT: RuleInfo = RuleInfo {
    id: "duplicate-host-port",
    level: Level::Error,
    mutation: None,
    description: "two published ports bind the same host IP and port, so `up` fails with \
                  \"port is already allocated\"",
    anchor: "dclint",
    default_on: true,
};

pub(crate) const UNKNOWN_DEPENDENCY: RuleInfo = RuleInfo {
    id: "depends-on-unknown-service",
    level: Level::Error,
    mutation: None,
    description: "`depends_on` names a service the file does not define; Compose rejects \
                  the file",
    anchor: "dclint",
    default_on: true,
};

pub(crate) const FLOATING_TAG: RuleInfo = RuleInfo {
    id: "image-floating-tag",
    level: Level::Warn,
    mutation: None,
    description: "an image without a tag, or with a tag that moves (`latest`, `stable`, \
                  `edge`, `dev`, `nightly`, …): two deploys of one file can run different code",
    anchor: "dclint, KICS",
    default_on: true,
};

pub(crate) const BUILD_AND_IMAGE: RuleInfo = RuleInfo {
    id: "build-and-image-without-pull-policy",
    level: Level::Warn,
    mutation: None,
    description: "a service has both `build:` and `image:` but no `pull_policy`, so whether \
                  it runs the local build or a pulled image depends on what is cached",
    anchor: "dclint",
    default_on: true,
};

pub(crate) const CONTAINER_NAME_FORMAT: RuleInfo = RuleInfo {
    id: "container-name-format",
    level: Level::Warn,
    mutation: None,
    description: "a `container_name` the engine rejects (it must match \
                  `[a-zA-Z0-9][a-zA-Z0-9_.-]+`)",
    anchor: "dclint",
    default_on: true,
};

pub(crate) const UNQUOTED_PORT: RuleInfo = RuleInfo {
    id: "unquoted-port",
    level: Level::Warn,
    mutation: Some("quote-ports"),
    description: "a `ports:` entry with a colon written without quotes: YAML 1.1 readers \
                  turn `22:22` into the number 1342 (base 60)",
    anchor: "dclint",
    default_on: true,
};

pub(crate) const SENSITIVE_MOUNT: RuleInfo = RuleInfo {
    id: "sensitive-host-mount",
    level: Level::Error,
    mutation: Some("drop-credential-mount"),
    description: "a host credential store (~/.ssh, ~/.aws, ~/.kube, ~/.docker, ~/.claude, \
                  ~/.config/gcloud, ~/.azure, ~/.netrc, ~/.gnupg, ~/.git-credentials, or the \
                  home directory holding them) is bind-mounted into a container (error, \
                  fixed by removing the mount); any other sensitive host path (/, /etc, \
                  /proc, /sys, /dev, /boot, /root, /var/lib/docker, …) is a warning",
    anchor: "KICS, compose-lint",
    default_on: true,
};

pub(crate) const HOST_NAMESPACE: RuleInfo = RuleInfo {
    id: "host-namespace",
    level: Level::Warn,
    mutation: None,
    description: "the container shares a host namespace (`network_mode: host`, `pid`, \
                  `ipc`, `uts` or `userns_mode: host`): its isolation from the host is gone",
    anchor: "KICS, compose-lint",
    default_on: true,
};

pub(crate) const UNUSED_VOLUME: RuleInfo = RuleInfo {
    id: "unused-volume",
    level: Level::Warn,
    mutation: None,
    description: "a top-level named volume no service mounts",
    anchor: "ours",
    default_on: true,
};

pub(crate) const UNUSED_NETWORK: RuleInfo = RuleInfo {
    id: "unused-network",
    level: Level::Warn,
    mutation: None,
    description: "a top-level network no service joins",
    anchor: "ours",
    default_on: true,
};

pub(crate) const NO_NEW_PRIVILEGES: RuleInfo = RuleInfo {
    id: "no-new-privileges",
    level: Level::Info,
    mutation: None,
    description: "a service without `security_opt: [no-new-privileges:true]`: a setuid \
                  binary inside can still raise its privileges",
    anchor: "KICS, compose-lint",
    default_on: true,
};

pub(crate) const NO_RESOURCE_LIMITS: RuleInfo = RuleInfo {
    id: "no-resource-limits",
    level: Level::Info,
    mutation: None,
    description: "a service without a memory, CPU or pids limit can starve the host and \
                  every other service",
    anchor: "KICS",
    default_on: true,
};

pub(crate) const IMAGE_NOT_PINNED: RuleInfo = RuleInfo {
    id: "image-not-pinned",
    level: Level::Info,
    mutation: None,
    description: "an image pulled by tag rather than by digest (`@sha256:…`): the registry \
                  can change what the tag means",
    anchor: "KICS",
    default_on: true,
};

pub(crate) const NOT_FOLLOWED: RuleInfo = RuleInfo {
    id: "not-followed",
    level: Level::Info,
    mutation: None,
    description: "an `include:` or `extends:` lint could not follow (a missing file, a \
                  variable in its path, an unknown service, a task's candidate): problems \
                  there are not reported",
    anchor: "ours",
    default_on: true,
};

pub(crate) const PROJECT_NAME: RuleInfo = RuleInfo {
    id: "missing-project-name",
    level: Level::Info,
    mutation: None,
    description: "no top-level `name:` (off by default: the harness names projects per run; \
                  on under Compose v2 it is safe to turn on — only v1 rejects the key)",
    anchor: "dclint",
    default_on: false,
};

pub(crate) const TOP_LEVEL_ORDER: RuleInfo = RuleInfo {
    id: "top-level-keys-order",
    level: Level::Info,
    mutation: None,
    description: "top-level keys out of the conventional order (name, include, services, \
                  networks, volumes, configs, secrets, then x-*) — off by default",
    anchor: "dclint",
    default_on: false,
};

pub(crate) const SERVICES_ORDER: RuleInfo = RuleInfo {
    id: "services-order",
    level: Level::Info,
    mutation: None,
    description: "services not in alphabetical order — off by default",
    anchor: "dclint",
    default_on: false,
};

pub(crate) const SERVICE_KEYS_ORDER: RuleInfo = RuleInfo {
    id: "service-keys-order",
    level: Level::Info,
    mutation: None,
    description: "a service's keys out of the conventional order (image/build first, then \
                  container, network, volume, environment, runtime keys) — off by default",
    anchor: "dclint",
    default_on: false,
};

pub(crate) const UNDEFINED_SECRET: RuleInfo = RuleInfo {
    id: "undefined-secret",
    level: Level::Error,
    mutation: None,
    description: "a service's `secrets:` names a secret the top-level `secrets:` does not \
                  define; Compose rejects the project",
    anchor: "ours",
    default_on: true,
};

pub(crate) const UNDEFINED_CONFIG: RuleInfo = RuleInfo {
    id: "undefined-config",
    level: Level::Error,
    mutation: None,
    description: "a service's `configs:` names a config the top-level `configs:` does not \
                  define; Compose rejects the project",
    anchor: "ours",
    default_on: true,
};

pub(crate) const MISSING_ENV_FILE: RuleInfo = RuleInfo {
    id: "missing-env-file",
    level: Level::Error,
    mutation: None,
    description: "an `env_file:` that does not exist beside the compose file (and is not \
                  `required: false`); Compose refuses to start the project",
    anchor: "ours",
    default_on: true,
};

static RULES: [RuleInfo; 41] = [
    HARDCODED_HOST_PORT,
    REQUIRED_VARIABLE,
    INVALID_INTERPOLATION,
    FIXED_CONTAINER_NAME,
    FIXED_NETWORK_NAME,
    FIXED_VOLUME_NAME,
    LOOPBACK_SERVICE_URL,
    LITERAL_SECRET,
    DOCKER_SOCKET,
    SENSITIVE_MOUNT,
    PRIVILEGED,
    CAP_ADD,
    DUPLICATE_CONTAINER_NAME,
    DUPLICATE_HOST_PORT,
    UNKNOWN_DEPENDENCY,
    UNDEFINED_SECRET,
    UNDEFINED_CONFIG,
    MISSING_ENV_FILE,
    SHARED_EXTERNAL_VOLUME,
    PORT_ALL_INTERFACES,
    MISSING_HEALTHCHECK,
    DEPENDS_ON_NOT_HEALTHY,
    SLOW_HEALTHCHECK,
    NO_RESTART_POLICY,
    REDIS_WITHOUT_VOLUME,
    FLOATING_TAG,
    BUILD_AND_IMAGE,
    CONTAINER_NAME_FORMAT,
    UNQUOTED_PORT,
    HOST_NAMESPACE,
    UNUSED_VOLUME,
    UNUSED_NETWORK,
    OBSOLETE_VERSION,
    NO_NEW_PRIVILEGES,
    NO_RESOURCE_LIMITS,
    IMAGE_NOT_PINNED,
    NOT_FOLLOWED,
    PROJECT_NAME,
    TOP_LEVEL_ORDER,
    SERVICES_ORDER,
    SERVICE_KEYS_ORDER,
];

/// Every rule `lint` can report, errors first.
pub fn rules() -> &'static [RuleInfo] {
    &RULES
}

/// The rule with this id.
pub fn rule(id: &str) -> Option<&'static RuleInfo> {
    RULES.iter().find(|r| r.id == id)
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
