//! What a config means to its author (services, image repositories, container ports,
//! environment keys, named volumes) and what would make it dangerous to run (privileges,
//! host namespaces, the Docker socket, credentials, literal secrets). The gates compare
//! both between the current config and a candidate.

use std::collections::BTreeSet;

use serde_yaml_ng::Value;

use crate::compose::ComposeFile;

/// One thing the author asked for, with the names evidence may use for it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Intent {
    /// "service `cache`", "env key `REDIS_URL` of `app`".
    pub what: String,
    /// The name the failing evidence has to mention for dropping it to be allowed;
    /// `None`: never dropped (a service or a named volume is the task itself, and
    /// evidence names services all the time: a container, a URL's host).
    pub name: Option<String>,
}

impl Intent {
    /// Whether `evidence` names this as a whole word (`API_PORT`, not `API_PORTS`).
    pub fn named_in(&self, evidence: &str) -> bool {
        let Some(name) = &self.name else {
            return false;
        };
        let word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
        evidence.match_indices(name.as_str()).any(|(at, _)| {
            !word(evidence[..at].chars().next_back())
                && !word(evidence[at + name.len()..].chars().next())
        })
    }
}

/// Everything the author asked for in `file`.
pub fn intents(file: &ComposeFile) -> BTreeSet<Intent> {
    let mut out = BTreeSet::new();
    let mut add = |what: String, name: Option<&str>| {
        out.insert(Intent {
            what,
            name: name.map(str::to_string),
        });
    };
    for service in file.service_names() {
        add(format!("service `{service}`"), None);
        let Some(body) = file.service(&service) else {
            continue;
        };
        if let Some(image) = body.get("image").and_then(Value::as_str) {
            let repo = repository(image);
            add(format!("image `{repo}` of `{service}`"), Some(repo));
        }
        for port in seq(body.get("ports")).filter_map(container_port) {
            add(format!("container port {port} of `{service}`"), Some(&port));
        }
        for key in env_keys(body.get("environment")) {
            add(format!("env key `{key}` of `{service}`"), Some(&key));
        }
    }
    if let Some(volumes) = file.doc.get("volumes").and_then(Value::as_mapping) {
        for name in volumes.keys().filter_map(Value::as_str) {
            add(format!("named volume `{name}`"), None);
        }
    }
    out
}

/// Every hazard in `file`, described.
pub fn hazards(file: &ComposeFile) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for service in file.service_names() {
        let Some(body) = file.service(&service) else {
            continue;
        };
        if body.get("privileged").and_then(Value::as_bool) == Some(true) {
            out.insert(format!("privileged mode in `{service}`"));
        }
        for key in ["network_mode", "pid", "ipc", "uts", "userns_mode"] {
            if body.get(key).and_then(Value::as_str) == Some("host") {
                out.insert(format!("host namespace `{key}: host` in `{service}`"));
            }
        }
        for source in seq(body.get("volumes")).filter_map(mount_source) {
            if source.contains("docker.sock") {
                out.insert(format!("Docker socket mount `{source}` in `{service}`"));
            } else if CREDENTIALS.iter().any(|c| source.contains(c)) {
                out.insert(format!("credential mount `{source}` in `{service}`"));
            }
        }
    }
    for literal in crate::mutate::literal_secrets(file) {
        // The value is the secret: only its variable is named.
        out.insert(format!(
            "literal secret in `{}` (value {})",
            literal.name,
            super::proposer::digest(literal.value.as_bytes())
                .get(..12)
                .unwrap_or_default()
        ));
    }
    out
}

/// Host paths that hold someone's credentials.
const CREDENTIALS: [&str; 9] = [
    ".ssh",
    ".aws",
    ".docker/config",
    ".kube",
    ".gnupg",
    ".netrc",
    ".config/gcloud",
    "/etc/shadow",
    ".git-credentials",
];

fn seq(value: Option<&Value>) -> impl Iterator<Item = &Value> {
    value
        .and_then(Value::as_sequence)
        .into_iter()
        .flat_map(|s| s.iter())
}

