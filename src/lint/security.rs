//! What weakens the wall between a container and its host: privileges, capabilities,
//! host paths and namespaces, and the absence of limits.

use super::catalog::{
    CAP_ADD, HOST_NAMESPACE, NO_NEW_PRIVILEGES, NO_RESOURCE_LIMITS, PRIVILEGED, SENSITIVE_MOUNT,
};
use super::finding::{Level, Sink};
use super::run::Ctx;
use super::services::mounts;
use super::yaml::{self, Service, scalar};
use crate::compose::credentials::{describe, exposed_stores, is_docker_socket};

pub(crate) fn check(ctx: &Ctx<'_>, sink: &mut Sink) {
    for svc in &ctx.services {
        privileged(svc, sink);
        cap_add(svc, sink);
        no_new_privileges(svc, sink);
        sensitive_mounts(svc, sink);
        host_namespaces(svc, sink);
        resource_limits(svc, sink);
    }
}

fn truthy(v: Option<String>) -> bool {
    v.is_some_and(|s| s.trim().eq_ignore_ascii_case("true"))
}

fn privileged(svc: &Service<'_>, sink: &mut Sink) {
    if truthy(yaml::get_str(svc.body, "privileged")) {
        sink.add(
            &PRIVILEGED,
            &svc.path.key("privileged"),
            format!(
                "`{}` runs privileged: every capability and every host device, so a \
                 compromise of the container is a compromise of the host — grant the few \
                 capabilities it needs with `cap_add` instead",
                svc.name
            ),
        );
    }
}

/// Capabilities that amount to root on the host, and those that widen the attack
/// surface a lot; the rest are ordinary.
const CRITICAL_CAPS: [&str; 8] = [
    "ALL",
    "SYS_ADMIN",
    "SYS_MODULE",
    "SYS_RAWIO",
    "SYS_PTRACE",
    "DAC_READ_SEARCH",
    "BPF",
    "SYS_BOOT",
];
const RISKY_CAPS: [&str; 12] = [
    "NET_ADMIN",
    "NET_RAW",
    "SYS_TIME",
    "MKNOD",
    "DAC_OVERRIDE",
    "SETUID",
    "SETGID",
    "SYS_RESOURCE",
    "LINUX_IMMUTABLE",
    "MAC_ADMIN",
    "MAC_OVERRIDE",
    "PERFMON",
];

pub(crate) fn cap_tier(cap: &str) -> Level {
    let c = cap.trim().to_ascii_uppercase();
    let c = c.strip_prefix("CAP_").unwrap_or(&c);
    if CRITICAL_CAPS.contains(&c) {
        Level::Error
    } else if RISKY_CAPS.contains(&c) {
        Level::Warn
    } else {
        Level::Info
    }
}

fn cap_add(svc: &Service<'_>, sink: &mut Sink) {
    let Some(caps) = yaml::get_seq(svc.body, "cap_add") else {
        return;
    };
    for (i, cap) in caps.iter().enumerate() {
        let Some(cap) = scalar(cap) else { continue };
        let level = cap_tier(&cap);
        let why = match level {
            Level::Error => "amounts to root on the host",
            Level::Warn => {
                "widens what a compromised container can do to the host's network, \
                            files or clock"
            }
            Level::Info => "is a narrow capability; make sure the service needs it",
        };
        sink.add_at(
            &CAP_ADD,
            level,
            &svc.path.key("cap_add").index(i),
            format!("`{}` adds capability {cap}, which {why}", svc.name),
        );
    }
}

fn no_new_privileges(svc: &Service<'_>, sink: &mut Sink) {
    let opts = yaml::get_seq(svc.body, "security_opt").unwrap_or_default();
    let set = opts.iter().filter_map(scalar).any(|o| {
        let o = o.replace(' ', "");
        o == "no-new-privileges" || o == "no-new-privileges:true" || o == "no-new-privileges=true"
    });
    if !set {
        sink.add(
            &NO_NEW_PRIVILEGES,
            &svc.path,
            format!(
                "`{}` does not set `security_opt: [\"no-new-privileges:true\"]`, so a setuid \
                 binary in the image can still gain privileges",
                svc.name
            ),
        );
    }
}

