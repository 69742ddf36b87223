//! The protocol a compose file implies, read from the file alone: apps are the services
//! that publish ports, dependencies the stores others reach by URL or host variable (or
//! that run a well-known store image), keys the key-like variables, persistence the
//! stores with a named volume.

use std::collections::BTreeMap;

use super::draft::{AppDraft, DepDraft, Draft, KeyDraft, Persist};
use crate::compose::ComposeFile;
use crate::compose::conventions::image_base;
use crate::compose::env::environment;
use crate::compose::healthcheck::{Test, healthcheck};
use crate::compose::interp::{self, Op};
use crate::compose::mount::mounts;
use crate::compose::ports::ports;
use crate::compose::secrets::{secret_setting, urls};
use crate::compose::service::{Service, services};
use crate::spec::{DependencyCheck, HttpEndpoint};

/// Images of data stores, by base name prefix, and the port each listens on by default.
const STORES: [(&str, u16); 11] = [
    ("redis", 6379),
    ("valkey", 6379),
    ("keydb", 6379),
    ("postgres", 5432),
    ("mysql", 3306),
    ("mariadb", 3306),
    ("mongo", 27017),
    ("memcached", 11211),
    ("rabbitmq", 5672),
    ("nats", 4222),
    ("etcd", 2379),
];

/// Tools that talk to a store carry its name too; they are not the store.
const STORE_TOOLS: [&str; 6] = ["commander", "insight", "exporter", "ui", "admin", "cli"];

/// URL schemes of calls between web services, not of stores.
const WEB_SCHEMES: [&str; 4] = ["http", "https", "ws", "wss"];

/// Path starts that name a WebSocket endpoint when a file mentions them.
pub(super) const WS_PREFIXES: [&str; 3] = ["/ws", "/websocket", "/socket"];

pub fn infer(file: &ComposeFile) -> Draft {
    let all = services(&file.doc);
    let stores = store_services(&all);
    let apps: Vec<AppDraft> = all
        .iter()
        .filter(|s| !stores.contains_key(&s.name))
        .filter_map(app)
        .collect();
    let dependencies: Vec<DepDraft> = all
        .iter()
        .filter_map(|s| {
            let store = stores.get(&s.name)?;
            let mut aliases = store.aliases.clone();
            aliases.retain(|a| a != &s.name);
            Some(DepDraft {
                service: s.name.clone(),
                check: check(s, store.port),
                reported: None,
                because: store.because.clone(),
                aliases,
            })
        })
        .collect();
    let persistence = all
        .iter()
        .filter(|s| stores.contains_key(&s.name))
        .filter_map(|s| persistence(file, s))
        .collect();
    Draft {
        recover: apps.iter().map(|a| a.service.clone()).collect(),
        apps,
        dependencies,
        keys: keys(&all),
        persistence,
        instances: 2,
        deployed: false,
    }
}

/// An app: a service publishing at least one TCP port.
fn app(svc: &Service<'_>) -> Option<AppDraft> {
    let ports = published_tcp(svc);
    if ports.is_empty() {
        return None;
    }
    Some(AppDraft {
        service: svc.name.clone(),
        http: health_url(svc, &ports).into_iter().collect(),
        websocket: Vec::new(),
        ws_hints: ws_hints(svc),
        ports,
    })
}

/// The container ports a service publishes over TCP, each once, in file order.
pub(super) fn published_tcp(svc: &Service<'_>) -> Vec<u16> {
    let mut out = Vec::new();
    for entry in ports(svc) {
        let Some(p) = entry.spec.published() else {
            continue;
        };
        let (port, proto) = p.container.split_once('/').unwrap_or((&p.container, "tcp"));
        if !proto.eq_ignore_ascii_case("tcp") {
            continue;
        }
        if let Ok(port) = port.trim().parse::<u16>()
            && !out.contains(&port)
        {
            out.push(port);
        }
    }
    out
}

/// A service recognised as a store.
struct Store {
    /// The port to check it on.
    port: Option<u16>,
    /// How it was recognised.
    because: String,
    /// What else apps may call it: the URL schemes they reach it by, its image's name.
    aliases: Vec<String>,
}

impl Store {
    fn new(port: Option<u16>, because: String) -> Store {
        Store {
            port,
            because,
            aliases: Vec::new(),
        }
    }

    fn alias(&mut self, name: &str) {
        let name = name.to_ascii_lowercase();
        if !self.aliases.contains(&name) {
            self.aliases.push(name);
        }
    }
}

