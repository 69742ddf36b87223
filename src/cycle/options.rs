//! What a run and the loop are asked to do, as resolved from the command line.

use std::path::PathBuf;
use std::time::Duration;

use super::CycleError;
use crate::protocol::PortRange;
use crate::run::StepKind;

pub struct RunOptions {
    pub runs_dir: PathBuf,
    pub steps: Vec<StepKind>,
    pub timeout: Duration,
    pub stop_timeout: Duration,
    /// `--instances`; `None`: the task's own `instances`.
    pub instances: Option<usize>,
    pub port_range: Option<PortRange>,
    pub min_confidence: Option<f64>,
}

pub struct LoopOptions {
    pub runs_per_version: u32,
    /// Up to this many runs of a version at once; 1 runs them one after another.
    pub parallel: u32,
    pub until_graduated: bool,
    pub apply: bool,
    pub max_iterations: u32,
    /// At most this many runs in one loop, whatever their versions.
    pub max_runs: u32,
    pub graduate_to: PathBuf,
    /// Who proposes the next version, and within which bounds.
    pub proposer: crate::propose::ProposerOptions,
}

impl LoopOptions {
    /// Only whole-protocol runs count, so a loop that may only end in graduation cannot be
    /// run on a part of the protocol: it would never end, or (before) end in a false verdict.
    pub fn check(&self, partial_steps: bool, instances: Option<usize>) -> Result<(), CycleError> {
        if !self.until_graduated {
            return Ok(());
        }
        if partial_steps {
            return Err(CycleError::GraduateOnPart);
        }
        if instances.is_some_and(|n| n < 2) {
            return Err(CycleError::GraduateOnOneInstance);
        }
        Ok(())
    }
}

/// The steps `--steps`/`--skip` leave, in protocol order; an unknown name is bad input.
pub fn select_steps(only: &[String], skip: &[String]) -> Result<Vec<StepKind>, CycleError> {
    for name in only.iter().chain(skip) {
        if StepKind::from_name(name).is_none() {
            let names: Vec<&str> = StepKind::ALL.iter().map(|k| k.name()).collect();
            return Err(CycleError::UnknownStep {
                name: name.clone(),
                known: names.join(", "),
            });
        }
    }
    Ok(StepKind::ALL
        .into_iter()
        .filter(|k| only.is_empty() || only.iter().any(|n| n == k.name()))
        .filter(|k| !skip.iter().any(|n| n == k.name()))
        .collect())
}
