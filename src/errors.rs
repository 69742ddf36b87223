//! Errors of the library, one type per operation. A failed check is not an error: it is a
//! [`crate::run::Step`] with a failing status. These are the things that stop the
//! harness from checking at all.

use std::path::PathBuf;

pub use crate::compose::ComposeError;
pub use crate::engine::EngineError;
pub use crate::images::ImageError;
pub use crate::store::StoreError;
pub use crate::task::TaskError;

/// Writing a run's files under `runs/`.
#[derive(Debug, thiserror::Error)]
#[error(
    "cannot write `{path}`: {source} — check that the directory exists, is writable and the disk has space"
)]
pub struct RecordError {
    pub path: PathBuf,
    #[source]
    pub source: std::io::Error,
}
