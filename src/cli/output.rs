//! Terminal output: a spinner while a step runs, one line per step when it ends.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use serde_json::Value;

use crate::cycle::{self, Version};
use crate::propose::Outcome as Proposals;
use crate::protocol::Event;
use crate::run::record::{RunRecord, RunStatus};
use crate::run::recorder::Recorded;
use crate::run::{Outcome, Step};

pub struct Reporter {
    json: bool,
    spinner: Option<ProgressBar>,
    /// The bar a version's tally is judged against in the lines after each run.
    min_confidence: Option<f64>,
}

impl Reporter {
    pub fn new(json: bool, min_confidence: Option<f64>) -> Reporter {
        Reporter {
            json,
            spinner: None,
            min_confidence,
        }
    }

    /// The loop's events as lines; with `--json` only the run's UUID, on stderr.
    pub fn cycle(&mut self, event: cycle::Event<'_>) {
        use cycle::Event as E;
        match event {
            E::Run(uuid) => announce(self.json, uuid),
            E::Deploys {
                task,
                version,
                compose,
            } => self.line(&format!(
                "  task {task}   {}   {}   on {compose}",
                version.label(),
                version.file.origin
            )),
            E::Step(event) => self.event(event),
            E::Recorded(recorded) => self.summarise(recorded),
            E::Fault(record) => report_fault(record),
            E::Proposed { version, outcome } => self.proposals(version, outcome),
            E::ProposeOnly => {
                self.line("  (propose-only: nothing written; --apply writes it into the task)")
            }
            E::Applied {
                parent,
                version,
                task,
            } => self.line(&format!(
                "  applied: {} → {} written into {}",
                parent.label(),
                version.label(),
                task.display()
            )),
            E::MaxIterations(max) => {
                self.line(&format!("  stopping: --max-iterations {max} reached"))
            }
            E::MaxRuns(max) => self.line(&format!(
                "  stopping: --max-runs {max} reached before a version graduated"
            )),
            E::Graduated {
                version,
                verdict,
                to,
            } => self.line(&format!(
                "{}  {verdict} → {}",
                version.label(),
                to.display()
            )),
        }
    }

    fn summarise(&self, r: &Recorded) {
        let rec = &r.record;
        let passed = rec.steps.iter().filter(|s| s.passed()).count();
        let status = match rec.status() {
            RunStatus::Success => "passed",
            RunStatus::Failure => "FAILED",
            RunStatus::Partial => "partial (not counted)",
            RunStatus::Error => "NOT JUDGED: harness fault (not counted)",
            RunStatus::Interrupted => "interrupted (not counted)",
        };
        let verdict = crate::score::Verdict::judge(r.tally.0, r.tally.1, self.min_confidence);
        self.line(&format!(
            "  {} {status}: {passed}/{} steps ✓ in {}   {} now {verdict}   → {}",
            rec.version,
            rec.steps.len(),
            format_ms(rec.metrics.duration_ms),
            rec.version,
            r.file.display()
        ));
        for reason in &rec.partial {
            self.line(&format!("    partial: {reason}"));
        }
    }

    /// Every rejected mutation, then the proposal and its diff, or that there is none.
    pub fn proposals(&self, version: &Version, outcome: &Proposals) {
        for a in outcome.attempts.iter().filter(|a| !a.accepted) {
            self.line(&format!("  rejected {}: {}", a.mutation, a.reason));
        }
        match &outcome.proposal {
            Some(p) => {
                self.line(&format!(
                    "  next after {}: {} — {} (answers {})",
                    version.label(),
                    p.mutation.id,
                    p.mutation.reason,
                    p.answers
                ));
                for line in p.diff.lines() {
                    self.line(&format!("    {line}"));
                }
            }
            None => self.line(&format!(
                "  no mutation in the catalog fixes what {} failed on; a human has to look",
                version.label()
            )),
        }
    }

    /// Human lines go to stdout unless `--json` reserved it for the document.
    pub fn line(&self, text: &str) {
        if self.json {
            return;
        }
        match &self.spinner {
            Some(pb) => pb.suspend(|| println!("{text}")),
            None => println!("{text}"),
        }
    }

    pub fn event(&mut self, event: &Event<'_>) {
        if self.json {
            return;
        }
        match event {
            Event::Started(name) => self.start_spinner(name),
            Event::Finished(step) => {
                if let Some(pb) = self.spinner.take() {
                    pb.finish_and_clear();
                }
                self.line(&step_line(step));
            }
        }
    }

    fn start_spinner(&mut self, name: &str) {
        if !std::io::stderr().is_terminal() {
            return;
        }
        let pb = ProgressBar::new_spinner();
        if let Ok(style) = ProgressStyle::with_template("  {spinner} {msg} {elapsed}") {
            pb.set_style(style);
        }
        pb.set_message(name.to_string());
        pb.enable_steady_tick(Duration::from_millis(100));
        self.spinner = Some(pb);
    }
}

/// The run's UUID is the first thing printed; with `--json` stdout is kept for the document.
pub fn announce(json: bool, uuid: uuid::Uuid) {
    if json {
        eprintln!("run {uuid}");
    } else {
        println!("run {uuid}");
    }
}

/// A harness fault ends the command with exit 2; say on stderr what it was and the fix.
pub fn report_fault(record: &RunRecord) {
    if record.status() == RunStatus::Error
        && let Some(error) = &record.error
    {
        eprintln!("error: run {}: {error}", record.execution_uuid);
    }
}

pub fn step_line(step: &Step) -> String {
    let mark = match step.outcome {
        Outcome::Pass => "✓",
        Outcome::Fail(_) => "✗",
        Outcome::Error(_) => "⚠",
        Outcome::Skip(_) => "-",
    };
    let duration = format_ms(step.duration_ms);
    let label = step
        .signature()
        .map(|s| s.to_string())
        .or_else(|| step.fault().map(|f| format!("fault: {f}")));
    match label {
        Some(sig) => format!(
            "  {mark} {:<15} {duration:>8}   {sig:<18} {}",
            step.name,
            headline(&step.evidence)
        ),
        None if matches!(step.outcome, Outcome::Skip(_)) => format!(
            "  {mark} {:<15} {duration:>8}   skipped: {}",
            step.name,
            headline(&step.evidence)
        ),
        None => format!("  {mark} {:<15} {duration:>8}", step.name),
    }
}

pub fn format_ms(ms: u64) -> String {
    if ms < 1000 {
        format!("{ms} ms")
    } else {
        format!("{:.1} s", ms as f64 / 1000.0)
    }
}

/// One line of a step's evidence that says what went wrong: the first `summary` found,
/// else an `error`, else the step's own reason.
fn headline(evidence: &Value) -> String {
    let text = find_key(evidence, "summary")
        .or_else(|| find_key(evidence, "error"))
        .or_else(|| evidence["reason"].as_str().map(str::to_string))
        .unwrap_or_default();
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if text.chars().count() > 120 {
        format!("{}…", text.chars().take(120).collect::<String>())
    } else {
        text
    }
}

/// Depth-first: the first string under `key` anywhere in the evidence.
fn find_key(v: &Value, key: &str) -> Option<String> {
    match v {
        Value::Object(map) => map
            .get(key)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .or_else(|| map.values().find_map(|v| find_key(v, key))),
        Value::Array(items) => items.iter().find_map(|v| find_key(v, key)),
        _ => None,
    }
}
