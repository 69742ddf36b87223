//! A lint of what `harness lint` names: compose files (each with the `.env` and override
//! file Compose reads beside it) or a task's candidate, loaded, linted and gathered into
//! one [`Report`]. A file that cannot be loaded is a [`LoadError`] in the report, not a
//! failure of the whole check: the other files are still linted.

use std::path::{Path, PathBuf};

use super::config::{Config, ConfigError};
use super::dotenv::Dotenv;
use super::finding::RuleInfo;
use super::profile::Profile;
use super::report::{FileReport, LoadError, Report};
use super::run::{Options, lint_followed, lint_merged, lint_with};
use super::{follow, input, locate};
use crate::compose::{ComposeError, ComposeFile};
use crate::task::Prompt;

/// One thing to lint: a compose file, or a task's candidate inside its prompt.
#[derive(Debug, Clone)]
pub struct Target {
    pub path: PathBuf,
    /// A task's candidate: its fixes cannot be written back here.
    pub in_prompt: bool,
    /// Rules its task's block raises to errors (see [`Config::raised`]).
    pub raised: Vec<String>,
}

impl Target {
    /// The files given, or the task's candidate when none is.
    pub fn all(files: &[PathBuf], task: &Path) -> Vec<Target> {
        if files.is_empty() {
            return vec![Target {
                path: task.to_path_buf(),
                in_prompt: true,
                raised: Vec::new(),
            }];
        }
        let file = |p: &PathBuf| Target {
            path: p.clone(),
            in_prompt: false,
            raised: Vec::new(),
        };
        files.iter().map(file).collect()
    }
}

/// A target that loaded, as it was linted: what `--fix` plans from.
#[derive(Debug, Clone)]
pub struct Linted {
    pub target: Target,
    pub file: ComposeFile,
    pub opts: Options,
    /// Its entry in [`Checked::report`]'s files.
    pub report_index: usize,
}

#[derive(Debug, Clone)]
pub struct Checked {
    pub report: Report,
    pub linted: Vec<Linted>,
    /// The rules the (last) config turns on, for the formats that list them.
    pub active: Vec<&'static RuleInfo>,
}

/// Lints every target under its config (`explicit`, else the one beside it) and profile
/// (`profile`, else the config's, else `default` for a file and `multi-instance` — the
/// harness's gate — for a task's candidate). Only a config that cannot be read stops the
/// check.
pub fn check(
    targets: &[Target],
    explicit: Option<&Path>,
    profile: Option<Profile>,
) -> Result<Checked, ConfigError> {
    let mut checked = Checked {
        report: Report::default(),
        linted: Vec::new(),
        active: Config::default().active(),
    };
    for target in targets {
        let config = Config::find(explicit, Some(&target.path))?.raised(&target.raised);
        checked.active = config.active();
        let fallback = match target.in_prompt {
            true => Profile::MultiInstance,
            false => Profile::Default,
        };
        let profile = config.profile_or(profile, fallback);
        match load(target) {
            Ok(file) => checked.add(target, file, config, profile),
            Err(e) => checked.report.errors.push(e),
        }
    }
    Ok(checked)
}

