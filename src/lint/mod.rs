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
//! `locate` then finds each finding's node in the author's bytes (line, column, span)
//! with the lossless parser the fixes use, and `finding` gives it a fingerprint from rule,
//! path and value.
//!
//! The data path: rules (`ports`, `env`, `loopback`, `services`, `networks`, `security`,
//! `images`, `project`, `references`, `declared`, `slow`) → `run` (profile and config levels,
//! suppression comments, `.env`, the override merge) → `fix` (catalog mutations as minimal edits) → `report` (human, JSON,
//! SARIF, GitHub, JUnit). See docs/LINT.md for the rules and their anchors.

mod catalog;
pub mod check;
mod config;
mod declared;
mod dotenv;
mod env;
mod finding;
pub mod fix;
pub mod follow;
mod images;
pub mod input;
// The rules and `check` reach the locator here; it belongs to the compose model.
pub(crate) use crate::compose::locate;
mod loopback;
mod networks;
mod ports;
mod profile;
mod project;
mod references;
pub mod report;
mod run;
mod security;
mod services;
mod slow;
mod suppress;
mod yaml;

#[cfg(test)]
mod tests;

pub use catalog::{rule, rules};
pub use config::{CONFIG_FILE, Config, ConfigError, ConfigErrorKind};
pub use dotenv::Dotenv;
pub use finding::{Finding, Level, RuleInfo};
pub use profile::Profile;
pub use run::{Options, gate, lint, lint_followed, lint_merged, lint_with};
