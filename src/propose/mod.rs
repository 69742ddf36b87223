//! From a failed run's evidence to the next version: which mutations could fix it, which
//! of them survive validation, and the one that becomes version N+1.

mod facts;
mod imp;

pub use facts::facts;
pub use imp::{Attempt, Outcome, Proposal, propose, wanted};
