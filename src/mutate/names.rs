//! Keys to drop: global names that stop or entangle a second instance, and the obsolete
//! `version:`.

use super::apply::{Plan, list};
use super::edit::{Op, Seg, render_path};
use super::tree;
use super::types::Facts;
use crate::compose::ComposeFile;
use crate::compose::networks::{Definition, networks, volumes};

pub(crate) fn drop_container_name(file: &ComposeFile, _: &Facts) -> Option<Plan> {
    let mut ops = Vec::new();
    let mut sites = Vec::new();
    for svc in tree::services(&file.doc) {
        // A name inherited through `<<:` lives in the anchor, which other services may
        // share; only a service's own key is dropped.
        let Some(name) = svc.body.get("container_name") else {
            continue;
        };
        let at = svc.at("container_name").to_vec();
        sites.push(format!(
            "`{}` ({})",
            tree::scalar(name).unwrap_or_default(),
            render_path(&at)
        ));
        ops.push(Op::Remove { at });
    }
    Plan::of(ops, || {
        format!(
            "Remove the fixed container name{} {}: a container name is global on the engine, \
             so a second instance of the stack fails with \"name is already in use\"; Compose \
             names containers per project by itself.",
            plural(sites.len()),
            list(&sites)
        )
    })
}

pub(crate) fn drop_network_name(file: &ComposeFile, _: &Facts) -> Option<Plan> {
    let (ops, sites) = drop_fixed_names(networks(&file.doc), "network");
    Plan::of(ops, || {
        format!(
            "Remove the fixed name{} {}: a named network is shared by every instance of the \
             stack (and `down` of one removes it under the others); without `name:` Compose \
             prefixes it with the project name.",
            plural(sites.len()),
            list(&sites)
        )
    })
}

pub(crate) fn drop_volume_name(file: &ComposeFile, _: &Facts) -> Option<Plan> {
    let (ops, sites) = drop_fixed_names(volumes(&file.doc), "volume");
    Plan::of(ops, || {
        format!(
            "Remove the fixed name{} {}: a named volume is mounted by every instance of the \
             stack, so their data is one (two Redis servers on one append-only file); without \
             `name:` Compose prefixes it with the project name.",
            plural(sites.len()),
            list(&sites)
        )
    })
}

/// Removes `name:` from the definitions the project creates; says which, as `` `name` from
/// <kind> `key` ``. An external one is meant to be shared: its name is how it is found.
fn drop_fixed_names(defined: Vec<Definition<'_>>, kind: &str) -> (Vec<Op>, Vec<String>) {
    let mut ops = Vec::new();
    let mut sites = Vec::new();
    for def in defined.into_iter().filter(|d| d.editable && !d.external()) {
        let Some(name) = def.body.and_then(|b| b.get("name")) else {
            continue;
        };
        sites.push(format!(
            "`{}` from {kind} `{}`",
            tree::scalar(name).unwrap_or_default(),
            def.key
        ));
        ops.push(Op::Remove {
            at: def.path.key("name").to_vec(),
        });
    }
    (ops, sites)
}

pub(crate) fn drop_version_key(file: &ComposeFile, _: &Facts) -> Option<Plan> {
    let version = file.doc.as_mapping()?.get("version")?;
    let shown = tree::scalar(version).unwrap_or_default();
    Some(Plan {
        ops: vec![Op::Remove {
            at: vec![Seg::key("version")],
        }],
        reason: format!(
            "Remove the obsolete top-level `version: {shown}`: Compose v2 ignores it (with a \
             warning) and reads the file as the Compose Specification regardless."
        ),
    })
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

#[cfg(test)]
mod tests {
    use crate::mutate::tests::{applied, changed_lines, not_applicable};

    #[test]
    fn every_container_name_goes() {
        let text = "services:\n  redis:\n    image: redis\n    container_name: cc_redis_${ID:-default}  # fixed\n    restart: always\n\n  app:\n    container_name: app\n    image: app\n";
        let m = applied("drop-container-name", text);
        assert_eq!(
            m.yaml,
            "services:\n  redis:\n    image: redis\n    restart: always\n\n  app:\n    image: app\n"
        );
        assert_eq!(changed_lines(text, &m.yaml), 2);
        assert!(m.reason.contains("`cc_redis_${ID:-default}` (services.redis.container_name) and `app` (services.app.container_name)"), "{}", m.reason);
        not_applicable("drop-container-name", "services:\n  a:\n    image: x\n");
    }

    #[test]
    fn network_names_of_owned_networks_go() {
        let text = "services:\n  a:\n    image: x\nnetworks:\n  # the app's own network\n  net:\n    name: cc_net_${ID:-default}\n    driver: bridge\n  only:\n    name: fixed\n  shared:\n    external: true\n    name: shared\n";
        let m = applied("drop-network-name", text);
        assert_eq!(
            m.yaml,
            "services:\n  a:\n    image: x\nnetworks:\n  # the app's own network\n  net:\n    driver: bridge\n  only: {}\n  shared:\n    external: true\n    name: shared\n"
        );
        not_applicable(
            "drop-network-name",
            "services:\n  a:\n    image: x\nnetworks:\n  n: {external: true, name: x}\n  m:\n",
        );
    }

    #[test]
    fn volume_names_of_owned_volumes_go() {
        let text = "services:\n  r:\n    image: redis\n    volumes: [data:/data, keep:/k]\nvolumes:\n  data:\n    name: redis_data_${ID:-default}\n    driver: local\n  keep:\n    external: true\n    name: shared_keep\n";
        let m = applied("drop-volume-name", text);
        assert_eq!(
            m.yaml,
            "services:\n  r:\n    image: redis\n    volumes: [data:/data, keep:/k]\nvolumes:\n  data:\n    driver: local\n  keep:\n    external: true\n    name: shared_keep\n"
        );
        assert!(
            m.reason
                .contains("`redis_data_${ID:-default}` from volume `data`"),
            "{}",
            m.reason
        );
        not_applicable(
            "drop-volume-name",
            "services:\n  a:\n    image: x\nvolumes:\n  v: {external: true, name: x}\n  w:\n",
        );
    }

    #[test]
    fn version_goes_with_its_blank_line() {
        let text = "version: '3.8'\n\nservices:\n  a:\n    image: x\n";
        let m = applied("drop-version-key", text);
        assert_eq!(m.yaml, "services:\n  a:\n    image: x\n");
        assert!(m.reason.contains("`version: 3.8`"));
        let text = "# my stack\nservices:\n  a:\n    image: x\nversion: \"2\"\n";
        assert_eq!(
            applied("drop-version-key", text).yaml,
            "# my stack\nservices:\n  a:\n    image: x\n"
        );
        not_applicable("drop-version-key", "services:\n  a:\n    image: x\n");
    }
}