impl Checked {
    fn add(&mut self, target: &Target, file: ComposeFile, config: Config, profile: Profile) {
        let (dotenv, dotenv_values) = if target.in_prompt {
            Default::default()
        } else {
            (
                input::dotenv_names(&target.path),
                Dotenv::beside(&target.path),
            )
        };
        let opts = Options {
            config,
            profile,
            dotenv,
            dotenv_values,
            ignore_suppressions: false,
            dir: (!target.in_prompt).then(|| {
                let dir = target.path.parent().unwrap_or(Path::new(""));
                if dir.as_os_str().is_empty() {
                    PathBuf::from(".")
                } else {
                    dir.to_path_buf()
                }
            }),
        };
        // Compose merges `compose.override.yaml` into `compose.yaml` by itself; the
        // project it deploys is the merge, so that is what is linted.
        let over = (!target.in_prompt)
            .then(|| input::override_for(&target.path))
            .flatten()
            .map(|path| Target {
                path,
                in_prompt: false,
                raised: Vec::new(),
            });
        let (findings, over_report) = match over.map(|t| (load(&t), t)) {
            Some((Ok(over_file), over)) => {
                let (base, findings) = lint_merged(&file, &over_file, &opts);
                (base, Some(file_report(&over.path, findings, &over_file)))
            }
            Some((Err(e), _)) => {
                self.report.errors.push(e);
                (lint_with(&file, &opts), None)
            }
            None if !target.in_prompt && follow::pulls_in(&file.doc) => {
                return self.add_followed(target, file, opts);
            }
            None => (lint_with(&file, &opts), None),
        };
        self.report
            .files
            .push(file_report(&target.path, findings, &file));
        self.linted.push(Linted {
            target: target.clone(),
            file,
            opts,
            report_index: self.report.files.len() - 1,
        });
        self.report.files.extend(over_report);
    }

    /// A file with `include:` or `extends:`: linted with what it pulls in, each finding
    /// in the file that holds its node (the files pulled in are linted, not fixed).
    fn add_followed(&mut self, target: &Target, file: ComposeFile, opts: Options) {
        let followed = follow::follow(&target.path, file.clone());
        let mut per_source = lint_followed(&followed, &opts).into_iter();
        let own = per_source.next().unwrap_or_default();
        self.report
            .files
            .push(file_report(&target.path, own, &file));
        self.linted.push(Linted {
            target: target.clone(),
            file,
            opts,
            report_index: self.report.files.len() - 1,
        });
        for (source, findings) in followed.sources.iter().skip(1).zip(per_source) {
            if !findings.is_empty() {
                let report = file_report(&source.path, findings, &source.file);
                self.report.files.push(report);
            }
        }
    }
}

fn file_report(path: &Path, findings: Vec<super::Finding>, file: &ComposeFile) -> FileReport {
    FileReport {
        path: path.display().to_string(),
        findings,
        fixes: Default::default(),
        text: file.text.clone(),
    }
}

fn load(target: &Target) -> Result<ComposeFile, LoadError> {
    let name = target.path.display().to_string();
    let failed = |message: String| LoadError {
        file: name.clone(),
        line: None,
        column: None,
        message,
    };
    if target.in_prompt {
        let prompt = Prompt::load(&target.path).map_err(|e| failed(e.to_string()))?;
        let text = prompt.config_yaml();
        return ComposeFile::parse(&name, text, prompt.config_line())
            .map_err(|e| compose_error(&name, text, prompt.config_line(), e));
    }
    let text = crate::user_file::read_to_string(&target.path)
        .map_err(|e| failed(format!("cannot read `{name}`: {e} — check the path")))?;
    ComposeFile::parse(&name, &text, 1).map_err(|e| compose_error(&name, &text, 1, e))
}

fn compose_error(name: &str, text: &str, first_line: usize, e: ComposeError) -> LoadError {
    // The syntax error's position is part of its text (`:line:column`); SARIF and the
    // annotations want it as fields. A shape error names a key, found in the text.
    let at = |keys: &[&str]| {
        locate::key_position(text, keys)
            .map(|(l, c)| (Some(l + first_line - 1), Some(c)))
            .unwrap_or((None, None))
    };
    let (line, column) = match &e {
        ComposeError::Syntax { location, .. } => {
            let mut parts = location.trim_start_matches(':').split(':');
            let line = parts.next().and_then(|l| l.parse().ok());
            (line, parts.next().and_then(|c| c.parse().ok()))
        }
        ComposeError::UnknownKey { key, .. } => at(&[key.as_str()]),
        ComposeError::BadService { service, .. } => at(&["services", service.as_str()]),
        ComposeError::NoServices { .. } => at(&["services"]),
        ComposeError::NotAMapping { .. } => (None, None),
    };
    LoadError {
        file: name.to_string(),
        line,
        column,
        message: e.to_string(),
    }
}
