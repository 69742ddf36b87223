//! The task prompt: a markdown file that carries the task's candidate compose
//! config (one fenced ```yaml block) and its run metrics / evolution history.
//!
//! Parsing is strict about the parts the harness edits and ignores everything
//! else; edits are byte-range splices so the rest of the file is untouched.

mod edit;
mod error;
mod fence;
mod fields;
mod history;
mod lines;
mod prompt;
mod save;

#[cfg(test)]
mod fixture;
#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;

pub use error::{TableProblem, TaskError};
pub use fields::Metrics;
pub use history::HistoryRow;
pub use prompt::{Prompt, RunUpdate};