/// Host trees whose mount (whole or in part) hands the container the host's
/// configuration, kernel interfaces, devices, binaries or other containers' data.
const SENSITIVE_TREES: [&str; 12] = [
    "/etc",
    "/proc",
    "/sys",
    "/dev",
    "/boot",
    "/root",
    "/usr",
    "/lib",
    "/bin",
    "/sbin",
    "/var/lib/docker",
    "/var/lib/containerd",
];
/// Directories sensitive as a whole, with subdirectories that are ordinary to share
/// (`/home/me/project`, `/var/log/nginx`).
const SENSITIVE_DIRS: [&str; 7] = [
    "/", "/home", "/run", "/var/run", "/var", "/var/lib", "/var/log",
];
/// Read by many images and harmless to share.
const HARMLESS: [&str; 3] = ["/etc/localtime", "/etc/timezone", "/etc/machine-id"];

/// Sensitive, though not a credential store (those are errors of their own).
pub(crate) fn sensitive_path(source: &str) -> bool {
    let s = source.trim();
    if is_docker_socket(s) {
        // Its own rule, at its own (higher) level.
        return false;
    }
    if !s.starts_with('/') {
        return false;
    }
    let s = if s == "/" { s } else { s.trim_end_matches('/') };
    if HARMLESS.contains(&s) {
        return false;
    }
    SENSITIVE_DIRS.contains(&s)
        || SENSITIVE_TREES
            .iter()
            .any(|t| s == *t || s.starts_with(&format!("{t}/")))
}

fn sensitive_mounts(svc: &Service<'_>, sink: &mut Sink) {
    for (i, m) in mounts(svc) {
        if m.anonymous || m.tmpfs {
            continue;
        }
        let at = svc.path.key("volumes").index(i);
        let stores = exposed_stores(&m.source);
        if !stores.is_empty() {
            sink.add(
                &SENSITIVE_MOUNT,
                &at,
                format!(
                    "`{}` mounts the host's {} into the container, so it can read {} and act \
                     as the host's user wherever those credentials reach (read-only or \
                     not) — remove the mount and pass the service only the secret it needs, \
                     as an environment variable or a `secrets:` file",
                    svc.name,
                    m.source.trim(),
                    describe(&stores)
                ),
            );
        } else if sensitive_path(&m.source) {
            sink.add_unfixed(
                &SENSITIVE_MOUNT,
                Level::Warn,
                &at,
                format!(
                    "`{}` mounts the host's {} into the container, exposing host files it \
                     should not see (read-only or not) — mount only the file or directory it \
                     needs",
                    svc.name,
                    m.source.trim()
                ),
            );
        }
    }
}

fn host_namespaces(svc: &Service<'_>, sink: &mut Sink) {
    for key in ["network_mode", "pid", "ipc", "uts", "userns_mode"] {
        if yaml::get_str(svc.body, key).is_some_and(|v| v.trim() == "host") {
            sink.add(
                &HOST_NAMESPACE,
                &svc.path.key(key),
                format!(
                    "`{}` shares the host's {} namespace (`{key}: host`): it sees and can \
                     reach the host's {} — drop it unless the service is a host agent",
                    svc.name,
                    namespace_name(key),
                    namespace_what(key)
                ),
            );
        }
    }
}

fn namespace_name(key: &str) -> &'static str {
    match key {
        "network_mode" => "network",
        "pid" => "process",
        "ipc" => "IPC",
        "uts" => "hostname",
        _ => "user",
    }
}

fn namespace_what(key: &str) -> &'static str {
    match key {
        "network_mode" => "interfaces and every port bound to localhost",
        "pid" => "processes (and can signal them)",
        "ipc" => "shared memory",
        "uts" => "hostname",
        _ => "users (root inside is root outside)",
    }
}

