//! Terminal output: the loop's lines on stdout (the run's UUID and faults on stderr under
//! `--json`, which keeps stdout for the document), a spinner while a step runs (one run at
//! a time only).

use std::fmt::Display;
use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

use crate::cycle::Event;
use crate::protocol::Event as StepEvent;

pub struct Reporter {
    json: bool,
    spinner: Option<ProgressBar>,
    /// The steps under way: a run's steps may run side by side.
    running: Vec<&'static str>,
}

impl Reporter {
    pub fn new(json: bool) -> Reporter {
        Reporter {
            json,
            spinner: None,
            running: Vec::new(),
        }
    }

    pub fn cycle(&mut self, event: Event<'_>) {
        let lines = event.lines();
        match event {
            // The run's UUID is the first thing printed, whatever the format.
            Event::Run(_) if self.json => lines.iter().for_each(|l| eprintln!("{l}")),
            // A harness fault ends the command with exit 2: say on stderr what it was.
            Event::Fault(_) => lines.iter().for_each(|l| eprintln!("{l}")),
            Event::Step(StepEvent::Started(name)) => {
                self.running.push(name);
                self.show_running();
            }
            Event::Step(StepEvent::Finished(step)) => {
                self.running.retain(|n| *n != step.name);
                lines.iter().for_each(|l| self.line(l));
                self.show_running();
            }
            // Runs going on at once: each line names its run, and no spinner (one step's
            // spinner would be wrong for the other runs).
            Event::Of(..) => lines.iter().for_each(|l| self.line(l)),
            _ => lines.iter().for_each(|l| self.line(l)),
        }
    }

    /// Human lines go to stdout unless `--json` reserved it for the document.
    fn line(&self, text: &str) {
        if self.json {
            return;
        }
        match &self.spinner {
            Some(pb) => pb.suspend(|| println!("{text}")),
            None => println!("{text}"),
        }
    }

    /// One spinner naming every step under way; gone when none is.
    fn show_running(&mut self) {
        if self.running.is_empty() {
            if let Some(pb) = self.spinner.take() {
                pb.finish_and_clear();
            }
            return;
        }
        if self.json || !std::io::stderr().is_terminal() {
            return;
        }
        let pb = self.spinner.get_or_insert_with(|| {
            let pb = ProgressBar::new_spinner();
            if let Ok(style) = ProgressStyle::with_template("  {spinner} {msg} {elapsed}") {
                pb.set_style(style);
            }
            pb.enable_steady_tick(Duration::from_millis(100));
            pb
        });
        pb.set_message(self.running.join(", "));
    }
}

/// A command's result: the document under `--json`, else the text a person reads.
pub fn print(
    json: bool,
    doc: &(impl Serialize + ?Sized),
    text: impl Display,
) -> Result<(), serde_json::Error> {
    if json {
        println!("{}", serde_json::to_string_pretty(doc)?);
    } else {
        println!("{text}");
    }
    Ok(())
}
