//! The reaper: a small container that outlives a killed harness. Each harness holds a
//! connection to it and names its runs before their first `compose up`; when a harness's
//! connection drops and does not come back within its grace period, the reaper removes
//! everything of that harness's runs that carries its session's label. Only clients that
//! prove they know the reaper's secret are heard. `harness gc` stays for a dead reaper or
//! a reboot.

pub mod auth;
mod client;
mod container;
mod server;
mod wire;

use std::path::PathBuf;
use std::time::Duration;

pub use client::Guard;
pub use container::{IMAGE, LABEL, PORT, Reached, default_name, ensure};
pub use server::serve;
pub use wire::{MAX_GRACE, PROTOCOL};

/// How a harness wants to be looked after, from its flags.
#[derive(Debug, Clone)]
pub struct Options {
    /// The reaper container's name: one per user and protocol by default, shared by every
    /// harness of that user on the engine.
    pub name: String,
    /// Where the secret of the reaper this harness starts is kept (0700, the file 0600).
    pub secret_dir: PathBuf,
    /// How long a dropped connection may stay away before its runs are removed.
    pub grace: Duration,
    /// How long a started reaper waits with no harness connected before it exits.
    pub idle: Duration,
}

impl Options {
    /// The options for a reaper `name`d (default: [`default_name`]), with the secret in
    /// [`auth::default_dir`]; none when there is no place for the secret.
    pub fn resolve(name: Option<String>, grace: Duration, idle: Duration) -> Option<Options> {
        let Some(secret_dir) = auth::default_dir() else {
            tracing::warn!(
                "no reaper: neither XDG_RUNTIME_DIR, XDG_CACHE_HOME nor HOME names a place for its secret"
            );
            return None;
        };
        Some(Options {
            name: name.unwrap_or_else(default_name),
            secret_dir,
            grace,
            idle,
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ReaperError {
    #[error(transparent)]
    Engine(#[from] crate::engine::EngineError),
    #[error(transparent)]
    Image(#[from] crate::images::ImageError),
    #[error(
        "the reaper needs the engine's unix socket to mount, but DOCKER_HOST is `{0}` — run with --no-reaper (then only `harness gc` cleans up after a killed harness)"
    )]
    NoSocket(String),
    #[error("the reaper container `{name}` {problem}")]
    Container { name: String, problem: String },
    #[error("the reaper at {addr} did not answer: {problem}")]
    Unanswered { addr: String, problem: String },
    #[error("the reaper at {addr} refused: {problem}")]
    Refused { addr: String, problem: String },
    #[error("the reaper's secret `{}` {problem}", path.display())]
    Secret { path: PathBuf, problem: String },
    #[error("the reaper cannot listen on {addr}: {source}")]
    Listen {
        addr: String,
        #[source]
        source: std::io::Error,
    },
}
