//! Confirming a draft on the real engine: the config is deployed once the way a run
//! deploys it (its ports published on 127.0.0.1 with engine-assigned host ports, so
//! nothing clashes and nothing listens beyond this machine), every published port of each
//! app is asked for HTTP and WebSocket, and the deployment is removed whatever happened.

use std::path::Path;
use std::time::Duration;

use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

use super::InitError;
use super::draft::{AppDraft, Draft};
use super::infer::{WS_PREFIXES, ws_paths_in};
use super::probe::{self, HEALTH_PATHS, HttpAnswer, Tried};
use super::reported;
use crate::compose::ComposeFile;
use crate::cycle::Interrupt;
use crate::engine::{ComposeCli, Docker};
use crate::protocol::probes::type_name;
use crate::protocol::{Deployment, trial};
use crate::spec::{HttpEndpoint, JsonCheck, WsEndpoint};

/// What the deployment showed, for the report.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Confirmation {
    pub tried: Vec<Tried>,
    /// What removing the trial found; its log files went with the scratch directory.
    #[serde(skip)]
    pub teardown: Value,
}

/// The engine side of a confirmation.
pub struct Engine<'a> {
    pub docker: &'a Docker,
    pub compose: &'a ComposeCli,
    pub interrupt: &'a Interrupt,
    /// Where the trial's compose files and logs go; removed by the caller.
    pub scratch: &'a Path,
    pub timeout: Duration,
}

/// Deploys `file` as run `run` of `task`, fills in what answered, removes the deployment.
pub async fn confirm(
    engine: &Engine<'_>,
    file: &ComposeFile,
    task: &str,
    run: Uuid,
    draft: &mut Draft,
) -> Result<Confirmation, InitError> {
    let plan = trial::plan(
        run,
        task,
        loopback_copy(file),
        engine.scratch,
        engine.timeout,
    );
    let deployment = tokio::select! {
        up = trial::up(engine.docker, engine.compose, &plan) => up.map_err(|e| InitError::Deploy {
            // The error names the file once, in front.
            summary: e.summary.strip_prefix(&format!("{}: ", file.origin)).unwrap_or(&e.summary).to_string(),
            file: file.origin.clone(),
        })?,
        code = engine.interrupt.wait() => {
            trial::down(engine.docker, engine.compose, &plan).await;
            return Err(InitError::Interrupted(code));
        }
    };
    let mut tried = Vec::new();
    let probed = tokio::select! {
        () = probe_apps(engine.docker, draft, &deployment, &mut tried) => None,
        code = engine.interrupt.wait() => Some(code),
    };
    let teardown = trial::down(engine.docker, engine.compose, &plan).await;
    if let Some(code) = probed {
        return Err(InitError::Interrupted(code));
    }
    draft.deployed = true;
    Ok(Confirmation { tried, teardown })
}

/// The config with every published port on 127.0.0.1 and its host port left to the
/// engine: the catalog's own `engine-assigned-port` edit.
fn loopback_copy(file: &ComposeFile) -> ComposeFile {
    let facts = crate::mutate::Facts::default();
    match crate::mutate::apply("engine-assigned-port", file, &facts) {
        // Nothing to change: every port already is.
        Ok(None) => file.clone(),
        Ok(Some(m)) => ComposeFile::parse(&file.origin, &m.yaml, file.first_line)
            .unwrap_or_else(|_| file.clone()),
        Err(e) => {
            tracing::warn!(error = %e, "the trial deploys the ports as the file publishes them");
            file.clone()
        }
    }
}

async fn probe_apps(
    docker: &Docker,
    draft: &mut Draft,
    deployment: &Deployment,
    tried: &mut Vec<Tried>,
) {
    let timeout = Duration::from_secs(5);
    let mut bodies: Vec<(u16, String, Value)> = Vec::new();
    let mut logs = Vec::new();
    for app in &mut draft.apps {
        let log = app_logs(docker, app, deployment).await;
        for path in ws_paths_in(&log) {
            if !app.ws_hints.contains(&path) {
                app.ws_hints.push(path);
            }
        }
        logs.push(log);
        let answers = probe_app(app, deployment, timeout, tried).await;
        for (port, answer) in answers {
            if let Some(json) = answer.json {
                bodies.push((port, answer.path, json));
            }
        }
    }
    reported::fill(draft, &bodies);
    super::stores::confirm(docker, draft, deployment, tried).await;
    let unset = |env: &str| std::env::var(env).map_or(true, |v| v.is_empty());
    reported::warnings(draft, &logs, unset);
}

