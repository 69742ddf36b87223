//! Command-line arguments. Deliberately tiny: the container runs the
//! binary with no arguments, and Docker's HEALTHCHECK with one.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    Serve,
    Healthcheck,
    Version,
    Help,
}

pub const USAGE: &str = "usage: executor [healthcheck | --version | --help]";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("unexpected arguments: {0:?}")]
pub struct UsageError(pub Vec<String>);

pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Command, UsageError> {
    let args: Vec<String> = args.into_iter().collect();
    let words: Vec<&str> = args.iter().map(String::as_str).collect();
    match words.as_slice() {
        [] => Ok(Command::Serve),
        ["healthcheck"] => Ok(Command::Healthcheck),
        ["--version" | "-V"] => Ok(Command::Version),
        ["--help" | "-h"] => Ok(Command::Help),
        _ => Err(UsageError(args)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_words(words: &[&str]) -> Result<Command, UsageError> {
        parse(words.iter().map(|w| (*w).to_owned()))
    }

    #[test]
    fn recognises_commands() {
        assert_eq!(parse_words(&[]), Ok(Command::Serve));
        assert_eq!(parse_words(&["healthcheck"]), Ok(Command::Healthcheck));
        assert_eq!(parse_words(&["--version"]), Ok(Command::Version));
        assert_eq!(parse_words(&["-h"]), Ok(Command::Help));
    }

    #[test]
    fn rejects_anything_else() {
        assert!(parse_words(&["serve"]).is_err());
        assert!(parse_words(&["healthcheck", "extra"]).is_err());
    }
}
