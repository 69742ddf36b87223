//! CI outputs: a JUnit XML file of runs (one `<testsuite>` per run, one `<testcase>` per
//! step) and a static HTML report of the scoreboard (no JavaScript, opens from disk).
//!
//! Both only read: records come in as values, the scoreboard is opened with
//! `SQLITE_OPEN_READ_ONLY`. Nothing is taken from the environment; records are already
//! redacted when they are written.

mod data;
mod escape;
mod html;
mod junit;
mod paths;
mod svg;

#[cfg(test)]
mod tests;

use std::path::PathBuf;

/// Cutting text to a size on a character boundary: the proposers' context bounds excerpts so.
pub(crate) use escape::truncate_bytes;
pub use html::html;
pub use junit::junit;

/// Why a report could not be written. Each names the file and what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error(
        "cannot serialise the JUnit report: {source} — this is a harness bug, please report it"
    )]
    Junit {
        #[source]
        source: quick_junit::SerializeError,
    },
    #[error("no scoreboard at `{path}` — run `harness run` first, or pass the right one with --db")]
    NoStore { path: PathBuf },
    #[error("cannot open the scoreboard `{path}` read-only: {source} — check the file is readable")]
    Open {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error(
        "cannot read the scoreboard `{path}`: {source} — if it was written by an older harness, any harness command migrates it; `harness audit` checks it for damage"
    )]
    Sql {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error("cannot write the report `{path}`: {source} — check the directory is writable")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}
