//! What `harness init` knows about a stack before it writes the protocol block: the roles
//! of its services and their checks, each either inferred or left as a gap to fill in.

use serde::Serialize;

use crate::spec::{DependencyCheck, HttpEndpoint, Reported, WsEndpoint};

#[derive(Debug, Clone, Default, Serialize)]
pub struct Draft {
    pub apps: Vec<AppDraft>,
    pub dependencies: Vec<DepDraft>,
    pub keys: Vec<KeyDraft>,
    pub persistence: Vec<Persist>,
    /// The services restart must bring back: the apps.
    pub recover: Vec<String>,
    pub instances: usize,
    /// Whether a deployment confirmed the endpoints (not `--no-deploy`).
    #[serde(skip)]
    pub deployed: bool,
}

/// A service users talk to: one that publishes ports.
#[derive(Debug, Clone, Default, Serialize)]
pub struct AppDraft {
    pub service: String,
    /// The container ports it publishes (TCP).
    pub ports: Vec<u16>,
    pub http: Vec<HttpEndpoint>,
    pub websocket: Vec<WsEndpoint>,
    /// WebSocket paths the file mentions (env values, healthcheck), tried first.
    pub ws_hints: Vec<String>,
}

/// A store an app reaches, and how the harness checks it on its own.
#[derive(Debug, Clone, Serialize)]
pub struct DepDraft {
    pub service: String,
    /// `None`: neither a healthcheck command nor a port to connect to was found.
    pub check: Option<DependencyCheck>,
    pub reported: Option<Reported>,
    /// How it was recognised, for the comment in the block.
    pub because: String,
    /// Other names an app may report it under: the URL scheme it is reached by, its
    /// image's name (`redis` for a service called `cache`).
    pub aliases: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct KeyDraft {
    /// The variable the file reads the key from (what missing_key unsets).
    pub env: String,
    pub required: bool,
    pub reported: Option<Reported>,
    /// An app warned about it when the trial deployment ran without it.
    pub warns: bool,
}

/// Data that must survive `down`/`up` in a store with a named volume.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Persist {
    /// Write and read back by commands run in the store's container.
    Exec {
        service: String,
        /// The volume in the file that keeps it.
        volume: String,
        write: Vec<String>,
        read: Vec<String>,
    },
    /// The store keeps data on `volume`, but no way to write and read it was found.
    Unknown { service: String, volume: String },
}

/// Something the block needs that init could not find: written as a commented
/// placeholder and reported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Gap {
    /// Where in the block, e.g. `apps[web].websocket`.
    pub field: String,
    pub why: String,
}

impl Draft {
    /// Every gap, in block order.
    pub fn gaps(&self) -> Vec<Gap> {
        let mut gaps = Vec::new();
        if self.apps.is_empty() {
            gaps.push(Gap {
                field: "apps".into(),
                why: "no service publishes a port — publish the app's port \
                      (`\"127.0.0.1::<port>\"`) and run init again, or name the app by hand"
                    .into(),
            });
        }
        for app in &self.apps {
            gaps.extend(self.http_gap(app));
            gaps.extend(self.ws_gap(app));
        }
        for dep in self.dependencies.iter().filter(|d| d.check.is_none()) {
            gaps.push(Gap {
                field: format!("dependencies[{}].check", dep.service),
                why: "no CMD healthcheck and no port to connect to — write `exec: {command: \
                      [...]}` or `tcp: {port: N}`"
                    .into(),
            });
        }
        for p in &self.persistence {
            if let Persist::Unknown { service, volume } = p {
                gaps.push(Gap {
                    field: format!("persistence[{service}]"),
                    why: format!(
                        "`{service}` keeps data on volume `{volume}`, but no command to write \
                         and read it back is known — write `exec: {{write, read}}` or \
                         `through: {{service, port, path}}`"
                    ),
                });
            }
        }
        gaps
    }

    pub(super) fn http_gap(&self, app: &AppDraft) -> Option<Gap> {
        if !app.http.is_empty() {
            return None;
        }
        let why = if self.deployed {
            format!(
                "no published port of `{}` answered 2xx on /health, /healthz, /ready or / — \
                 write the endpoint that says it is healthy",
                app.service
            )
        } else {
            "not deployed (--no-deploy) and no healthcheck URL in the file — write the \
             endpoint that says it is healthy, or run init without --no-deploy"
                .to_string()
        };
        Some(Gap {
            field: format!("apps[{}].http", app.service),
            why,
        })
    }

    pub(super) fn ws_gap(&self, app: &AppDraft) -> Option<Gap> {
        if !app.websocket.is_empty() {
            return None;
        }
        let why = if self.deployed {
            format!(
                "no published port of `{}` accepted a WebSocket upgrade on the paths tried \
                 (the file's own — `*WS*_PATH` values and `/ws…` paths — then /ws, /websocket, /socket) — write its path if it has one",
                app.service
            )
        } else {
            "not deployed (--no-deploy): no WebSocket was confirmed — write its path if \
             the app has one"
                .to_string()
        };
        Some(Gap {
            field: format!("apps[{}].websocket", app.service),
            why,
        })
    }
}
