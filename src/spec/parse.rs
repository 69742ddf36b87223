//! Reads the block into a [`ProtocolSpec`] whose probed endpoints are known to exist, and
//! maps every problem back to its line in the task prompt.

use std::path::{Path as FsPath, PathBuf};

use super::error::{SpecError, SpecProblem};
use super::model::SpecFile;
use super::reference::REFERENCE;
use super::validate::validate;
use crate::compose::ComposeFile;
use crate::compose::locate::Locator;
use crate::compose::path::Path;
use crate::task::Prompt;

/// A task's protocol: the block as written, plus the endpoints the probes use.
#[derive(Debug, Clone, PartialEq)]
pub struct ProtocolSpec {
    file: SpecFile,
    declared: bool,
}

/// Where the block sits, to turn positions in it into prompt lines.
struct Origin<'a> {
    path: &'a FsPath,
    text: &'a str,
    first_line: usize,
}

impl Origin<'_> {
    fn error(&self, at: Option<&Path>, problem: SpecProblem) -> SpecError {
        let line = at
            .and_then(|p| Locator::new(self.text).locate(p))
            .map_or(self.first_line, |loc| self.first_line + loc.line - 1);
        SpecError {
            path: self.path.to_path_buf(),
            line,
            problem,
        }
    }
}

impl ProtocolSpec {
    /// The task's block, checked against its own candidate `own`. A task without a block
    /// gets the reference's: the one protocol the harness checked before tasks could
    /// declare their own. It is not checked against `own`, so such a task runs as it
    /// always did.
    pub fn of_prompt(prompt: &Prompt, own: &ComposeFile) -> Result<ProtocolSpec, SpecError> {
        let Some((text, first_line)) = prompt.protocol_block() else {
            return ProtocolSpec::reference();
        };
        let origin = Origin {
            path: prompt.path(),
            text,
            first_line,
        };
        let spec = ProtocolSpec::read(&origin)?;
        validate(&spec.file, own).map_err(|(at, problem)| origin.error(Some(&at), problem))?;
        Ok(spec)
    }

    /// Checks the declared block against a config the run deploys instead of the task's
    /// own (`--config`): a service the block names and that file lacks means the file is
    /// not this task's stack — bad input, not the config's failure. A port the file does
    /// not publish stays the config's to fail on (the probes say so, recorded). The
    /// reference fallback is not checked, as in `of_prompt`.
    pub fn fits(
        &self,
        prompt: &Prompt,
        config: &FsPath,
        file: &ComposeFile,
    ) -> Result<(), SpecError> {
        let Some((text, first_line)) = prompt.protocol_block().filter(|_| self.declared) else {
            return Ok(());
        };
        let origin = Origin {
            path: prompt.path(),
            text,
            first_line,
        };
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
            origin.error(Some(&at), problem)
        })
    }

    /// Parses a block's `text` that starts at `first_line` of the prompt at `path`.
    pub fn parse(path: &FsPath, text: &str, first_line: usize) -> Result<ProtocolSpec, SpecError> {
        ProtocolSpec::read(&Origin {
            path,
            text,
            first_line,
        })
    }

    /// The fallback for tasks without a block (see [`ProtocolSpec::of_prompt`]).
    pub fn reference() -> Result<ProtocolSpec, SpecError> {
        let path = PathBuf::from("<reference protocol>");
        let mut spec = ProtocolSpec::parse(&path, REFERENCE, 1)?;
        spec.declared = false;
        Ok(spec)
    }

    fn read(origin: &Origin<'_>) -> Result<ProtocolSpec, SpecError> {
        let file: SpecFile = serde_yaml_ng::from_str(origin.text).map_err(|e| {
            let line = e.location().map_or(origin.first_line, |l| {
                origin.first_line + l.line().saturating_sub(1)
            });
            SpecError {
                path: origin.path.to_path_buf(),
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
            declared: true,
        })
    }

    pub fn file(&self) -> &SpecFile {
        &self.file
    }

    /// Whether the task declared it (`false`: the reference fallback).
    pub fn declared(&self) -> bool {
        self.declared
    }
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
