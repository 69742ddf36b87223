//! Per-service keys to add: a restart policy, and a named volume for Redis's data.

use std::collections::HashSet;

use serde_yaml_ng::{Mapping, Value};

use super::apply::{Plan, list};
use super::edit::{Op, RawEdit, Seg, child};
use super::tree::{self, Service};
use super::types::Facts;
use crate::compose::ComposeFile;
use crate::compose::conventions::redis_data_dir;
use crate::compose::interp;

const UNLESS_STOPPED: &str = "unless-stopped";

pub(crate) fn restart_unless_stopped(file: &ComposeFile, _: &Facts) -> Option<Plan> {
    let all = tree::services(&file.doc);
    let mut ops = Vec::new();
    let mut names = Vec::new();
    for svc in &all {
        if tree::is_one_shot(&all, svc) {
            continue;
        }
        if let Some(op) = restart_op(svc) {
            ops.push(op);
            names.push(format!("`{}`", svc.name));
        }
    }
    Plan::of(ops, || {
        format!(
            "Give {} `restart: {UNLESS_STOPPED}`: without a restart policy (or with `\"no\"`) \
             a crash or an engine restart leaves a long-running service down.",
            list(&names)
        )
    })
}

fn restart_op(svc: &Service<'_>) -> Option<Op> {
    match svc.body.get("restart") {
        None | Some(Value::Null) => {
            // A swarm-style policy is a decision already made, even `condition: none`.
            let has_policy = tree::get_map(svc.body, "deploy")
                .and_then(|d| tree::get(d, "restart_policy"))
                .is_some();
            (!has_policy).then(|| Op::Set {
                at: svc.path.to_vec(),
                key: "restart".to_string(),
                value: UNLESS_STOPPED.into(),
            })
        }
        // YAML 1.1 readers turn an unquoted `no` into false.
        Some(Value::Bool(false)) => Some(set_restart(svc)),
        Some(Value::String(s)) if s.trim() == "no" => Some(set_restart(svc)),
        Some(_) => None,
    }
}

fn set_restart(svc: &Service<'_>) -> Op {
    Op::SetStr {
        at: svc.at("restart").to_vec(),
        value: UNLESS_STOPPED.to_string(),
        raw: RawEdit::Render,
    }
}

pub(crate) use crate::compose::mount::Mount;

/// The mounts as the catalog reads them: a malformed reference stays as written.
pub(crate) fn mounts(svc: &Service<'_>) -> Vec<Mount> {
    crate::compose::mount::mounts(svc.body, interp::unset_or_as_written)
}

fn same_dir(a: &str, b: &str) -> bool {
    a.trim().trim_end_matches('/') == b.trim().trim_end_matches('/')
}

/// Mounts a named volume at each store's data directory. The stores are the services the
/// task's protocol says keep data; without a task (lint --fix), every Redis server by image.
pub(crate) fn redis_volume(file: &ComposeFile, facts: &Facts) -> Option<Plan> {
    let all = tree::services(&file.doc);
    let declared: Vec<String> = tree::top_map(&file.doc, "volumes")
        .into_iter()
        .flatten()
        .filter_map(|(k, _)| tree::key_name(k).map(str::to_string))
        .collect();
    let mut used: HashSet<String> = all
        .iter()
        .flat_map(mounts)
        .filter_map(|m| m.named_volume().map(str::to_string))
        .collect();
    let mut ops = Vec::new();
    let mut sites = Vec::new();
    for (svc, dir) in all.iter().filter_map(|svc| store_dir(svc, facts)) {
        let at_dir: Vec<Mount> = mounts(svc)
            .into_iter()
            .filter(|m| same_dir(&m.target, &dir))
            .collect();
        if at_dir.iter().any(Mount::keeps_data) {
            continue;
        }
        let (name, reused) = volume_name(svc, &declared, &used);
        used.insert(name.clone());
        mount_ops(svc, &name, &dir, at_dir.first(), &mut ops);
        if !declared.contains(&name) {
            ops.push(declare(&file.doc, &name));
        }
        let note = if reused {
            " (declared at the top level, but mounted nowhere until now)"
        } else {
            ""
        };
        sites.push(format!("`{name}` at {dir} in `{}`{note}", svc.name));
    }
    Plan::of(ops, || {
        format!(
            "Mount the named volume {}: without one the store keeps its data inside the \
             container, and it is lost whenever the container is recreated.",
            list(&sites)
        )
    })
}

