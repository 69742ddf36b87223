//! Rules over the project as a whole: names that must be unique or well formed, the
//! project's own name, and the order keys are written in (off by default).

use std::collections::BTreeMap;

use super::catalog::{
    CONTAINER_NAME_FORMAT, DUPLICATE_CONTAINER_NAME, PROJECT_NAME, SERVICE_KEYS_ORDER,
    SERVICES_ORDER, TOP_LEVEL_ORDER,
};
use super::finding::{Path, Sink};
use super::run::Ctx;
use super::yaml::{self, key_string};
use crate::compose::interp;

pub(crate) fn check(ctx: &Ctx<'_>, sink: &mut Sink) {
    container_names(ctx, sink);
    let Some(top) = ctx.doc.as_mapping() else {
        return;
    };
    if yaml::get(top, "name").is_none() {
        sink.add(
            &PROJECT_NAME,
            &Path::root(),
            "the file has no top-level `name:`, so the project is named after its directory \
             — add one (Compose v2 accepts it; the end-of-life v1 rejects it)"
                .to_string(),
        );
    }
    let keys: Vec<String> = top.keys().map(key_string).collect();
    top_level_order(&keys, sink);
    services_order(ctx, sink);
    for svc in &ctx.services {
        let keys: Vec<String> = svc.body.keys().map(key_string).collect();
        if let Some((key, after)) = first_out_of_order(&keys, service_key_rank) {
            sink.add(
                &SERVICE_KEYS_ORDER,
                &svc.path.key(&key),
                format!(
                    "`{key}` of `{}` comes after `{after}`; the conventional order is image, \
                     build, container_name, depends_on, volumes, environment, ports, \
                     networks, command, restart, healthcheck, labels, user, …",
                    svc.name
                ),
            );
        }
    }
}

fn container_names(ctx: &Ctx<'_>, sink: &mut Sink) {
    let mut first: BTreeMap<String, String> = BTreeMap::new();
    for svc in &ctx.services {
        let Some(raw) = yaml::get_str(svc.body, "container_name") else {
            continue;
        };
        let name = interp::unset(&raw);
        let path = svc.path.key("container_name");
        if !name.is_empty() && !valid_container_name(&name) {
            sink.add(
                &CONTAINER_NAME_FORMAT,
                &path,
                format!(
                    "`container_name: {name}` is not a name the engine accepts: it must \
                     start with a letter or digit and hold only letters, digits, `_`, `.` \
                     and `-`"
                ),
            );
        }
        match first.get(&name) {
            Some(owner) => sink.add(
                &DUPLICATE_CONTAINER_NAME,
                &path,
                format!(
                    "`{}` and `{owner}` are both named `{name}` (where no variable is set): \
                     the second cannot be created — give each its own name, or none",
                    svc.name
                ),
            ),
            None => {
                first.insert(name, svc.name.clone());
            }
        }
    }
}

pub(crate) fn valid_container_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && name.len() >= 2
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

/// The first key that ranks below a key before it, with that key.
fn first_out_of_order(keys: &[String], rank: fn(&str) -> usize) -> Option<(String, String)> {
    let mut max: Option<&String> = None;
    for k in keys {
        if let Some(m) = max {
            if rank(k) < rank(m) {
                return Some((k.clone(), m.clone()));
            }
            if rank(k) > rank(m) {
                max = Some(k);
            }
        } else {
            max = Some(k);
        }
    }
    None
}

fn top_rank(key: &str) -> usize {
    if key.starts_with("x-") {
        return 0;
    }
    [
        "version", "name", "include", "services", "networks", "volumes", "secrets", "configs",
    ]
    .iter()
    .position(|k| *k == key)
    .map_or(9, |i| i + 1)
}

fn top_level_order(keys: &[String], sink: &mut Sink) {
    if let Some((key, after)) = first_out_of_order(keys, top_rank) {
        sink.add(
            &TOP_LEVEL_ORDER,
            &Path::root().key(&key),
            format!(
                "top-level `{key}` comes after `{after}`; the conventional order is x-*, \
                 version, name, include, services, networks, volumes, secrets, configs"
            ),
        );
    }
}

