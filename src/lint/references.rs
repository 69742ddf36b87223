//! Names that point somewhere: top-level volumes and networks nobody uses, dependencies
//! on services that do not exist, and files lint does not follow.

use std::collections::BTreeSet;

use serde_yaml_ng::Value;

use super::catalog::{NOT_FOLLOWED, UNKNOWN_DEPENDENCY, UNUSED_NETWORK, UNUSED_VOLUME};
use super::finding::{Path, Sink};
use super::run::Ctx;
use super::yaml::{self, Dependency, key_string, untag};
use crate::compose::networks::{Definition, joined, networks};

pub(crate) fn check(ctx: &Ctx<'_>, sink: &mut Sink) {
    unknown_dependencies(ctx, sink);
    let Some(top) = ctx.doc.as_mapping() else {
        return;
    };
    unused(ctx, top, sink);
    if yaml::get(top, "include").is_some() {
        sink.add(
            &NOT_FOLLOWED,
            &Path::root().key("include"),
            "`include:` pulls in other compose files, which this lint does not read: lint \
             each of them on its own"
                .to_string(),
        );
    }
    for svc in &ctx.services {
        if yaml::get(svc.body, "extends").is_some() {
            sink.add(
                &NOT_FOLLOWED,
                &svc.path.key("extends"),
                format!(
                    "`{}` extends another service definition, which this lint does not \
                     merge in: what it inherits is not checked",
                    svc.name
                ),
            );
        }
    }
}

fn unknown_dependencies(ctx: &Ctx<'_>, sink: &mut Sink) {
    for svc in &ctx.services {
        for Dependency {
            name: dep, path, ..
        } in yaml::depends_on(svc)
        {
            if ctx.service(&dep).is_none() {
                sink.add(
                    &UNKNOWN_DEPENDENCY,
                    &path,
                    format!(
                        "`{}` depends on `{dep}`, which is not a service in this file: \
                         Compose rejects the file — fix the name or add the service",
                        svc.name
                    ),
                );
            }
        }
    }
}

/// A short-syntax mount's source names a volume when it is not a path.
fn volume_name(source: &str) -> Option<&str> {
    let s = source.trim();
    let path_like = s.is_empty()
        || s.starts_with('/')
        || s.starts_with('.')
        || s.starts_with('~')
        || s.starts_with('$')
        || s.contains('/');
    (!path_like).then_some(s)
}

fn used_volumes(ctx: &Ctx<'_>) -> BTreeSet<String> {
    let mut used = BTreeSet::new();
    for svc in &ctx.services {
        for v in yaml::get_seq(svc.body, "volumes").unwrap_or_default() {
            match untag(v) {
                Value::String(s) => {
                    if let Some((src, _)) = s.split_once(':')
                        && let Some(name) = volume_name(src)
                    {
                        used.insert(name.to_string());
                    }
                }
                Value::Mapping(m) => {
                    if let Some(src) = yaml::get_str(m, "source") {
                        used.insert(src.trim().to_string());
                    }
                }
                _ => {}
            }
        }
    }
    used
}

fn used_networks(ctx: &Ctx<'_>) -> BTreeSet<String> {
    let mut used = BTreeSet::new();
    for svc in &ctx.services {
        match joined(svc) {
            Some(names) => used.extend(names),
            // A service without `networks:` (and not on another's namespace) joins `default`.
            None => {
                if yaml::get(svc.body, "network_mode").is_none() {
                    used.insert("default".to_string());
                }
            }
        }
    }
    used
}

fn unused(ctx: &Ctx<'_>, top: &serde_yaml_ng::Mapping, sink: &mut Sink) {
    if let Some(volumes) = yaml::get_map(top, "volumes") {
        let used = used_volumes(ctx);
        for name in volumes.keys().map(key_string) {
            if !used.contains(&name) {
                sink.add(
                    &UNUSED_VOLUME,
                    &Path::root().key("volumes").key(&name),
                    format!(
                        "volume `{name}` is defined but no service mounts it — mount it where \
                         the data lives, or drop it"
                    ),
                );
            }
        }
    }
    let defined = networks(ctx.doc);
    if !defined.is_empty() {
        let used = used_networks(ctx);
        for Definition {
            key: name, path, ..
        } in defined
        {
            if !used.contains(&name) {
                sink.add(
                    &UNUSED_NETWORK,
                    &path,
                    format!(
                        "network `{name}` is defined but no service joins it — add it to a \
                         service's `networks:`, or drop it"
                    ),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::lint::tests::{lint_yaml, rule_paths};

    #[test]
    fn unused_volumes_and_networks() {
        let f = lint_yaml(
            "services:\n  a:\n    image: x:1\n    volumes:\n      - data:/data\n      - ./x:/x\n      - type: volume\n        source: logs\n        target: /logs\n    networks: [front]\n  b:\n    image: x:1\n    networks:\n      back: {}\nvolumes:\n  data:\n  logs:\n  spare:\nnetworks:\n  front:\n  back:\n  idle:\n  default:\n",
        );
        assert_eq!(rule_paths(&f, "unused-volume"), vec!["volumes.spare"]);
        assert_eq!(
            rule_paths(&f, "unused-network"),
            vec!["networks.default", "networks.idle"]
        );
        let f = lint_yaml(
            "services:\n  a:\n    image: x:1\nnetworks:\n  default:\n    driver: bridge\n",
        );
        assert!(rule_paths(&f, "unused-network").is_empty());
    }

    #[test]
    fn depends_on_an_unknown_service() {
        let f = lint_yaml(
            "services:\n  a:\n    image: x:1\n    depends_on: [b, ghost]\n  b:\n    image: x:1\n    depends_on:\n      a: {condition: service_started}\n      phantom: {condition: service_started}\n",
        );
        assert_eq!(
            rule_paths(&f, "depends-on-unknown-service"),
            vec!["services.a.depends_on[1]", "services.b.depends_on.phantom"]
        );
    }

    #[test]
    fn include_and_extends_are_reported() {
        let f = lint_yaml(
            "include:\n  - other.yml\nservices:\n  a:\n    extends:\n      file: base.yml\n      service: web\n  b:\n    image: x:1\n",
        );
        assert_eq!(
            rule_paths(&f, "not-followed"),
            vec!["include", "services.a.extends"]
        );
        let f = lint_yaml("services:\n  a:\n    image: x:1\n");
        assert!(rule_paths(&f, "not-followed").is_empty());
    }
}