/// Where `svc` keeps its data, if it is a store: Redis's `--dir` (or /data), else the
/// first directory its image declares as a `VOLUME`.
fn store_dir<'a, 'b>(svc: &'b Service<'a>, facts: &Facts) -> Option<(&'b Service<'a>, String)> {
    let image = interp::unset_or_as_written(&svc.image()?);
    let redis = tree::is_redis(&image);
    let store = match facts.stores.is_empty() {
        true => redis,
        false => facts.stores.contains(&svc.name),
    };
    if !store {
        return None;
    }
    let dir = match redis {
        true => redis_data_dir(svc.body),
        false => facts.volumes.get(&image)?.first()?.clone(),
    };
    Some((svc, dir))
}

/// A declared volume no service uses whose name says it is this store's (its service's
/// name, or `redis` for a Redis server), else `<service>_data`.
fn volume_name(svc: &Service<'_>, declared: &[String], used: &HashSet<String>) -> (String, bool) {
    let hints = [svc.name.to_ascii_lowercase(), "redis".to_string()];
    let says_ours = |volume: &str| {
        let volume = volume.to_ascii_lowercase();
        volume
            .split(['_', '-'])
            .any(|word| hints.iter().any(|h| h == word))
    };
    if let Some(free) = declared.iter().find(|d| !used.contains(*d) && says_ours(d)) {
        return (free.clone(), true);
    }
    let mut name = format!("{}_data", svc.name);
    while used.contains(&name) {
        name.push_str("_store");
    }
    let reused = declared.contains(&name);
    (name, reused)
}

fn mount_ops(svc: &Service<'_>, name: &str, dir: &str, replace: Option<&Mount>, ops: &mut Vec<Op>) {
    let spec = format!("{name}:{dir}");
    let volumes = svc.at("volumes").to_vec();
    match replace {
        // An anonymous volume or tmpfs there: it becomes the named volume.
        Some(m) if m.long => {
            let at = child(&volumes, Seg::Index(m.index));
            ops.push(Op::Set {
                at: at.clone(),
                key: "type".into(),
                value: "volume".into(),
            });
            ops.push(Op::Set {
                at: at.clone(),
                key: "source".into(),
                value: name.into(),
            });
            if m.tmpfs && svc_mount_has(svc, m.index, "tmpfs") {
                ops.push(Op::Remove {
                    at: child(&at, Seg::key("tmpfs")),
                });
            }
        }
        Some(m) => ops.push(Op::SetStr {
            at: child(&volumes, Seg::Index(m.index)),
            value: spec,
            raw: RawEdit::Render,
        }),
        None if matches!(svc.body.get("volumes"), Some(Value::Sequence(_))) => {
            ops.push(Op::Push {
                at: volumes,
                value: spec.into(),
            });
        }
        None => ops.push(Op::Set {
            at: svc.path.to_vec(),
            key: "volumes".into(),
            value: Value::Sequence(vec![spec.into()]),
        }),
    }
}

fn svc_mount_has(svc: &Service<'_>, index: usize, key: &str) -> bool {
    tree::get_seq(svc.body, "volumes")
        .and_then(|v| v.get(index))
        .and_then(Value::as_mapping)
        .is_some_and(|m| m.contains_key(key))
}

