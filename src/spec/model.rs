//! The block's schema, as written. Unknown keys are refused so a typo is reported at its
//! line instead of silently checking nothing.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Everything the block declares; roles are keyed by the service that plays them.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SpecFile {
    /// The services users talk to; the first one's first endpoints are the ones probed.
    pub apps: Vec<App>,
    #[serde(default)]
    pub dependencies: Vec<Dependency>,
    /// API keys the stack reads from the environment.
    #[serde(default)]
    pub keys: Vec<ApiKey>,
    /// Data that must survive `down` (without -v) and `up`.
    #[serde(default)]
    pub persistence: Vec<Persistence>,
    #[serde(default)]
    pub restart: Restart,
    /// How many copies must run side by side (multi_instance).
    #[serde(default = "two")]
    pub instances: usize,
    /// What the `lint` step holds the candidate to beyond the gate's levels.
    #[serde(default, skip_serializing_if = "Lint::is_empty")]
    pub lint: Lint,
}

impl SpecFile {
    /// The lint config of this task's gate: the catalog's levels, with the block's raised
    /// rules as errors.
    pub fn gate(&self) -> crate::lint::Config {
        crate::lint::Config::default().raised(&self.lint.errors)
    }
}

/// `lint: {errors: [slow-healthcheck]}`: rules whose findings fail the `lint` step (and a
/// proposal that adds one) although the gate only warns of them — so the task opts into
/// the mutation the rule names. Raising only: a task cannot lower the gate.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Lint {
    #[serde(default)]
    pub errors: Vec<String>,
}

impl Lint {
    fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }
}

/// The most copies multi_instance runs at once (`instances:` and `--instances` alike).
pub const MAX_INSTANCES: usize = 16;

fn two() -> usize {
    2
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct App {
    pub service: String,
    #[serde(default)]
    pub http: Vec<HttpEndpoint>,
    #[serde(default)]
    pub websocket: Vec<WsEndpoint>,
}

/// `GET path` on the host port published for container port `port`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct HttpEndpoint {
    pub port: u16,
    pub path: String,
    #[serde(default = "ok")]
    pub status: u16,
    /// Checks on the JSON body.
    #[serde(default)]
    pub json: Vec<JsonCheck>,
}

fn ok() -> u16 {
    200
}

/// One JSON-pointer check: the value there has type `is` (`string`, `bool`, `number`,
/// `object`, `array`, `null`), or equals `equals`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct JsonCheck {
    pub pointer: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub equals: Option<Value>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct WsEndpoint {
    pub port: u16,
    pub path: String,
    /// Sent once connected; without it the endpoint only has to accept the connection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<JsonRpcRequest>,
    #[serde(default)]
    pub complete: WsCompletion,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct JsonRpcRequest {
    pub method: String,
    #[serde(default)]
    pub params: Value,
}

/// What a complete answer is: `chunks` notifications of method `notification`, their
/// `params.seq` counting from 0, then the response to the request carrying `result`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct WsCompletion {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notification: Option<String>,
    #[serde(default)]
    pub chunks: u64,
}

/// A store the apps need, and how the harness checks it on its own.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Dependency {
    pub service: String,
    /// `exec: {command, expect}` or `tcp: {port}`: one key, as YAML writes a choice.
    #[serde(with = "serde_yaml_ng::with::singleton_map")]
    pub check: DependencyCheck,
    /// Where an app reports that it reached this dependency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reported: Option<Reported>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub enum DependencyCheck {
    /// Run inside the dependency's container; passes on exit 0 and, if given, this output.
    Exec {
        command: Vec<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        expect: Option<String>,
    },
    /// A TCP connect to the container port from inside the project's network.
    Tcp { port: u16 },
}

/// An app endpoint whose JSON body says whether the app reached something.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Reported {
    pub port: u16,
    pub path: String,
    /// JSON pointer to a boolean: `true` when connected.
    pub pointer: String,
}

/// An API key: `required: false` means the stack must come up healthy without it
/// ("degrades gracefully"), report its absence at `reported`, and warn about it.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ApiKey {
    pub env: String,
    #[serde(default)]
    pub required: bool,
    /// Where the app says whether the key is present (a boolean).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reported: Option<Reported>,
    /// Compose or the app must warn when the key is absent.
    #[serde(default)]
    pub warns: bool,
}

/// Data that must survive `down` (without -v) and `up`, kept by the store `service`:
/// written and read back either `through` an app or by `exec` in the store itself.
/// Exactly one of the two (validation says so at the entry's line).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Persistence {
    pub service: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub through: Option<Through>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exec: Option<PersistExec>,
}

/// `PUT` then `GET` of `{path}/<key>` on the app `service`'s container port `port`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Through {
    pub service: String,
    pub port: u16,
    pub path: String,
}

/// Commands run inside the store's container; `{key}` and `{value}` in their arguments
/// are replaced. `read`'s output must contain the value written.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PersistExec {
    pub write: Vec<String>,
    pub read: Vec<String>,
}

impl PersistExec {
    /// `command` with `{key}` and `{value}` filled in.
    pub fn fill(command: &[String], key: &str, value: &str) -> Vec<String> {
        command
            .iter()
            .map(|a| a.replace("{key}", key).replace("{value}", value))
            .collect()
    }
}

/// The services whose crash (SIGKILL of the main process) the restart policy must recover.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Restart {
    #[serde(default)]
    pub recover: Vec<String>,
}
