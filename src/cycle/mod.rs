//! The loop as a library: a task loaded once, its version carried through
//! run → record → score → propose → apply → promote. It never prints: it reports
//! [`Event`]s to the caller, and ends in values the CLI maps to exit codes.

mod context;
mod error;
mod event;
mod execute;
mod interrupt;
mod iterate;
mod lock;
mod options;
mod stop;
mod task;

pub use context::{Context, Runner, writable_dir, write_junit};
pub use error::CycleError;
pub use event::Event;
pub use execute::{Ended, execute};
pub use interrupt::{Interrupt, SIGINT_EXIT, SIGTERM_EXIT};
pub use iterate::{LoopEnd, Proposed, iterate, propose};
pub use lock::{IterateLock, LockError};
pub use options::{LoopOptions, RunOptions, select_steps};
pub use task::{Task, TaskFile, Version};
