//! Scoring is pure: counts in, verdicts out, and the scoreboard table a person reads.

mod imp;
mod table;

pub use imp::{
    MIN_SUCCESSES, SignatureCount, Standing, TARGET_RATIO, Verdict, graduated, ratio, standings,
    wilson_lower,
};
pub use table::table;
