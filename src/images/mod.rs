//! Images out of host binaries: no registry is reachable, so every image is `FROM
//! scratch` with binaries and their shared-library closures — the stacks' images as the
//! project's recipes file says, and the reaper's.

mod build;
mod closure;
mod file;
mod recipe;

pub use build::{BuildOutcome, build};
pub use closure::closure;
pub use file::{BinaryOverride, recipes};
pub use recipe::{REAPER_IMAGE, Recipe, reaper};

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
        "{path}{}: {problem} — the format: `[[image]]` with `tag`, `dirs` ([{{ path, mode }}]), `instructions` (after FROM scratch and COPY rootfs/ /), and `[[image.binaries]]` with `host`, `at`, `fix`",
        line_of(*.line)
    )]
    Recipes {
        path: PathBuf,
        /// 0 when the problem is not on one line.
        line: usize,
        problem: String,
    },
    #[error(
        "--binary {name}=…: no binary of `{path}` has a `host` named `{name}` — the names are: {known}"
    )]
    UnknownBinary {
        path: PathBuf,
        name: String,
        known: String,
    },
}

fn line_of(line: usize) -> String {
    if line == 0 {
        String::new()
    } else {
        format!(":{line}")
    }
}
