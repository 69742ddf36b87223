//! Terminal output: a spinner while a step runs, one line per step when it ends.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use serde_json::Value;

use crate::protocol::Event;
use crate::run::{Outcome, Step};

pub struct Reporter {
    json: bool,
    spinner: Option<ProgressBar>,
}

impl Reporter {
    pub fn new(json: bool) -> Reporter {
        Reporter {
            json,
            spinner: None,
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