/// `redis:7-alpine` → `redis`; `reg:5000/a/b:1@sha256:..` → `reg:5000/a/b`.
fn repository(image: &str) -> &str {
    let image = image.split('@').next().unwrap_or(image);
    match image.rfind(':') {
        Some(colon) if !image[colon..].contains('/') => &image[..colon],
        _ => image,
    }
}

/// The container side of a `ports:` entry (`"127.0.0.1:8080:80/tcp"` → `80`).
fn container_port(entry: &Value) -> Option<String> {
    let text = match entry {
        Value::Mapping(m) => return m.get("target").map(scalar),
        Value::Number(n) => return Some(n.to_string()),
        Value::String(s) => s.as_str(),
        _ => return None,
    };
    let last = text.rsplit(':').next()?;
    Some(last.split('/').next().unwrap_or(last).to_string())
}

/// The host or volume side of a `volumes:` entry of a service.
fn mount_source(entry: &Value) -> Option<String> {
    match entry {
        Value::Mapping(m) => m.get("source").map(scalar),
        Value::String(s) => Some(s.split(':').next().unwrap_or(s).to_string()),
        _ => None,
    }
}

fn env_keys(env: Option<&Value>) -> Vec<String> {
    match env {
        Some(Value::Mapping(m)) => m.keys().map(scalar).collect(),
        Some(Value::Sequence(s)) => s
            .iter()
            .filter_map(Value::as_str)
            .map(|e| e.split('=').next().unwrap_or(e).to_string())
            .collect(),
        _ => Vec::new(),
    }
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        other => serde_yaml_ng::to_string(other)
            .unwrap_or_default()
            .trim()
            .to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(text: &str) -> ComposeFile {
        ComposeFile::parse("t.yml", text, 1).expect("parses")
    }

    #[test]
    fn intents_name_services_images_ports_env_and_volumes() {
        let f = file(
            "services:\n  app:\n    image: reg:5000/team/app:1.2\n    ports: [\"127.0.0.1:8080:80/tcp\", {target: 9000}]\n    environment: [\"A=1\", B]\nvolumes:\n  data: {}\n",
        );
        let names: Vec<String> = intents(&f).into_iter().map(|i| i.what).collect();
        for want in [
            "service `app`",
            "image `reg:5000/team/app` of `app`",
            "container port 80 of `app`",
            "container port 9000 of `app`",
            "env key `A` of `app`",
            "env key `B` of `app`",
            "named volume `data`",
        ] {
            assert!(names.iter().any(|n| n == want), "{want} in {names:?}");
        }
    }

    #[test]
    fn evidence_names_whole_words_and_never_services() {
        let f = file("services:\n  app:\n    image: x\n    environment: [API_PORT=1]\n");
        let all = intents(&f);
        let key = all
            .iter()
            .find(|i| i.what.contains("API_PORT"))
            .expect("key");
        assert!(key.named_in("error: API_PORT is taken"));
        assert!(!key.named_in("error: API_PORTS is taken"));
        let service = all.iter().find(|i| i.what == "service `app`").expect("svc");
        assert!(!service.named_in("app failed"));
    }

    #[test]
    fn hazards_name_privilege_host_namespaces_sockets_credentials_and_secrets() {
        let f = file(
            "services:\n  app:\n    image: x\n    privileged: true\n    network_mode: host\n    volumes: [\"/var/run/docker.sock:/s\", \"~/.ssh:/root/.ssh:ro\", \"data:/d\"]\n    environment:\n      DB_PASSWORD: planted-pw-9\n",
        );
        let found: Vec<String> = hazards(&f).into_iter().collect();
        assert_eq!(found.len(), 5, "{found:?}");
        assert!(
            found.iter().all(|h| !h.contains("planted-pw-9")),
            "{found:?}"
        );
        let plain = file("services:\n  app:\n    image: x\n    volumes: [\"data:/d\"]\n");
        assert!(hazards(&plain).is_empty());
    }
}
