//! Compose files: loading, and the content address of a candidate config.

pub mod conventions;
pub mod credentials;
mod file;
mod hash;
pub mod interp;
pub mod read;
pub mod secrets;

pub use file::{ComposeError, ComposeFile};
pub use hash::config_hash;
