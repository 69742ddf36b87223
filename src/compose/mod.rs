//! Compose files: loading, the content address of a candidate config, and one typed,
//! tolerant reading of a file (services, environment, ports, networks, healthchecks,
//! depends_on, interpolation, paths) that lint, the mutation catalog and the protocol share.

pub mod conventions;
pub mod credentials;
pub mod depends;
pub mod duration;
pub mod env;
mod file;
mod hash;
pub mod healthcheck;
pub mod interp;
pub mod listener;
pub(crate) mod locate;
pub mod mount;
pub mod networks;
pub mod path;
pub mod ports;
pub mod read;
pub mod secrets;
pub mod service;
pub mod url;

pub use file::{ComposeError, ComposeFile};
pub use hash::config_hash;
