//! Terminal output: a spinner while a step runs, one line per step when it ends.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use serde_json::Value;

use crate::protocol::{Event, Outcome, Step};

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
        Outcome::Skip => "-",
    };
    let duration = format_ms(step.duration_ms);
    match step.signature() {
        Some(sig) => format!(
            "  {mark} {:<15} {duration:>8}   {sig:<18} {}",
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

/// One line of a step's evidence that says what went wrong.
fn headline(evidence: &Value) -> String {
    let candidates = [
        evidence["error"].as_str().map(str::to_string),
        evidence["failure"]["container"]["last_probe"][1]
            .as_str()
            .map(str::to_string),
        evidence["failure"]["kind"].as_str().map(|k| {
            format!(
                "{k} ({})",
                evidence["failure"]["container"]["name"]
                    .as_str()
                    .unwrap_or("project")
            )
        }),
        evidence["up"]["stderr"].as_str().and_then(last_error_line),
        evidence["fix"].as_str().map(str::to_string),
    ];
    let text = candidates
        .into_iter()
        .flatten()
        .find(|s| !s.trim().is_empty())
        .unwrap_or_default();
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if text.chars().count() > 110 {
        format!("{}…", text.chars().take(110).collect::<String>())
    } else {
        text
    }
}

fn last_error_line(text: &str) -> Option<String> {
    text.lines()
        .rev()
        .find(|l| l.contains("ERROR") || l.contains("Error") || l.contains("error"))
        .or_else(|| text.lines().last())
        .map(str::to_string)
}
