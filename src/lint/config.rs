//! The lint config file: which rules run and at what level.
//!
//! ```yaml
//! # .harness-lint.yml, beside the compose file (or `--config PATH`)
//! profile: default               # or multi-instance (see `profile.rs`); `--profile` wins
//! rules:
//!   no-resource-limits: off      # never report
//!   cap-add: warn                # every finding of the rule at this level
//!   services-order: info         # turn on a rule that is off by default
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_yaml_ng::Value;

use super::catalog::{rule, rules};
use super::finding::{Level, RuleInfo};
use super::profile::Profile;

/// The file name looked for beside the compose file.
pub const CONFIG_FILE: &str = ".harness-lint.yml";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Setting {
    Off,
    At(Level),
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Config {
    settings: BTreeMap<&'static str, Setting>,
    /// The file's `profile:`, when it names one.
    pub profile: Option<Profile>,
}

#[derive(Debug, thiserror::Error)]
#[error("lint config `{path}`: {kind}")]
pub struct ConfigError {
    pub path: PathBuf,
    #[source]
    pub kind: ConfigErrorKind,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigErrorKind {
    #[error("cannot read it: {0} — check the path")]
    Read(#[source] std::io::Error),
    #[error("not valid YAML: {0} — fix the syntax at that position")]
    Syntax(#[source] serde_yaml_ng::Error),
    #[error("expected a mapping with a `rules:` mapping of rule id to level")]
    Shape,
    #[error("`profile: {0}` is not a profile — use default or multi-instance")]
    BadProfile(String),
    #[error("`rules.{0}` is not a rule — `harness lint --rules` lists them")]
    UnknownRule(String),
    #[error("`rules.{rule}: {value}` is not a level — use error, warn, info or off")]
    BadLevel { rule: String, value: String },
}

impl Config {
    /// `explicit` (from `--config`) must exist; otherwise `.harness-lint.yml` beside
    /// `compose_file` is read when it is there.
    pub fn find(
        explicit: Option<&Path>,
        compose_file: Option<&Path>,
    ) -> Result<Config, ConfigError> {
        let path = match explicit {
            Some(p) => p.to_path_buf(),
            None => {
                let dir = compose_file
                    .and_then(Path::parent)
                    .filter(|d| !d.as_os_str().is_empty())
                    .unwrap_or(Path::new("."));
                let beside = dir.join(CONFIG_FILE);
                if !beside.is_file() {
                    return Ok(Config::default());
                }
                beside
            }
        };
        let text = crate::user_file::read_to_string(&path).map_err(|e| ConfigError {
            path: path.clone(),
            kind: ConfigErrorKind::Read(e),
        })?;
        Config::parse(&text).map_err(|kind| ConfigError { path, kind })
    }

    pub fn parse(text: &str) -> Result<Config, ConfigErrorKind> {
        let doc: Value = serde_yaml_ng::from_str(text).map_err(ConfigErrorKind::Syntax)?;
        let mut config = Config::default();
        if let Value::Mapping(top) = &doc {
            config.profile = top.get("profile").map(profile).transpose()?;
        }
        let rules_map = match &doc {
            Value::Null => return Ok(config),
            Value::Mapping(top) => match top.get("rules") {
                None | Some(Value::Null) => return Ok(config),
                Some(Value::Mapping(m)) => m,
                Some(_) => return Err(ConfigErrorKind::Shape),
            },
            _ => return Err(ConfigErrorKind::Shape),
        };
        for (k, v) in rules_map {
            let id = k.as_str().unwrap_or_default();
            let info = rule(id).ok_or_else(|| ConfigErrorKind::UnknownRule(id.to_string()))?;
            let setting = match v {
                // YAML 1.1 readers (and some authors) write `off` as a boolean.
                Value::Bool(false) => Setting::Off,
                Value::String(s) => match s.trim() {
                    "off" | "false" | "none" => Setting::Off,
                    "error" => Setting::At(Level::Error),
                    "warn" | "warning" => Setting::At(Level::Warn),
                    "info" => Setting::At(Level::Info),
                    other => {
                        return Err(ConfigErrorKind::BadLevel {
                            rule: id.to_string(),
                            value: other.to_string(),
                        });
                    }
                },
                other => {
                    return Err(ConfigErrorKind::BadLevel {
                        rule: id.to_string(),
                        value: serde_yaml_ng::to_string(other)
                            .unwrap_or_default()
                            .trim()
                            .to_string(),
                    });
                }
            };
            config.settings.insert(info.id, setting);
        }
        Ok(config)
    }

    /// The profile to lint with: `chosen` (the command line), else the file's, else
    /// `fallback`.
    pub fn profile_or(&self, chosen: Option<Profile>, fallback: Profile) -> Profile {
        chosen.or(self.profile).unwrap_or(fallback)
    }

    /// This config with `ids` reported as errors: a task's block may hold its candidate
    /// to more than the gate's levels (`lint: {errors: [...]}`), never to less. Ids that
    /// name no rule are skipped (the block's check names them first).
    pub fn raised(mut self, ids: &[String]) -> Config {
        for info in ids.iter().filter_map(|id| rule(id)) {
            self.settings.insert(info.id, Setting::At(Level::Error));
        }
        self
    }

    /// Whether the rule runs.
    pub fn enabled(&self, rule: &RuleInfo) -> bool {
        match self.settings.get(rule.id) {
            Some(Setting::Off) => false,
            Some(Setting::At(_)) => true,
            None => rule.default_on,
        }
    }

    /// The level a finding of `rule` is reported at, given the level the rule chose.
    pub fn level(&self, rule: &str, found: Level) -> Level {
        match self.settings.get(rule) {
            Some(Setting::At(level)) => *level,
            _ => found,
        }
    }

    /// Every rule that runs under this config.
    pub fn active(&self) -> Vec<&'static RuleInfo> {
        rules().iter().filter(|r| self.enabled(r)).collect()
    }
}

fn profile(v: &Value) -> Result<Profile, ConfigErrorKind> {
    let text = match v {
        Value::String(s) => s.clone(),
        other => serde_yaml_ng::to_string(other)
            .unwrap_or_default()
            .trim()
            .to_string(),
    };
    text.parse().map_err(ConfigErrorKind::BadProfile)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_off_and_default_off_rules() {
        let c = Config::parse(
            "rules:\n  no-resource-limits: off\n  cap-add: warn\n  services-order: info\n  privileged: false\n",
        )
        .unwrap();
        let r = |id| rule(id).unwrap();
        assert!(!c.enabled(r("no-resource-limits")));
        assert!(!c.enabled(r("privileged")));
        assert!(c.enabled(r("services-order")));
        assert!(!Config::default().enabled(r("services-order")));
        assert!(Config::default().enabled(r("cap-add")));
        assert_eq!(c.level("cap-add", Level::Error), Level::Warn);
        assert_eq!(c.level("hardcoded-host-port", Level::Error), Level::Error);
        assert_eq!(Config::parse("").unwrap(), Config::default());
    }

    #[test]
    fn a_profile_from_the_file_and_the_command_line_wins() {
        let c = Config::parse("profile: multi-instance\n").unwrap();
        assert_eq!(c.profile, Some(Profile::MultiInstance));
        assert_eq!(c.profile_or(None, Profile::Default), Profile::MultiInstance);
        assert_eq!(
            c.profile_or(Some(Profile::Default), Profile::MultiInstance),
            Profile::Default
        );
        assert_eq!(
            Config::default().profile_or(None, Profile::Default),
            Profile::Default
        );
        let e = Config::parse("profile: strict\n").unwrap_err();
        assert!(e.to_string().contains("`profile: strict`"), "{e}");
        assert!(e.to_string().contains("default or multi-instance"), "{e}");
    }

    #[test]
    fn errors_name_the_field_and_the_fix() {
        let e = Config::parse("rules:\n  no-such-rule: off\n").unwrap_err();
        assert!(e.to_string().contains("`rules.no-such-rule`"), "{e}");
        assert!(e.to_string().contains("--rules"), "{e}");
        let e = Config::parse("rules:\n  cap-add: loud\n").unwrap_err();
        assert!(
            e.to_string().contains("use error, warn, info or off"),
            "{e}"
        );
        assert!(matches!(
            Config::parse("rules: [a]\n"),
            Err(ConfigErrorKind::Shape)
        ));
        assert!(matches!(
            Config::parse("rules: {a: [\n"),
            Err(ConfigErrorKind::Syntax(_))
        ));
    }

    #[test]
    fn a_config_beside_the_file_is_found_and_an_explicit_one_must_exist() {
        let dir = tempfile::tempdir().unwrap();
        let compose = dir.path().join("compose.yml");
        assert_eq!(
            Config::find(None, Some(&compose)).unwrap(),
            Config::default()
        );
        std::fs::write(dir.path().join(CONFIG_FILE), "rules:\n  privileged: off\n").unwrap();
        let c = Config::find(None, Some(&compose)).unwrap();
        assert!(!c.enabled(rule("privileged").unwrap()));
        let e = Config::find(Some(&dir.path().join("nope.yml")), None).unwrap_err();
        assert!(e.to_string().contains("nope.yml"), "{e}");
    }
}