/// Stores by service name. A service is one when another reaches it by a non-web URL or
/// a `*_HOST` variable, or when it runs a well-known store image.
fn store_services(all: &[Service<'_>]) -> BTreeMap<String, Store> {
    let names: Vec<&str> = all.iter().map(|s| s.name.as_str()).collect();
    let mut found: BTreeMap<String, Store> = BTreeMap::new();
    for svc in all {
        for entry in environment(svc) {
            let Some(raw) = entry.value.as_deref() else {
                continue;
            };
            let value = interp::unset(raw);
            for url in urls(&value) {
                let host = url.host();
                let web = WEB_SCHEMES
                    .iter()
                    .any(|w| url.scheme.eq_ignore_ascii_case(w));
                if web || host == svc.name || !names.contains(&host) {
                    continue;
                }
                let port = url_port(url.authority);
                let because = format!("`{}` reaches it at {}://{host}", svc.name, url.scheme);
                found
                    .entry(host.to_string())
                    .or_insert_with(|| Store::new(port, because))
                    .alias(url.scheme);
            }
            let key = entry.key.to_ascii_uppercase();
            let host = value.trim();
            if key.ends_with("_HOST") && host != svc.name && names.contains(&host) {
                let because = format!("`{}` reaches it by `{}`", svc.name, entry.key);
                found
                    .entry(host.to_string())
                    .or_insert_with(|| Store::new(None, because));
            }
        }
    }
    for svc in all {
        let Some((base, port)) = svc.image().as_deref().and_then(store_image) else {
            continue;
        };
        let store = found
            .entry(svc.name.clone())
            .or_insert_with(|| Store::new(None, format!("it runs a {base} image")));
        store.port = store.port.or(Some(port));
        store.alias(base);
    }
    // A store whose port is still unknown: the one it exposes or publishes.
    for svc in all {
        if let Some(store) = found.get_mut(&svc.name) {
            store.port = store.port.or_else(|| exposed(svc));
        }
    }
    found
}

/// `(store, default port)` of a well-known store image: `postgres:16` → `postgres`.
fn store_image(image: &str) -> Option<(&'static str, u16)> {
    let base = image_base(image);
    if STORE_TOOLS.iter().any(|t| base.contains(t)) {
        return None;
    }
    STORES
        .iter()
        .find(|(name, _)| base.starts_with(name))
        .copied()
}

/// The port in `user:pass@host:port`.
fn url_port(authority: &str) -> Option<u16> {
    let hostport = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    hostport.rsplit_once(':')?.1.parse().ok()
}

/// The first port a service exposes or publishes.
fn exposed(svc: &Service<'_>) -> Option<u16> {
    let expose = crate::compose::read::get_seq(svc.body, "expose")
        .unwrap_or_default()
        .iter()
        .filter_map(crate::compose::read::scalar)
        .find_map(|p| p.split('/').next()?.trim().parse().ok());
    expose.or_else(|| published_tcp(svc).first().copied())
}

/// The store's own healthcheck when it runs a program directly (a CMD test), else a TCP
/// connect to its port.
fn check(svc: &Service<'_>, port: Option<u16>) -> Option<DependencyCheck> {
    if let Some(Test::Exec(command)) = healthcheck(svc).and_then(|h| h.test)
        && !command.is_empty()
    {
        return Some(DependencyCheck::Exec {
            command,
            expect: None,
        });
    }
    port.map(|port| DependencyCheck::Tcp { port })
}

/// Writing and reading back through `redis-cli` when the store's healthcheck shows it has
/// one; otherwise the volume is named and the commands are left to the author.
fn persistence(file: &ComposeFile, svc: &Service<'_>) -> Option<Persist> {
    let declared = file.owned("volumes");
    let volume = mounts(svc.body, interp::unset)
        .iter()
        .filter_map(|m| m.named_volume().map(str::to_string))
        .find(|v| declared.contains(v))?;
    let test = healthcheck(svc).and_then(|h| h.test);
    let has_redis_cli = match &test {
        Some(Test::Exec(words)) => words.iter().any(|w| w.ends_with("redis-cli")),
        Some(Test::Shell(text)) => text.contains("redis-cli"),
        _ => false,
    };
    if !has_redis_cli {
        return Some(Persist::Unknown {
            service: svc.name.clone(),
            volume,
        });
    }
    let words = |w: &[&str]| w.iter().map(|s| s.to_string()).collect();
    Some(Persist::Exec {
        service: svc.name.clone(),
        volume,
        write: words(&["redis-cli", "SET", "{key}", "{value}"]),
        read: words(&["redis-cli", "GET", "{key}"]),
    })
}

/// Variables that carry an API key: an environment entry with a key-like name (the
/// redactor's, minus passwords: a store's password is not optional) whose value reads
/// a variable. Optional when the file gives it an empty default (`${X:-}`).
fn keys(all: &[Service<'_>]) -> Vec<KeyDraft> {
    let mut out: Vec<KeyDraft> = Vec::new();
    for svc in all {
        for entry in environment(svc) {
            let Some(raw) = entry.value.as_deref() else {
                continue;
            };
            let parsed = interp::parse(raw);
            let [reference] = parsed.refs.as_slice() else {
                continue;
            };
            if !(api_key_like(&entry.key) || api_key_like(&reference.name)) {
                continue;
            }
            if out.iter().any(|k| k.env == reference.name) {
                continue;
            }
            let empty_default = reference.op == Op::Default && parsed.unset.trim().is_empty();
            out.push(KeyDraft {
                env: reference.name.clone(),
                required: !empty_default,
                reported: None,
                warns: false,
            });
        }
    }
    out
}

fn api_key_like(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    let password = ["PASSWORD", "PASSWD", "_PASS"]
        .iter()
        .any(|p| upper.contains(p));
    secret_setting(&upper) && !password
}

/// The endpoint a healthcheck asks on the container's own port:
/// `curl -f http://localhost:8080/healthz`.
fn health_url(svc: &Service<'_>, published: &[u16]) -> Option<HttpEndpoint> {
    let text = match healthcheck(svc)?.test? {
        Test::Shell(s) => s,
        Test::Exec(words) => words.join(" "),
        _ => return None,
    };
    for host in ["localhost", "127.0.0.1"] {
        let Some((_, rest)) = text.split_once(&format!("http://{host}:")) else {
            continue;
        };
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        let Ok(port) = digits.parse::<u16>() else {
            continue;
        };
        if !published.contains(&port) {
            continue;
        }
        let path: String = rest[digits.len()..]
            .chars()
            .take_while(|c| !c.is_whitespace() && !matches!(c, '"' | '\'' | '|' | ';'))
            .collect();
        return Some(HttpEndpoint {
            port,
            path: if path.is_empty() { "/".into() } else { path },
            status: 200,
            json: Vec::new(),
        });
    }
    None
}

/// Paths the file itself gives for a WebSocket: the value of a variable named for one
/// (`WS_PATH: /stream`), and in environment values and the healthcheck, a path starting
/// `/ws`, `/websocket` or `/socket`.
fn ws_hints(svc: &Service<'_>) -> Vec<String> {
    let env = environment(svc);
    let named = env.iter().filter(|e| names_a_websocket(&e.key));
    let mut hints: Vec<String> = named
        .filter_map(|e| e.value.as_deref().map(interp::unset))
        .filter(|v| v.starts_with('/') && !v.contains(char::is_whitespace))
        .collect();
    let mut texts: Vec<String> = env
        .iter()
        .filter_map(|e| e.value.as_deref().map(interp::unset))
        .collect();
    if let Some(test) = healthcheck(svc).and_then(|h| h.test) {
        match test {
            Test::Shell(s) => texts.push(s),
            Test::Exec(words) => texts.push(words.join(" ")),
            _ => {}
        }
    }
    for text in &texts {
        for path in ws_paths_in(text) {
            if !hints.contains(&path) {
                hints.push(path);
            }
        }
    }
    hints
}

/// `WS_PATH`, `WEBSOCKET_PATH`, `SOCKET_PATH`: a variable whose words say WebSocket and
/// path.
fn names_a_websocket(key: &str) -> bool {
    let key = key.to_ascii_uppercase();
    let words: Vec<&str> = key.split('_').collect();
    let ws = words
        .iter()
        .any(|w| matches!(*w, "WS" | "WEBSOCKET" | "SOCKET"));
    ws && words
        .iter()
        .any(|w| matches!(*w, "PATH" | "ROUTE" | "ENDPOINT"))
}

/// Paths in `text` that start `/ws`, `/websocket` or `/socket`: standing alone
/// (`path=/ws/chat`) or as a URL's path (`ws://app:9000/ws`), each once.
pub(super) fn ws_paths_in(text: &str) -> Vec<String> {
    let path_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '/' | '-' | '_' | '.' | ':');
    let mut found: Vec<String> = Vec::new();
    for token in text.split(|c: char| !path_char(c)) {
        // A URL's path comes after its authority; any other token is a path only when it
        // starts with one.
        let path = match token.split_once("://") {
            Some((_, rest)) => rest.find('/').map_or("", |i| &rest[i..]),
            None => token,
        };
        let path = path.trim_end_matches([':', '.']);
        let ws = WS_PREFIXES.iter().any(|p| {
            path.strip_prefix(p)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
        });
        if ws && !found.iter().any(|h| h == path) {
            found.push(path.to_string());
        }
    }
    found
}

#[cfg(test)]
#[path = "infer_tests.rs"]
mod tests;
