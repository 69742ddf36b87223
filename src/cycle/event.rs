//! What the loop tells its caller as it goes, and the lines a person reads of each: the
//! CLI only chooses where they go.

use std::path::Path;

use uuid::Uuid;

use super::{Proposed, Version};
use crate::propose::Outcome;
use crate::run::record::{RunRecord, RunStatus};
use crate::run::recorder::Recorded;
use crate::run::{RunId, format_ms};
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
        /// The project's protocol file, for a prompt without a block of its own.
        protocol: Option<&'a Path>,
    },
    Step(&'a crate::protocol::Event<'a>),
    /// The run is filed; its version's standing counts it now.
    Recorded {
        recorded: &'a Recorded,
        verdict: Verdict,
    },
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
    /// An event of one of several runs going on at once, whose lines would interleave
    /// with the others' without the run's short id.
    Of(RunId, &'a Event<'a>),
}

impl Event<'_> {
    /// What a person reads of the event, one string per terminal line; none for a step
    /// that has only started, or a fault-free run's [`Event::Fault`]. Which stream each
    /// line goes to is the caller's choice.
    pub fn lines(&self) -> Vec<String> {
        match self {
            Event::Run(uuid) => vec![format!("run {uuid}")],
            Event::Deploys {
                task,
                version,
                compose,
                protocol,
            } => vec![format!(
                "  task {task}   {}   {}   on {compose}{}",
                version.label(),
                version.file.origin,
                protocol.map_or(String::new(), |p| format!(
                    "   protocol from {}",
                    p.display()
                ))
            )],
            Event::Step(crate::protocol::Event::Started(_)) => Vec::new(),
            Event::Step(crate::protocol::Event::Finished(step)) => vec![step.to_string()],
            Event::Recorded { recorded, verdict } => recorded_lines(recorded, verdict),
            Event::Fault(record) => fault_line(record).into_iter().collect(),
            Event::Proposed { version, outcome } => proposal_lines(version, outcome),
            Event::ProposeOnly => {
                vec!["  (propose-only: nothing written; --apply writes it into the task)".into()]
            }
            Event::Applied {
                parent,
                version,
                task,
            } => vec![format!(
                "  applied: {} → {} written into {}",
                parent.label(),
                version.label(),
                task.display()
            )],
            Event::MaxIterations(max) => {
                vec![format!("  stopping: --max-iterations {max} reached")]
            }
            Event::MaxRuns(max) => vec![format!(
                "  stopping: --max-runs {max} reached before a version graduated"
            )],
            Event::Graduated {
                version,
                verdict,
                to,
            } => vec![format!("{}  {verdict} → {}", version.label(), to.display())],
            Event::Of(run, event) => event
                .lines()
                .iter()
                .map(|line| tagged(line, *run))
                .collect(),
        }
    }
}

impl Proposed {
    /// What `harness propose` found, as a person reads it.
    pub fn lines(&self) -> Vec<String> {
        match self {
            Proposed::NothingFailed(version) => vec![format!(
                "{} has no failed run: nothing to propose (run `harness run` first)",
                version.label()
            )],
            Proposed::Outcome(version, outcome) => proposal_lines(version, outcome),
        }
    }
}

/// `line` with the run's short id after its indent: `  [3f2a9c1b] ✓ deploy …`.
fn tagged(line: &str, run: RunId) -> String {
    let text = line.trim_start();
    let indent = &line[..line.len() - text.len()];
    format!("{indent}[{}] {text}", run.short())
}

/// The run's status and tally, its version's standing now, and why it was partial.
fn recorded_lines(r: &Recorded, verdict: &Verdict) -> Vec<String> {
    let rec = &r.record;
    let passed = rec.steps.iter().filter(|s| s.passed()).count();
    let status = match rec.status() {
        RunStatus::Success => "passed",
        RunStatus::Failure => "FAILED",
        RunStatus::Partial => "partial (not counted)",
        RunStatus::Error => "NOT JUDGED: harness fault (not counted)",
        RunStatus::Interrupted => "interrupted (not counted)",
    };
    let mut lines = vec![format!(
        "  {} {status}: {passed}/{} steps ✓ in {}   {} now {verdict}   → {}",
        rec.version,
        rec.steps.len(),
        format_ms(rec.metrics.duration_ms),
        rec.version,
        r.file.display()
    )];
    lines.extend(
        rec.partial
            .iter()
            .map(|reason| format!("    partial: {reason}")),
    );
    lines
}

/// What the harness fault was and its fix; none for a run the harness could judge.
fn fault_line(record: &RunRecord) -> Option<String> {
    let error = record.error.as_ref()?;
    (record.status() == RunStatus::Error)
        .then(|| format!("error: run {}: {error}", record.execution_uuid))
}

/// Every rejected mutation, then the proposal and its diff, or that there is none.
fn proposal_lines(version: &Version, outcome: &Outcome) -> Vec<String> {
    let rejected = outcome.attempts.iter().filter(|a| !a.accepted);
    let mut lines: Vec<String> = rejected
        .map(|a| format!("  rejected {}: {}", a.mutation, a.reason))
        .collect();
    match &outcome.proposal {
        Some(p) => {
            lines.push(format!(
                "  next after {}: {} — {} (answers {})",
                version.label(),
                p.mutation.id,
                p.mutation.reason,
                p.answers
            ));
            lines.extend(p.diff.lines().map(|line| format!("    {line}")));
        }
        None => {
            lines.push(format!(
                "  no proposer fixes what {} failed on; a human has to look",
                version.label()
            ));
            lines.extend(outcome.tried.iter().map(|t| format!("    tried {t}")));
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::{RunId, tagged};

    #[test]
    fn a_tagged_line_keeps_its_indent_and_names_its_run() {
        let run =
            RunId::from(uuid::Uuid::parse_str("3f2a9c1b-0000-4000-9000-000000000000").unwrap());
        assert_eq!(tagged("  ✓ deploy", run), "  [3f2a9c1b] ✓ deploy");
        assert_eq!(tagged("run x", run), "[3f2a9c1b] run x");
    }
}
