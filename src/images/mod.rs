//! Images out of host binaries: no registry is reachable, so every image of the reference
//! stack is `FROM scratch` with a binary and its shared-library closure.

mod build;
mod closure;
mod recipe;

pub use build::{BuildOutcome, build};
pub use closure::closure;
pub use recipe::{
    EXECUTOR_IMAGE, REAPER_IMAGE, REDIS_IMAGE, Recipe, executor, reaper, recipes, redis,
};

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    #[error("`{path}` not found — {fix}")]
    MissingBinary { path: PathBuf, fix: String },
    #[error("cannot read `{path}`: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot resolve the shared libraries of `{path}`: {message}")]
    Closure { path: PathBuf, message: String },
    #[error(
        "`{path}` needs `{library}`, which is not on this machine — install the package that ships it"
    )]
    LibraryNotFound { path: PathBuf, library: String },
    #[error("building image `{tag}` failed: {message}")]
    Build { tag: String, message: String },
    #[error(transparent)]
    Engine(#[from] crate::engine::EngineError),
    #[error("cannot find the harness binary's own path")]
    OwnPath(#[source] std::io::Error),
    #[error("the harness binary has no parent directory")]
    NoParent,
    #[error(
        "no executor binary next to the harness — build it with `cargo build --release -p executor` or pass --executor PATH"
    )]
    NoExecutor,
}
