use std::collections::HashMap;

use crate::run::Signature;

/// Facts about the images the config names, gathered from the engine by the caller.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImageFacts {
    /// The image's own HEALTHCHECK test, e.g. `["CMD", "/usr/local/bin/executor",
    /// "healthcheck"]`, by image reference as the config writes it.
    pub healthcheck: HashMap<String, Vec<String>>,
    /// Whether the image has `/bin/sh`; an image missing here is not known either way.
    pub has_shell: HashMap<String, bool>,
}

/// One proposed edit of a compose file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mutation {
    pub id: &'static str,
    /// A sentence a human would write, naming the services and paths changed and why.
    pub reason: String,
    /// The full new file text.
    pub yaml: String,
}

/// A catalog entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MutationInfo {
    pub id: &'static str,
    /// The runtime signatures this mutation may fix.
    pub signatures: &'static [Signature],
    /// The lint rules whose findings name this mutation.
    pub lint_rules: &'static [&'static str],
    pub description: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MutateError {
    #[error("no mutation `{0}` in the catalog — see `catalog()` for the known ids")]
    Unknown(String),
    #[error("internal error: a mutation's edit does not fit the file: {0}")]
    Misplaced(String),
    #[error("could not serialise the mutated config: {0}")]
    Serialise(String),
    #[error("{0}: the mutated config does not read back as intended, so it is not offered")]
    Unrenderable(String),
}