/// Every published port of `app`: HTTP on the file's own health path and the usual ones,
/// a WebSocket upgrade on the file's own paths and the usual ones. Replaces the app's
/// endpoints with what answered; returns the HTTP answers by container port.
async fn probe_app(
    app: &mut AppDraft,
    deployment: &Deployment,
    timeout: Duration,
    tried: &mut Vec<Tried>,
) -> Vec<(u16, HttpAnswer)> {
    let mut http_paths: Vec<String> = app.http.iter().map(|e| e.path.clone()).collect();
    http_paths.extend(HEALTH_PATHS.iter().map(|p| p.to_string()));
    let mut ws_paths = app.ws_hints.clone();
    ws_paths.extend(WS_PREFIXES.iter().map(|p| p.to_string()));
    let mut answers = Vec::new();
    let (mut http, mut websocket) = (Vec::new(), Vec::new());
    for &port in &app.ports {
        let Some(host_port) = host_port(deployment, &app.service, port) else {
            tried.push(Tried {
                url: format!("{}:{port}", app.service),
                answer: "the engine published no host port for it".into(),
            });
            continue;
        };
        if let Some(answer) = probe::http(host_port, &unique(&http_paths), timeout, tried).await {
            http.push(HttpEndpoint {
                port,
                path: answer.path.clone(),
                status: answer.status,
                json: answer
                    .json
                    .as_ref()
                    .and_then(json_check)
                    .into_iter()
                    .collect(),
            });
            answers.push((port, answer));
        }
        for path in unique(&ws_paths) {
            if probe::websocket(host_port, &path, timeout, tried).await {
                websocket.push(WsEndpoint {
                    port,
                    path,
                    request: None,
                    complete: Default::default(),
                });
                break;
            }
        }
    }
    app.http = http;
    app.websocket = websocket;
    answers
}

/// The app's log so far, colours removed: a server often logs the WebSocket path it
/// listens on, and the keys it runs without.
async fn app_logs(docker: &Docker, app: &AppDraft, deployment: &Deployment) -> String {
    let Some(container) = deployment.container_of(|c| c.service == app.service) else {
        return String::new();
    };
    let logs = docker.logs(&container.id, 200).await.unwrap_or_default();
    without_ansi(&logs)
}

/// Colour codes (`ESC [ … m`) removed, so a path right after one reads as a word.
fn without_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // Up to and including the sequence's final letter.
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn unique(items: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for item in items {
        if !out.contains(item) {
            out.push(item.clone());
        }
    }
    out
}

fn host_port(deployment: &Deployment, service: &str, container_port: u16) -> Option<u16> {
    deployment
        .container_of(|c| c.service == service)
        .and_then(|c| c.host_port(container_port))
        .map(|p| p.host_port)
}

/// A JSON body gets one check: its `status` key (else its first key) exists with the
/// type it has now.
pub(super) fn json_check(body: &Value) -> Option<JsonCheck> {
    let object = body.as_object()?;
    let (key, value) = object
        .get_key_value("status")
        .or_else(|| object.iter().next())?;
    Some(JsonCheck {
        pointer: format!("/{}", reported::escape(key)),
        is: Some(type_name(value).to_string()),
        equals: None,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn colour_codes_do_not_glue_a_path_to_the_word_before_it() {
        let log = "\u{1b}[2mpath\u{1b}[0m\u{1b}[2m=\u{1b}[0m/ws/live done";
        assert_eq!(without_ansi(log), "path=/ws/live done");
        assert_eq!(ws_paths_in(&without_ansi(log)), vec!["/ws/live"]);
    }

    #[test]
    fn a_json_body_is_checked_by_its_status_or_first_key() {
        let check = json_check(&json!({"ok": true, "status": "up"})).unwrap();
        assert_eq!(
            (check.pointer.as_str(), check.is.as_deref()),
            ("/status", Some("string"))
        );
        let check = json_check(&json!({"a/b": 1})).unwrap();
        assert_eq!(
            (check.pointer.as_str(), check.is.as_deref()),
            ("/a~1b", Some("number"))
        );
        assert!(json_check(&json!([1])).is_none() && json_check(&json!({})).is_none());
    }
}
