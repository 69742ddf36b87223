//! Fixes are mutations: `lint --fix` makes the findings' fixes with the mutation catalog's
//! planners and lossless editor, so it writes the same minimal diffs `iterate --apply`
//! does. Living here rather than in `lint/` or `mutate/` keeps those two from importing
//! each other: this module reads both.

mod plan;
mod write;

pub use plan::plan;
pub use write::{FixError, Note, Planned, make, plan_all};
