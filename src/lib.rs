//! `harness` makes a Docker Compose deployment prove itself: it deploys a stack, runs a
//! verification protocol against it, and records every run under a UUID in `runs/`, the
//! SQLite scoreboard and the task's prompt.
//!
//! Data flows one way: task → version → deploy → steps → record → score.

#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::todo,
        clippy::unimplemented
    )
)]

pub mod audit;
pub mod cli;
pub mod compose;
pub mod cycle;
pub mod engine;
pub mod errors;
pub mod fix;
pub mod gc;
pub mod images;
pub mod init;
pub mod lint;
pub mod mutate;
pub mod owner;
pub mod project;
pub mod propose;
pub mod protocol;
pub mod reaper;
pub mod redact;
pub mod report;
pub mod run;
pub mod score;
pub mod spec;
pub mod store;
pub mod task;
pub mod user_file;
