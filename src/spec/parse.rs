//! Reads the block into a [`ProtocolSpec`] whose probed endpoints are known to exist, and
//! maps every problem back to its line in the task prompt.

use std::path::{Path as FsPath, PathBuf};

use super::error::{SpecError, SpecProblem};
use super::model::SpecFile;
use super::validate::validate;
use crate::compose::ComposeFile;
use crate::compose::locate::Locator;
use crate::compose::path::Path;
use crate::task::Prompt;

/// A task's protocol: the block as written, plus the endpoints the probes use.
#[derive(Debug, Clone, PartialEq)]
pub struct ProtocolSpec {
    file: SpecFile,
    origin: Origin,
    declared: bool,
}

/// Where the block is written, to turn positions in it into lines of that file.
#[derive(Debug, Clone, PartialEq)]
struct Origin {
    path: PathBuf,
    text: String,
    first_line: usize,
}

impl Origin {
    fn error(&self, at: Option<&Path>, problem: SpecProblem) -> SpecError {
        let line = at
            .and_then(|p| Locator::new(&self.text).locate(p))
            .map_or(self.first_line, |loc| self.first_line + loc.line - 1);
        SpecError {
            path: self.path.clone(),
            line,
            problem,
        }
    }
}

impl ProtocolSpec {
    /// The task's block, checked against its own candidate `own`. A prompt without a block
    /// gets the project's `default` (the `protocol` file in harness.toml), checked the same
    /// way; without either there is nothing to verify, and the error says how to get one.
    pub fn of_prompt(
        prompt: &Prompt,
        own: &ComposeFile,
        default: Option<&FsPath>,
    ) -> Result<ProtocolSpec, SpecError> {
        let (origin, declared) = match (prompt.protocol_block(), default) {
            (Some((text, first_line)), _) => (
                Origin {
                    path: prompt.path().to_path_buf(),
                    text: text.to_string(),
                    first_line,
                },
                true,
            ),
            (None, Some(path)) => (default_block(path)?, false),
            (None, None) => {
                return Err(SpecError {
                    path: prompt.path().to_path_buf(),
                    line: prompt.config_line(),
                    problem: SpecProblem::NoBlock,
                });
            }
        };
        let mut spec = ProtocolSpec::read(origin)?;
        spec.declared = declared;
        validate(&spec.file, own).map_err(|(at, problem)| spec.origin.error(Some(&at), problem))?;
        Ok(spec)
    }

    /// Checks the block against a config the run deploys instead of the task's own
    /// (`--config`): a service the block names and that file lacks means the file is not
    /// this task's stack — bad input, not the config's failure. A port the file does not
    /// publish stays the config's to fail on (the probes say so, recorded).
    pub fn fits(&self, config: &FsPath, file: &ComposeFile) -> Result<(), SpecError> {
        // Services are validated before ports, so an unpublished port means every
        // named service is there.
        match validate(&self.file, file) {
            Err((_, SpecProblem::Unpublished { .. } | SpecProblem::ReportedUnpublished { .. }))
            | Ok(()) => Ok(()),
            Err((at, problem)) => Err((at, problem)),
        }
        .map_err(|(at, problem)| {
            let problem = SpecProblem::NotInConfig {
                config: config.to_path_buf(),
                problem: Box::new(problem),
            };
            self.origin.error(Some(&at), problem)
        })
    }

    /// Parses a block's `text` that starts at `first_line` of the file at `path`.
    pub fn parse(path: &FsPath, text: &str, first_line: usize) -> Result<ProtocolSpec, SpecError> {
        ProtocolSpec::read(Origin {
            path: path.to_path_buf(),
            text: text.to_string(),
            first_line,
        })
    }

    fn read(origin: Origin) -> Result<ProtocolSpec, SpecError> {
        let file: SpecFile = serde_yaml_ng::from_str(&origin.text).map_err(|e| {
            let line = e.location().map_or(origin.first_line, |l| {
                origin.first_line + l.line().saturating_sub(1)
            });
            SpecError {
                path: origin.path.clone(),
                line,
                problem: SpecProblem::Malformed {
                    message: without_positions(&e.to_string()),
                },
            }
        })?;
        // An instance is known by an HTTP endpoint (its health, its ports in the record);
        // WebSocket endpoints are optional.
        if !file.apps.iter().any(|app| !app.http.is_empty()) {
            let at = Path::root().key("apps");
            return Err(origin.error(Some(&at), SpecProblem::NoEndpoints));
        }
        Ok(ProtocolSpec {
            file,
            origin,
            declared: true,
        })
    }

    pub fn file(&self) -> &SpecFile {
        &self.file
    }

    /// The project's file the block came from, for a prompt without one of its own.
    pub fn from_project(&self) -> Option<&FsPath> {
        (!self.declared).then_some(self.origin.path.as_path())
    }
}

/// The project's default block: a YAML file holding what a prompt's block would.
fn default_block(path: &FsPath) -> Result<Origin, SpecError> {
    let text = crate::user_file::read_to_string(path).map_err(|e| SpecError {
        path: path.to_path_buf(),
        line: 1,
        problem: SpecProblem::DefaultUnreadable {
            message: e.to_string(),
        },
    })?;
    Ok(Origin {
        path: path.to_path_buf(),
        text,
        first_line: 1,
    })
}

/// The parser's message without its ` at line L column C` parts: those count from the
/// block's first line, and the error already names the prompt's line.
fn without_positions(message: &str) -> String {
    const AT: &str = " at line ";
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(i) = rest.find(AT) {
        out.push_str(&rest[..i]);
        let after = &rest[i + AT.len()..];
        let digits = |s: &str| s.len() - s.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        let line = digits(after);
        let column = after[line..]
            .strip_prefix(" column ")
            .map(|s| digits(s) + " column ".len());
        match column {
            Some(n) if line > 0 && n > " column ".len() => rest = &after[line + n..],
            _ => {
                out.push_str(AT);
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn positions_relative_to_the_block_are_dropped() {
        let m = "did not find ',' at line 7 column 1, while parsing at line 6 column 9";
        assert_eq!(
            super::without_positions(m),
            "did not find ',', while parsing"
        );
        assert_eq!(
            super::without_positions("at line x at line 3"),
            "at line x at line 3"
        );
    }
}
