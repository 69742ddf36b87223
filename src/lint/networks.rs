//! Top-level keys: networks and volumes named globally on the engine, and the obsolete
//! `version:`.

use super::catalog::{
    FIXED_NETWORK_NAME, FIXED_VOLUME_NAME, OBSOLETE_VERSION, SHARED_EXTERNAL_VOLUME,
};
use super::finding::{Path, Sink};
use super::run::Ctx;
use super::services::mounts;
use super::yaml;
use crate::compose::networks::{Definition, networks, volumes};

pub(crate) fn check(ctx: &Ctx<'_>, sink: &mut Sink) {
    let Some(top) = ctx.doc.as_mapping() else {
        return;
    };
    if let Some(version) = yaml::get(top, "version").and_then(yaml::scalar) {
        sink.add(
            &OBSOLETE_VERSION,
            &Path::root().key("version"),
            format!(
                "`version: {version}` is obsolete: Compose v2 ignores it (and warns), and the \
                 file format is the Compose Specification regardless — drop it"
            ),
        );
    }
    let fixed = [
        (
            &FIXED_NETWORK_NAME,
            "network",
            networks(ctx.doc),
            "a second instance shares it (or `down` of one removes it under the other)",
        ),
        (
            &FIXED_VOLUME_NAME,
            "volume",
            volumes(ctx.doc),
            "every instance mounts the same data",
        ),
    ];
    shared_external(ctx, sink);
    for (rule, kind, defined, so) in fixed {
        for (def, name) in named(defined) {
            let key = &def.key;
            sink.add(
                rule,
                &def.path.key("name"),
                format!(
                    "{kind} `{key}` is named `{name}` on the engine instead of per project, so \
                     {so} — drop `name:` and let Compose prefix it with the project name"
                ),
            );
        }
    }
}

/// Mounts that write to an external volume: every instance of the stack mounts that one
/// volume, so their writes meet. Read-only mounts (shared assets) are fine.
fn shared_external(ctx: &Ctx<'_>, sink: &mut Sink) {
    let external: Vec<String> = volumes(ctx.doc)
        .into_iter()
        .filter(|d| d.external())
        .map(|d| d.key)
        .collect();
    for svc in &ctx.services {
        for (i, m) in mounts(svc) {
            let Some(volume) = m.named_volume().filter(|v| external.iter().any(|e| e == v)) else {
                continue;
            };
            if m.read_only {
                continue;
            }
            sink.add(
                &SHARED_EXTERNAL_VOLUME,
                &svc.path.key("volumes").index(i),
                format!(
                    "`{}` writes to the external volume `{volume}`, which every instance of \
                     the stack mounts, so their data meets (multi_instance fails with \
                     `volume_conflict`) — mount it `:ro` if it is only read, or use a volume \
                     of the project's",
                    svc.name
                ),
            );
        }
    }
}

/// The definitions the project creates that carry a `name:`, with it. An external one is
/// meant to be shared: its name is how it is found.
fn named(defined: Vec<Definition<'_>>) -> impl Iterator<Item = (Definition<'_>, String)> {
    defined.into_iter().filter_map(|d| {
        let name = d.body.filter(|_| !d.external())?;
        let name = yaml::get_str(name, "name")?;
        Some((d, name))
    })
}

#[cfg(test)]
mod tests {
    use crate::lint::finding::Level;
    use crate::lint::tests::{at, lint_yaml, rule_paths};

    #[test]
    fn a_read_write_mount_of_an_external_volume_is_shared_by_every_instance() {
        let f = lint_yaml(
            "services:\n  db:\n    image: x\n    volumes:\n      - data:/var/lib/db\n      - assets:/srv:ro\n      - type: volume\n        source: legacy\n        target: /old\n        read_only: true\n      - own:/own\n  app:\n    image: y\n    volumes: [{type: volume, source: legacy, target: /l}]\nvolumes:\n  data: {external: true}\n  assets: {external: true}\n  legacy: {external: {name: old}}\n  own: {}\n",
        );
        assert_eq!(
            rule_paths(&f, "shared-external-volume"),
            vec!["services.app.volumes[0]", "services.db.volumes[0]"]
        );
        let hit = at(&f, "services.db.volumes[0]", "shared-external-volume");
        assert_eq!(hit.level, Level::Warn);
        assert!(
            hit.message.contains(":ro") && hit.message.contains("`data`"),
            "{}",
            hit.message
        );
    }

    #[test]
    fn network_names_on_owned_networks_only() {
        let f = lint_yaml(
            "services:\n  a:\n    image: x\nnetworks:\n  n1:\n    name: fixed_${ID:-default}\n  n2:\n    external: true\n    name: shared\n  n3:\n    external:\n      name: legacy\n  n4:\n  n5: {driver: bridge}\n",
        );
        assert_eq!(
            rule_paths(&f, "fixed-network-name"),
            vec!["networks.n1.name"]
        );
        let hit = at(&f, "networks.n1.name", "fixed-network-name");
        assert_eq!(hit.level, Level::Error);
        assert_eq!(hit.mutation, Some("drop-network-name"));
    }

    #[test]
    fn volume_names_on_owned_volumes_only() {
        let f = lint_yaml(
            "services:\n  a:\n    image: x\n    volumes: [v1:/d, v2:/e]\nvolumes:\n  v1:\n    name: data_${ID:-default}\n  v2:\n    external: true\n    name: shared\n  v3:\n",
        );
        assert_eq!(rule_paths(&f, "fixed-volume-name"), vec!["volumes.v1.name"]);
        let hit = at(&f, "volumes.v1.name", "fixed-volume-name");
        assert_eq!(hit.level, Level::Error);
        assert_eq!(hit.mutation, Some("drop-volume-name"));
    }

    #[test]
    fn version_key() {
        let f = lint_yaml("version: '3.8'\nservices:\n  a:\n    image: x\n");
        let hit = at(&f, "version", "obsolete-version");
        assert_eq!(hit.level, Level::Info);
        assert_eq!(hit.mutation, Some("drop-version-key"));
        let f = lint_yaml("services:\n  a:\n    image: x\n");
        assert!(rule_paths(&f, "obsolete-version").is_empty());
    }
}