/// The top-level declaration of a new named volume, with no options.
fn declare(doc: &Value, name: &str) -> Op {
    match doc.as_mapping().and_then(|top| top.get("volumes")) {
        Some(Value::Mapping(_)) => Op::Set {
            at: vec![Seg::key("volumes")],
            key: name.to_string(),
            value: Value::Null,
        },
        _ => {
            let mut m = Mapping::new();
            m.insert(name.into(), Value::Null);
            Op::Set {
                at: Vec::new(),
                key: "volumes".into(),
                value: Value::Mapping(m),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use crate::mutate::Facts;
    use crate::mutate::tests::{
        applied, applied_with, changed_lines, not_applicable, not_applicable_with,
    };

    const RESTART: &str = "restart-unless-stopped";
    const REDIS: &str = "redis-volume";

    #[test]
    fn long_running_services_get_a_policy() {
        let text = "services:\n  a:\n    image: x\n\n  b:\n    image: y\n    restart: \"no\"  # for now\n  c:\n    restart: always\n  migrate:\n    image: m\n  d:\n    image: d\n    depends_on:\n      migrate: {condition: service_completed_successfully}\n    restart: on-failure\n  e:\n    deploy:\n      restart_policy: {condition: none}\n";
        let m = applied(RESTART, text);
        assert_eq!(
            m.yaml,
            "services:\n  a:\n    image: x\n    restart: unless-stopped\n\n  b:\n    image: y\n    restart: \"unless-stopped\"  # for now\n  c:\n    restart: always\n  migrate:\n    image: m\n  d:\n    image: d\n    depends_on:\n      migrate: {condition: service_completed_successfully}\n    restart: on-failure\n  e:\n    deploy:\n      restart_policy: {condition: none}\n"
        );
        assert_eq!(changed_lines(text, &m.yaml), 2);
        assert!(m.reason.contains("`a` and `b`"), "{}", m.reason);
        not_applicable(RESTART, "services:\n  a:\n    restart: unless-stopped\n");
    }

    #[test]
    fn redis_reuses_a_declared_unused_volume() {
        let text = "services:\n  redis:\n    image: harness/redis:local\n    restart: unless-stopped\n\n  app:\n    image: app\n\nvolumes:\n  redis_data:\n    driver: local\n";
        let m = applied(REDIS, text);
        assert_eq!(
            m.yaml,
            "services:\n  redis:\n    image: harness/redis:local\n    restart: unless-stopped\n    volumes:\n      - redis_data:/data\n\n  app:\n    image: app\n\nvolumes:\n  redis_data:\n    driver: local\n"
        );
        assert!(
            m.reason
                .contains("`redis_data` at /data in `redis` (declared at the top level"),
            "{}",
            m.reason
        );
    }

    #[test]
    fn redis_gets_a_new_volume_declared() {
        let text = "services:\n  cache:\n    image: redis:7\n    command: [\"--dir\", \"/var/lib/redis\"]\n    volumes:\n      - ./conf:/usr/local/etc/redis\n";
        let m = applied(REDIS, text);
        assert_eq!(
            m.yaml,
            "services:\n  cache:\n    image: redis:7\n    command: [\"--dir\", \"/var/lib/redis\"]\n    volumes:\n      - ./conf:/usr/local/etc/redis\n      - cache_data:/var/lib/redis\nvolumes:\n  cache_data:\n"
        );
    }

    #[test]
    fn the_task_s_stores_are_chosen_by_role_not_by_image() {
        // The task says `db` keeps its data; its image declares where (`VOLUME`).
        let text = "services:\n  db:\n    image: acme/ledger:2\n  cache:\n    image: redis:7\n";
        let facts = Facts {
            volumes: HashMap::from([("acme/ledger:2".to_string(), vec!["/var/lib/ledger".into()])]),
            stores: vec!["db".into()],
            ..Facts::default()
        };
        let m = applied_with(REDIS, text, &facts);
        assert_eq!(
            m.yaml,
            "services:\n  db:\n    image: acme/ledger:2\n    volumes:\n      - db_data:/var/lib/ledger\n  cache:\n    image: redis:7\nvolumes:\n  db_data:\n"
        );
        assert!(
            m.reason.contains("`db_data` at /var/lib/ledger in `db`"),
            "{}",
            m.reason
        );
        // A store whose image says nothing of where it keeps data is left to a person.
        let unknown = Facts {
            stores: vec!["db".into()],
            ..Facts::default()
        };
        not_applicable_with(REDIS, text, &unknown);
    }

    #[test]
    fn an_anonymous_data_volume_becomes_named() {
        let text =
            "services:\n  r:\n    image: bitnami/redis\n    volumes: [/data]\nvolumes:\n  other:\n";
        let m = applied(REDIS, text);
        assert_eq!(
            m.yaml,
            "services:\n  r:\n    image: bitnami/redis\n    volumes: [r_data:/data]\nvolumes:\n  other:\n  r_data:\n"
        );
    }

    #[test]
    fn redis_with_data_kept_or_no_redis() {
        not_applicable(
            REDIS,
            "services:\n  r:\n    image: redis\n    volumes: [\"d:/data/\"]\n",
        );
        not_applicable(
            REDIS,
            "services:\n  r:\n    image: redis\n    volumes:\n      - ./redis:/data\n",
        );
        not_applicable(
            REDIS,
            "services:\n  ui:\n    image: rediscommander/redis-commander\n",
        );
    }
}