fn resource_limits(svc: &Service<'_>, sink: &mut Sink) {
    let limits = yaml::get_map(svc.body, "deploy")
        .and_then(|d| yaml::get_map(d, "resources"))
        .and_then(|r| yaml::get_map(r, "limits"));
    let has = |deploy_key: &str, service_keys: &[&str]| {
        limits.is_some_and(|l| yaml::get(l, deploy_key).is_some())
            || service_keys
                .iter()
                .any(|k| yaml::get(svc.body, k).is_some())
    };
    let mut missing = Vec::new();
    if !has("memory", &["mem_limit"]) {
        missing.push("memory".to_string());
    }
    if !has("cpus", &["cpus", "cpu_quota"]) {
        missing.push("CPU".to_string());
    }
    if !has("pids", &["pids_limit"]) {
        missing.push("pids".to_string());
    }
    if missing.is_empty() {
        return;
    }
    sink.add(
        &NO_RESOURCE_LIMITS,
        &svc.path,
        format!(
            "`{}` has no {} limit, so a leak or a fork bomb in it can starve the host — set \
             `deploy.resources.limits`",
            svc.name,
            super::yaml::sentence(&missing)
        ),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lint::tests::{lint_yaml, rule_paths};

    fn svc(body: &str) -> String {
        format!("services:\n  app:\n    image: x:1\n{body}")
    }

    #[test]
    fn privileged_fires_and_not() {
        let f = lint_yaml(&svc("    privileged: true\n"));
        assert_eq!(
            rule_paths(&f, "privileged"),
            vec!["services.app.privileged"]
        );
        let f = lint_yaml(&svc("    privileged: false\n"));
        assert!(rule_paths(&f, "privileged").is_empty());
    }

    #[test]
    fn cap_add_is_tiered() {
        let f = lint_yaml(&svc(
            "    cap_add: [ALL, CAP_SYS_ADMIN, NET_ADMIN, CHOWN]\n",
        ));
        let levels: Vec<Level> = f
            .iter()
            .filter(|f| f.rule == "cap-add")
            .map(|f| f.level)
            .collect();
        assert_eq!(
            levels,
            vec![Level::Error, Level::Error, Level::Warn, Level::Info]
        );
        let f = lint_yaml(&svc("    cap_drop: [ALL]\n"));
        assert!(rule_paths(&f, "cap-add").is_empty());
    }

    #[test]
    fn no_new_privileges() {
        let f = lint_yaml(&svc(""));
        assert_eq!(rule_paths(&f, "no-new-privileges"), vec!["services.app"]);
        for opt in [
            "no-new-privileges:true",
            "no-new-privileges",
            "no-new-privileges=true",
        ] {
            let f = lint_yaml(&svc(&format!("    security_opt: [\"{opt}\"]\n")));
            assert!(rule_paths(&f, "no-new-privileges").is_empty(), "{opt}");
        }
    }

    #[test]
    fn sensitive_mounts() {
        let f = lint_yaml(&svc(
            "    volumes:\n      - /:/host:ro\n      - /etc:/etc\n      - ~/.ssh:/root/.ssh\n      - /proc/sys:/x\n      - /etc/localtime:/etc/localtime:ro\n      - ./data:/data\n      - data:/var/lib/x\n      - /var/run/docker.sock:/var/run/docker.sock\n      - type: bind\n        source: /var/lib/docker\n        target: /d\n",
        ));
        assert_eq!(
            rule_paths(&f, "sensitive-host-mount"),
            vec![
                "services.app.volumes[0]",
                "services.app.volumes[1]",
                "services.app.volumes[2]",
                "services.app.volumes[3]",
                "services.app.volumes[8]",
            ]
        );
        let fixable: Vec<(&str, Level)> = f
            .iter()
            .filter(|f| f.rule == "sensitive-host-mount" && f.mutation.is_some())
            .map(|f| (f.path.as_str(), f.level))
            .collect();
        assert_eq!(fixable, vec![("services.app.volumes[2]", Level::Error)]);
        assert!(
            f.iter()
                .filter(|f| f.rule == "sensitive-host-mount" && f.mutation.is_none())
                .all(|f| f.level == Level::Warn)
        );
        assert_eq!(
            rule_paths(&f, "docker-socket-mounted"),
            vec!["services.app.volumes[7]"]
        );
    }

    /// Every credential store, in each way a file names the home directory, in short and
    /// long syntax: one error, fixable, at the mount.
    #[test]
    fn every_credential_store_is_an_error_however_home_is_written() {
        let stores = [
            ".claude",
            ".config/gcloud",
            ".azure",
            ".netrc",
            ".gnupg",
            ".git-credentials",
            ".docker/config.json",
            ".ssh",
            ".aws",
            ".kube",
            ".docker",
        ];
        let homes = [
            "~",
            "$HOME",
            "${HOME}",
            "${HOME:-/home/me}",
            "/home/me",
            "/root",
        ];
        for store in stores {
            for home in homes {
                let source = format!("{home}/{store}");
                for (syntax, body) in [
                    ("short", format!("    volumes:\n      - {source}:/in:ro\n")),
                    (
                        "long",
                        format!(
                            "    volumes:\n      - type: bind\n        source: {source}\n        target: /in\n        read_only: true\n"
                        ),
                    ),
                ] {
                    let f = lint_yaml(&svc(&body));
                    let hits: Vec<&crate::lint::Finding> = f
                        .iter()
                        .filter(|f| f.rule == "sensitive-host-mount")
                        .collect();
                    assert_eq!(hits.len(), 1, "{syntax} {source}: {f:#?}");
                    assert_eq!(hits[0].level, Level::Error, "{syntax} {source}");
                    assert_eq!(hits[0].path, "services.app.volumes[0]");
                    assert_eq!(hits[0].mutation, Some("drop-credential-mount"));
                }
            }
        }
    }

    #[test]
    fn a_variable_with_a_credential_default_is_judged_by_its_default() {
        for source in [
            "${CLAUDE_HOME:-~/.claude}",
            "${CLAUDE_HOME-~/.claude}",
            "${CLAUDE_HOME:-$HOME/.claude}",
            "${GCLOUD:-${HOME}/.config/gcloud}",
        ] {
            let f = lint_yaml(&svc(&format!(
                "    volumes:\n      - {source}:/home/app/.claude:ro\n"
            )));
            assert_eq!(
                rule_paths(&f, "sensitive-host-mount"),
                vec!["services.app.volumes[0]"],
                "{source}"
            );
            assert!(f.iter().any(|f| f.rule == "sensitive-host-mount"
                && f.level == Level::Error
                && f.message.contains("credentials")));
        }
    }

    #[test]
    fn look_alikes_and_project_paths_are_quiet() {
        for source in [
            "~/.claude-themes",
            "./claude",
            "./.claude",
            "~/projects/app",
            "$HOME/code",
            "${CLAUDE_HOME:-./claude}",
            "${CLAUDE_HOME}",
            "~/.config/nvim",
            "~/.sshd-notes",
        ] {
            let f = lint_yaml(&svc(&format!("    volumes:\n      - {source}:/x:ro\n")));
            assert!(
                rule_paths(&f, "sensitive-host-mount").is_empty(),
                "{source}: {f:#?}"
            );
        }
    }

    #[test]
    fn host_namespaces() {
        let f = lint_yaml(&svc(
            "    network_mode: host\n    pid: host\n    ipc: host\n    uts: host\n    userns_mode: host\n",
        ));
        assert_eq!(
            rule_paths(&f, "host-namespace"),
            vec![
                "services.app.ipc",
                "services.app.network_mode",
                "services.app.pid",
                "services.app.userns_mode",
                "services.app.uts",
            ]
        );
        let f = lint_yaml(&svc("    network_mode: bridge\n    ipc: shareable\n"));
        assert!(rule_paths(&f, "host-namespace").is_empty());
    }

    #[test]
    fn resource_limits() {
        let f = lint_yaml(&svc("    mem_limit: 512m\n"));
        assert_eq!(rule_paths(&f, "no-resource-limits"), vec!["services.app"]);
        assert!(
            f.iter()
                .any(|f| f.rule == "no-resource-limits"
                    && f.message.contains("no CPU and pids limit"))
        );
        let f = lint_yaml(&svc(
            "    deploy:\n      resources:\n        limits: {memory: 1g, cpus: '0.5', pids: 100}\n",
        ));
        assert!(rule_paths(&f, "no-resource-limits").is_empty());
    }
}
