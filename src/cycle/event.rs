//! What the loop tells its caller as it goes; the CLI turns each into lines.

use std::path::Path;

use uuid::Uuid;

use super::Version;
use crate::propose::Outcome;
use crate::run::record::RunRecord;
use crate::run::recorder::Recorded;
use crate::score::Verdict;
use crate::store::VersionRow;

pub enum Event<'a> {
    /// A run has its UUID; nothing of it exists yet.
    Run(Uuid),
    /// The run deploys this version of the task.
    Deploys {
        task: &'a str,
        version: &'a Version,
        /// The Compose CLI that deploys it, as the run file records it (`engine.compose`).
        compose: &'a str,
    },
    Step(&'a crate::protocol::Event<'a>),
    Recorded(&'a Recorded),
    /// The harness could not judge the run: its own fault, not the config's.
    Fault(&'a RunRecord),
    Proposed {
        version: &'a Version,
        outcome: &'a Outcome,
    },
    /// Nothing is written without `--apply`.
    ProposeOnly,
    Applied {
        parent: &'a Version,
        version: &'a VersionRow,
        task: &'a Path,
    },
    MaxIterations(u32),
    MaxRuns(u32),
    Graduated {
        version: &'a Version,
        verdict: &'a Verdict,
        to: &'a Path,
    },
}