fn services_order(ctx: &Ctx<'_>, sink: &mut Sink) {
    for pair in ctx.services.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        if b.name.to_lowercase() < a.name.to_lowercase() {
            sink.add(
                &SERVICES_ORDER,
                &b.path,
                format!(
                    "service `{}` comes after `{}`; services are expected in alphabetical \
                     order",
                    b.name, a.name
                ),
            );
        }
    }
}

/// dclint's groups: what it is, what it waits for, its data, its environment, its
/// network, how it runs, how it is operated, who it runs as.
fn service_key_rank(key: &str) -> usize {
    const GROUPS: [&[&str]; 8] = [
        &["image", "build", "container_name"],
        &["depends_on"],
        &["volumes", "volumes_from", "configs", "secrets"],
        &["environment", "env_file"],
        &["ports", "networks", "network_mode", "extra_hosts"],
        &[
            "command",
            "entrypoint",
            "working_dir",
            "restart",
            "healthcheck",
        ],
        &["logging", "labels"],
        &["user", "isolation"],
    ];
    GROUPS
        .iter()
        .position(|g| g.contains(&key))
        .unwrap_or(GROUPS.len())
}

#[cfg(test)]
mod tests {
    use crate::compose::ComposeFile;
    use crate::lint::config::Config;
    use crate::lint::run::{Options, lint_with};
    use crate::lint::tests::{lint_yaml, rule_paths};

    #[test]
    fn duplicate_and_malformed_container_names() {
        let f = lint_yaml(
            "services:\n  a:\n    container_name: web\n  b:\n    container_name: web\n  c:\n    container_name: \"-bad name\"\n  d:\n    container_name: ok_1.x\n",
        );
        assert_eq!(
            rule_paths(&f, "duplicate-container-name"),
            vec!["services.b.container_name"]
        );
        assert_eq!(
            rule_paths(&f, "container-name-format"),
            vec!["services.c.container_name"]
        );
    }

    fn with_all_rules(text: &str) -> Vec<crate::lint::Finding> {
        let config = Config::parse(
            "rules:\n  missing-project-name: info\n  top-level-keys-order: info\n  services-order: info\n  service-keys-order: info\n",
        )
        .unwrap();
        let file = ComposeFile::parse("t.yml", text, 1).unwrap();
        lint_with(
            &file,
            &Options {
                config,
                ..Options::default()
            },
        )
    }

    #[test]
    fn ordering_and_name_rules_are_off_by_default() {
        let text = "volumes:\n  v: {}\nservices:\n  b:\n    ports: [\"127.0.0.1::80\"]\n    image: x:1\n  a:\n    image: x:1\n";
        let f = lint_yaml(text);
        for rule in [
            "missing-project-name",
            "top-level-keys-order",
            "services-order",
            "service-keys-order",
        ] {
            assert!(rule_paths(&f, rule).is_empty(), "{rule}");
        }
        let f = with_all_rules(text);
        assert_eq!(rule_paths(&f, "missing-project-name"), vec![""]);
        assert_eq!(rule_paths(&f, "top-level-keys-order"), vec!["services"]);
        assert_eq!(rule_paths(&f, "services-order"), vec!["services.a"]);
        assert_eq!(
            rule_paths(&f, "service-keys-order"),
            vec!["services.b.image"]
        );
    }

    #[test]
    fn ordered_files_pass_the_ordering_rules() {
        let f = with_all_rules(
            "x-a: 1\nname: p\nservices:\n  a:\n    image: x:1\n    depends_on: [b]\n    environment: {A: 1}\n    ports: [\"127.0.0.1::80\"]\n    restart: always\n    labels: [a]\n    user: me\n    stop_signal: SIGINT\n  b:\n    image: x:1\nvolumes:\n  v: {}\n",
        );
        for rule in [
            "missing-project-name",
            "top-level-keys-order",
            "services-order",
            "service-keys-order",
        ] {
            assert!(rule_paths(&f, rule).is_empty(), "{rule}: {f:#?}");
        }
    }
}
