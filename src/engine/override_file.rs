//! The override file every run adds with `-f`: it labels everything Compose creates with
//! the run's UUID and hands the UUID to every service, so a run is findable by grep and API.

use serde_yaml_ng::{Mapping, Value};
use uuid::Uuid;

use crate::compose::ComposeFile;
use crate::owner::{Owner, Session};

pub const LABEL_RUN: &str = "dev.harness.run";
pub const LABEL_TASK: &str = "dev.harness.task";
/// The harness's pid, for people reading labels; gc judges by [`LABEL_OWNER`].
pub const LABEL_PID: &str = "dev.harness.pid";
/// The owning harness's whole identity (boot, PID namespace, pid, start time, uid):
/// `harness gc` removes a run only when this owner is provably gone.
pub const LABEL_OWNER: &str = "dev.harness.owner";
/// The harness's reaper session: the reaper removes only objects of the session that
/// registered the run.
pub const LABEL_SESSION: &str = "dev.harness.session";

/// The labels every object of run `run` carries, so gc and the reaper find it.
pub fn run_labels(run: Uuid, task: &str) -> Vec<(&'static str, String)> {
    let mut labels = vec![
        (LABEL_RUN, run.to_string()),
        (LABEL_TASK, task.to_string()),
        (LABEL_PID, std::process::id().to_string()),
        (LABEL_SESSION, Session::current().id.clone()),
    ];
    // Without an identity the run still gets labelled; gc then never judges it dead.
    if let Some(owner) = Owner::current() {
        labels.push((LABEL_OWNER, owner.to_string()));
    }
    labels
}

pub fn override_yaml(candidate: &ComposeFile, run: Uuid, task: &str) -> String {
    let labels: Mapping = run_labels(run, task)
        .into_iter()
        .map(|(k, v)| (Value::from(k), Value::from(v)))
        .collect();
    let env = mapping([("EXECUTION_UUID", Value::from(run.to_string()))]);
    let service = mapping([
        ("labels", Value::Mapping(labels.clone())),
        ("environment", Value::Mapping(env)),
    ]);
    // Compose v1 replaces a network or volume entry wholesale instead of merging it, so the
    // override repeats the candidate's own definition and only adds the labels.
    let labelled = |kind: &str, names: Vec<String>| -> Mapping {
        names
            .into_iter()
            .map(|n| {
                let mut body = candidate
                    .doc
                    .get(kind)
                    .and_then(|k| k.get(n.as_str()))
                    .and_then(Value::as_mapping)
                    .cloned()
                    .unwrap_or_default();
                let mut all_labels = existing_labels(body.get("labels"));
                all_labels.extend(labels.clone());
                body.insert("labels".into(), Value::Mapping(all_labels));
                (Value::from(n), Value::Mapping(body))
            })
            .collect()
    };
    let mut doc = Mapping::new();
    // Compose v1 refuses to merge files whose versions differ.
    if let Some(version) = candidate.version_key() {
        doc.insert("version".into(), Value::from(version));
    }
    let services: Mapping = candidate
        .service_names()
        .into_iter()
        .map(|k| (Value::from(k), Value::Mapping(service.clone())))
        .collect();
    doc.insert("services".into(), Value::Mapping(services));
    for kind in ["networks", "volumes"] {
        let mut names = candidate.owned(kind);
        // Compose's implicit default network gets the run's labels too, from its first
        // moment; declaring it is harmless when no service uses it.
        let declared = |name: &str| candidate.doc.get(kind).and_then(|k| k.get(name)).is_some();
        if kind == "networks" && !declared("default") {
            names.push("default".to_string());
        }
        let owned = labelled(kind, names);
        if !owned.is_empty() {
            doc.insert(kind.into(), Value::Mapping(owned));
        }
    }
    serde_yaml_ng::to_string(&doc).unwrap_or_default()
}

/// Labels as a mapping, from either of Compose's forms (`{k: v}` or `["k=v"]`).
fn existing_labels(labels: Option<&Value>) -> Mapping {
    match labels {
        Some(Value::Mapping(m)) => m.clone(),
        Some(Value::Sequence(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(|item| match item.split_once('=') {
                Some((k, v)) => (Value::from(k), Value::from(v)),
                None => (Value::from(item), Value::from("")),
            })
            .collect(),
        _ => Mapping::new(),
    }
}

fn mapping<const N: usize>(entries: [(&str, Value); N]) -> Mapping {
    entries
        .into_iter()
        .map(|(k, v)| (Value::from(k), v))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_services_networks_and_volumes() {
        let candidate = ComposeFile::parse(
            "c.yml",
            "version: '3.8'\nservices:\n  a: {image: x}\n  b: {image: y}\nnetworks:\n  n: {}\n  fixed: {name: shared, labels: {mine: x}}\n  e: {external: true}\nvolumes:\n  v: {}\n  old: {external: {name: theirs}}\n",
            1,
        )
        .unwrap();
        let run = Uuid::new_v4();
        let text = override_yaml(&candidate, run, "t");
        let doc: Value = serde_yaml_ng::from_str(&text).unwrap();
        assert_eq!(doc["version"], Value::from("3.8"));
        for s in ["a", "b"] {
            assert_eq!(
                doc["services"][s]["labels"][LABEL_RUN],
                Value::from(run.to_string())
            );
            assert_eq!(
                doc["services"][s]["environment"]["EXECUTION_UUID"],
                Value::from(run.to_string())
            );
        }
        assert_eq!(doc["networks"]["n"]["labels"][LABEL_TASK], Value::from("t"));
        assert_eq!(
            doc["networks"]["fixed"]["name"],
            Value::from("shared"),
            "{text}"
        );
        assert_eq!(doc["networks"]["fixed"]["labels"]["mine"], Value::from("x"));
        assert!(
            doc["networks"].get("e").is_none(),
            "external networks cannot be relabelled"
        );
        assert_eq!(
            doc["networks"]["default"]["labels"][LABEL_RUN],
            Value::from(run.to_string()),
            "the implicit default network is labelled too"
        );
        assert_eq!(
            doc["volumes"]["v"]["labels"][LABEL_RUN],
            Value::from(run.to_string())
        );
        assert!(
            doc["volumes"].get("old").is_none(),
            "v1's `external: {{name: …}}` is external too: Compose v2 refuses labels on it"
        );
        let owner = doc["networks"]["n"]["labels"][LABEL_OWNER]
            .as_str()
            .unwrap();
        assert_eq!(Owner::parse(owner).as_ref(), Owner::current());
        assert_eq!(
            doc["services"]["a"]["labels"][LABEL_SESSION],
            Value::from(Session::current().id.as_str())
        );
    }
}
