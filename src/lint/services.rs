//! Per-service rules: what stops a second instance, what leaves a crash or a slow start
//! unnoticed, and what loses data or hands out the engine.

use serde_yaml_ng::Value;

use super::catalog::{
    DEPENDS_ON_NOT_HEALTHY, DOCKER_SOCKET, FIXED_CONTAINER_NAME, MISSING_HEALTHCHECK,
    NO_RESTART_POLICY, REDIS_WITHOUT_VOLUME,
};
use super::finding::{Level, Sink};
use super::run::Ctx;
use super::yaml::{self, Dependency, Health, Service, scalar, untag};
use crate::compose::conventions::is_redis;
use crate::compose::conventions::redis_data_dir;
use crate::compose::credentials::is_docker_socket;
use crate::compose::interp;

pub(crate) fn check(ctx: &Ctx<'_>, sink: &mut Sink) {
    for svc in &ctx.services {
        container_name(svc, sink);
        depends_on(ctx, svc, sink);
        docker_socket(svc, sink);
        redis_volume(svc, sink);
        if !ctx.is_one_shot(svc) {
            healthcheck(svc, sink);
            restart(svc, sink);
        }
    }
}

fn container_name(svc: &Service<'_>, sink: &mut Sink) {
    let Some(name) = yaml::get_str(svc.body, "container_name") else {
        return;
    };
    let why = if name.contains('$') {
        format!(
            "`container_name: {name}` is global on the engine, and wherever its variable is \
             unset every instance gets the same name, so the second `up` fails with \"name \
             is already in use\" — drop it and let Compose name containers per project"
        )
    } else {
        format!(
            "`container_name: {name}` is global on the engine, so a second instance of the \
             stack fails with \"name is already in use\" — drop it and let Compose name \
             containers per project"
        )
    };
    sink.add(&FIXED_CONTAINER_NAME, &svc.path.key("container_name"), why);
}

fn healthcheck(svc: &Service<'_>, sink: &mut Sink) {
    let name = &svc.name;
    match yaml::health(svc.body) {
        Health::Present => {}
        Health::Missing => sink.add(
            &MISSING_HEALTHCHECK,
            &svc.path,
            format!(
                "`{name}` has no healthcheck in the file, so nothing can tell when it is ready \
                 or wedged and `depends_on: service_healthy` cannot wait for it (the image may \
                 define its own HEALTHCHECK, which lint cannot see)"
            ),
        ),
        Health::Disabled => sink.add_at(
            &MISSING_HEALTHCHECK,
            Level::Info,
            &svc.path.key("healthcheck"),
            format!("`{name}` disables its healthcheck, so its readiness is never checked"),
        ),
    }
}

fn depends_on(ctx: &Ctx<'_>, svc: &Service<'_>, sink: &mut Sink) {
    for Dependency {
        name: dep,
        condition,
        path,
        ..
    } in yaml::depends_on(svc)
    {
        let Some(target) = ctx.service(&dep) else {
            continue;
        };
        if yaml::health(target.body) != Health::Present {
            continue;
        }
        let condition = condition.unwrap_or_else(|| "service_started".to_string());
        if condition == "service_healthy" || condition == "service_completed_successfully" {
            continue;
        }
        sink.add(
            &DEPENDS_ON_NOT_HEALTHY,
            &path,
            format!(
                "`{}` waits only for `{dep}` to start ({condition}), though `{dep}` has a \
                 healthcheck — use `condition: service_healthy` so it does not race a \
                 dependency that is not ready yet",
                svc.name
            ),
        );
    }
}

