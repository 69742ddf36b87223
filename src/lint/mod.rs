//! Static lint rules over a parsed compose file: problems that can be seen without an engine.
//!
//! Every finding names its rule, a level, a path in the file and — where the mutation
//! catalog has one — the mutation that fixes it. Paths are dotted keys with `[i]` for
//! sequence items (`services.api.ports[0]`); a key that is not a plain word is quoted as
//! `["discovery.type"]`; an `environment:` entry is `environment.KEY` in the mapping form
//! and `environment[i]` in the `- KEY=value` form. A finding about a missing key points at
//! the mapping that lacks it (`services.api` for "no healthcheck").
//!
//! The YAML is read as written (not interpolated), with `<<:` merge keys applied.

mod catalog;
mod env;
mod finding;
mod interp;
mod networks;
mod ports;
mod run;
mod services;
mod yaml;

#[cfg(test)]
mod tests;

pub use catalog::rules;
pub use finding::{Finding, Level, RuleInfo};
pub use run::lint;
