//! Lint profiles: which choices are errors depends on what the file is for.
//!
//! `multi-instance` is the harness's own gate (the protocol's `lint` step, `iterate`): it
//! runs several copies of one stack side by side, so a fixed container name, network
//! name, volume name or host port breaks (or entangles) the second copy. `default` is for `harness lint` on any
//! file: a home server runs one copy, and those names and ports are a choice, so they
//! are warnings there; errors stay for what breaks or exposes a stack.

use std::fmt;
use std::str::FromStr;

use super::catalog::{
    FIXED_CONTAINER_NAME, FIXED_NETWORK_NAME, FIXED_VOLUME_NAME, HARDCODED_HOST_PORT,
    SHARED_EXTERNAL_VOLUME,
};
use super::finding::{Level, RuleInfo};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Profile {
    /// Naming and fixed-port choices are warnings.
    Default,
    /// Every rule at its catalog level: what the harness gates a candidate with.
    #[default]
    MultiInstance,
}

/// The rules whose errors only matter when several instances of a stack run at once.
const MULTI_INSTANCE_ONLY: [&RuleInfo; 4] = [
    &HARDCODED_HOST_PORT,
    &FIXED_CONTAINER_NAME,
    &FIXED_NETWORK_NAME,
    &FIXED_VOLUME_NAME,
];

impl Profile {
    pub const ALL: [Profile; 2] = [Profile::Default, Profile::MultiInstance];

    pub fn as_str(self) -> &'static str {
        match self {
            Profile::Default => "default",
            Profile::MultiInstance => "multi-instance",
        }
    }

    /// The level a finding of `rule` gets under this profile, given the level the rule
    /// chose for it and whether its author may have meant it (`choice`).
    pub fn level(self, rule: &str, found: Level, choice: bool) -> Level {
        if self != Profile::Default {
            return found;
        }
        let demoted =
            found == Level::Error && (choice || MULTI_INSTANCE_ONLY.iter().any(|r| r.id == rule));
        match found {
            _ if demoted => Level::Warn,
            Level::Warn if rule == SHARED_EXTERNAL_VOLUME.id => Level::Info,
            _ => found,
        }
    }

    /// The level the rule's findings get under this profile (the catalog level, adjusted;
    /// a rule's findings that are choices may be milder).
    pub fn rule_level(self, rule: &RuleInfo) -> Level {
        self.level(rule.id, rule.level, false)
    }
}

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

impl FromStr for Profile {
    type Err = String;

    fn from_str(s: &str) -> Result<Profile, String> {
        Profile::ALL
            .into_iter()
            .find(|p| p.as_str() == s.trim())
            .ok_or_else(|| s.trim().to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lint::rules;

    #[test]
    fn default_demotes_only_the_multi_instance_rules() {
        let demoted: Vec<&str> = rules()
            .iter()
            .filter(|r| Profile::Default.rule_level(r) != r.level)
            .map(|r| r.id)
            .collect();
        assert_eq!(
            demoted,
            [
                "hardcoded-host-port",
                "fixed-container-name",
                "fixed-network-name",
                "fixed-volume-name",
                "shared-external-volume"
            ]
        );
        for r in rules() {
            assert_eq!(Profile::MultiInstance.rule_level(r), r.level, "{}", r.id);
        }
        // A milder finding of a demoted rule stays as mild.
        assert_eq!(
            Profile::Default.level("hardcoded-host-port", Level::Info, false),
            Level::Info
        );
        // A finding its author may have meant is an error only for the harness's gate.
        let choice = |p: Profile| p.level("required-variable", Level::Error, true);
        assert_eq!(choice(Profile::Default), Level::Warn);
        assert_eq!(choice(Profile::MultiInstance), Level::Error);
    }

    /// docs/LINT.md's rule table gives each rule's level under both profiles; it is
    /// written by hand, so this keeps it in step with the catalog.
    #[test]
    fn the_rule_table_in_lint_md_matches_the_catalog() {
        let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/LINT.md"))
            .expect("docs/LINT.md");
        let header = "| rule | default | multi-instance | on by default |";
        assert!(
            doc.contains(header),
            "LINT.md's rule table lost its profile columns"
        );
        for r in rules() {
            let name = format!("`{}`", r.id);
            let row = doc
                .lines()
                .filter(|l| l.matches('|').count() >= 8)
                .find(|l| {
                    l.split('|')
                        .nth(1)
                        .is_some_and(|c| c.trim().ends_with(&name))
                })
                .unwrap_or_else(|| panic!("docs/LINT.md has no row for `{}`", r.id));
            let cells: Vec<&str> = row.split('|').map(str::trim).collect();
            for (cell, profile) in [
                (cells[2], Profile::Default),
                (cells[3], Profile::MultiInstance),
            ] {
                let level = profile.rule_level(r).as_str();
                assert!(
                    cell.starts_with(level),
                    "docs/LINT.md: `{}` under {profile} is {level}, the table says {cell}",
                    r.id
                );
            }
            let on = if r.default_on { "yes" } else { "no" };
            assert_eq!(cells[4], on, "docs/LINT.md: `{}` on by default", r.id);
        }
    }

    #[test]
    fn names_round_trip() {
        for p in Profile::ALL {
            assert_eq!(p.as_str().parse::<Profile>(), Ok(p));
        }
        assert_eq!("loud".parse::<Profile>(), Err("loud".to_string()));
    }
}