fn restart(svc: &Service<'_>, sink: &mut Sink) {
    let name = &svc.name;
    match svc.body.get("restart").map(untag) {
        // YAML 1.1 readers turn an unquoted `no` into false.
        Some(Value::Bool(false)) => no_restart(svc, sink),
        Some(v) if !v.is_null() => {
            if scalar(v).is_some_and(|s| s.trim() == "no") {
                no_restart(svc, sink);
            }
        }
        _ => {
            let policy = yaml::get_map(svc.body, "deploy")
                .and_then(|d| yaml::get_map(d, "restart_policy"))
                .map(|p| yaml::get_str(p, "condition").unwrap_or_else(|| "any".to_string()));
            match policy.as_deref() {
                Some("none") => sink.add(
                    &NO_RESTART_POLICY,
                    &svc.path
                        .key("deploy")
                        .key("restart_policy")
                        .key("condition"),
                    format!(
                        "`{name}` is never restarted (`condition: none`): a crash leaves it \
                         down — use `restart: unless-stopped`"
                    ),
                ),
                Some(_) => {}
                None => sink.add(
                    &NO_RESTART_POLICY,
                    &svc.path,
                    format!(
                        "`{name}` has no restart policy, so a crash or an engine restart \
                         leaves it down — add `restart: unless-stopped`"
                    ),
                ),
            }
        }
    }
}

fn no_restart(svc: &Service<'_>, sink: &mut Sink) {
    sink.add(
        &NO_RESTART_POLICY,
        &svc.path.key("restart"),
        format!(
            "`{}` has `restart: \"no\"`, so a crash or an engine restart leaves it down — use \
             `unless-stopped` unless it is a one-shot job",
            svc.name
        ),
    );
}

pub(crate) use crate::compose::mount::Mount;

/// The mounts as lint reads them, with their index in `volumes:`.
pub(crate) fn mounts(svc: &Service<'_>) -> Vec<(usize, Mount)> {
    crate::compose::mount::mounts(svc.body, interp::unset)
        .into_iter()
        .map(|m| (m.index, m))
        .collect()
}

fn docker_socket(svc: &Service<'_>, sink: &mut Sink) {
    for (i, m) in mounts(svc) {
        if is_docker_socket(&m.source) {
            sink.add(
                &DOCKER_SOCKET,
                &svc.path.key("volumes").index(i),
                format!(
                    "`{}` mounts the Docker socket, which gives it full control of the \
                     engine — root on the host, read-only or not; make sure it needs to",
                    svc.name
                ),
            );
        }
    }
}

fn redis_volume(svc: &Service<'_>, sink: &mut Sink) {
    let Some(image) = yaml::get_str(svc.body, "image") else {
        return;
    };
    if !is_redis(&interp::unset(&image)) {
        return;
    }
    let dir = redis_data_dir(svc.body);
    let norm = |p: &str| p.trim().trim_end_matches('/').to_string();
    let at_dir: Vec<Mount> = mounts(svc)
        .into_iter()
        .map(|(_, m)| m)
        .filter(|m| norm(&m.target) == norm(&dir))
        .collect();
    if at_dir.iter().any(|m| !m.anonymous && !m.tmpfs) {
        return;
    }
    let name = &svc.name;
    let message = if at_dir.is_empty() {
        format!(
            "Redis service `{name}` mounts nothing at its data directory {dir}, so its data \
             is lost with the container — mount a named volume there"
        )
    } else {
        format!(
            "Redis service `{name}` has only an anonymous or tmpfs mount at {dir}, which \
             the next `up` after a `down` does not get back — mount a named volume there"
        )
    };
    sink.add(&REDIS_WITHOUT_VOLUME, &svc.path, message);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lint::tests::{at, lint_yaml, rule_paths};

    #[test]
    fn any_container_name_is_an_error() {
        let f = lint_yaml(
            "services:\n  a:\n    container_name: a\n  b:\n    container_name: b_${ID:-default}\n  c:\n    image: x\n",
        );
        assert_eq!(
            rule_paths(&f, "fixed-container-name"),
            vec!["services.a.container_name", "services.b.container_name"]
        );
        let hit = at(&f, "services.b.container_name", "fixed-container-name");
        assert_eq!(hit.level, Level::Error);
        assert_eq!(hit.mutation, Some("drop-container-name"));
    }

    #[test]
    fn healthcheck_missing_disabled_present_and_one_shot() {
        let f = lint_yaml(
            "services:\n  a:\n    image: x\n  b:\n    healthcheck: {disable: true}\n  c:\n    healthcheck: {test: [CMD, true]}\n  migrate:\n    image: m\n  d:\n    depends_on:\n      migrate: {condition: service_completed_successfully}\n    healthcheck: {test: [CMD, true]}\n",
        );
        assert_eq!(
            rule_paths(&f, "missing-healthcheck"),
            vec!["services.a", "services.b.healthcheck"]
        );
        assert_eq!(
            at(&f, "services.a", "missing-healthcheck").level,
            Level::Warn
        );
        let hit = at(&f, "services.b.healthcheck", "missing-healthcheck");
        assert_eq!(hit.level, Level::Info);
        assert!(
            at(&f, "services.a", "missing-healthcheck")
                .message
                .contains("image may define")
        );
    }

    #[test]
    fn depends_on_a_healthy_dependency() {
        let f = lint_yaml(
            "services:\n  db:\n    healthcheck: {test: [CMD, pg_isready]}\n  cache:\n    image: redis\n  a:\n    depends_on: [db, cache, ghost]\n  b:\n    depends_on:\n      db: {condition: service_started}\n      cache: {condition: service_started}\n  c:\n    depends_on:\n      db:\n        condition: service_healthy\n  d:\n    depends_on:\n      db:\n",
        );
        assert_eq!(
            rule_paths(&f, "depends-on-not-healthy"),
            vec![
                "services.a.depends_on[0]",
                "services.b.depends_on.db",
                "services.d.depends_on.db",
            ]
        );
        assert_eq!(
            at(&f, "services.a.depends_on[0]", "depends-on-not-healthy").mutation,
            Some("depends-on-healthy")
        );
    }

    #[test]
    fn restart_policies() {
        let f = lint_yaml(
            "services:\n  a:\n    image: x\n  b:\n    restart: \"no\"\n  c:\n    restart: no\n  d:\n    restart: unless-stopped\n  e:\n    deploy:\n      restart_policy:\n        condition: on-failure\n  f:\n    deploy:\n      restart_policy:\n        condition: none\n  g:\n    restart: always\n    <<: {}\n",
        );
        assert_eq!(
            rule_paths(&f, "no-restart-policy"),
            vec![
                "services.a",
                "services.b.restart",
                "services.c.restart",
                "services.f.deploy.restart_policy.condition",
            ]
        );
    }

    #[test]
    fn a_restart_policy_inherited_through_a_merge_key_counts() {
        let f = lint_yaml(
            "x-base: &base\n  restart: unless-stopped\n  healthcheck: {test: [CMD, true]}\nservices:\n  a:\n    <<: *base\n    image: x\n",
        );
        assert_eq!(rule_paths(&f, "no-restart-policy"), Vec::<String>::new());
        assert_eq!(rule_paths(&f, "missing-healthcheck"), Vec::<String>::new());
    }

    #[test]
    fn docker_socket_short_and_long() {
        let f = lint_yaml(
            "services:\n  a:\n    volumes:\n      - /var/run/docker.sock:/var/run/docker.sock:ro\n      - type: bind\n        source: /run/docker.sock\n        target: /var/run/docker.sock\n      - ./data:/data\n",
        );
        assert_eq!(
            rule_paths(&f, "docker-socket-mounted"),
            vec!["services.a.volumes[0]", "services.a.volumes[1]"]
        );
    }

    #[test]
    fn redis_needs_a_volume_at_its_data_dir() {
        let f = lint_yaml(
            "services:\n  r1:\n    image: redis:7\n  r2:\n    image: redis:7\n    volumes: [redis_data:/data]\n  r3:\n    image: bitnami/redis\n    volumes: [/data]\n  r4:\n    image: harness/redis:local\n    command: [\"--dir\", \"/var/lib/redis\"]\n    volumes: [\"d:/var/lib/redis\"]\n  r5:\n    image: redis\n    volumes:\n      - type: volume\n        source: d\n        target: /data/\n  ui:\n    image: rediscommander/redis-commander\n  web:\n    image: nginx\n",
        );
        assert_eq!(
            rule_paths(&f, "redis-without-volume"),
            vec!["services.r1", "services.r3"]
        );
        assert!(
            at(&f, "services.r3", "redis-without-volume")
                .message
                .contains("anonymous")
        );
    }
}
