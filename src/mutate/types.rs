use std::collections::HashMap;

use crate::run::Signature;

/// What a mutation may know beyond the file: the config's images, as the engine
/// describes them, and the roles the task's protocol gives its services. Gathered by the
/// caller; empty where nobody asked (lint --fix).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facts {
    /// The image's own HEALTHCHECK test, e.g. `["CMD", "/usr/local/bin/server",
    /// "healthcheck"]`, by image reference as the config writes it.
    pub healthcheck: HashMap<String, Vec<String>>,
    /// Whether the image has `/bin/sh`; an image missing here is not known either way.
    pub has_shell: HashMap<String, bool>,
    /// The image's declared `VOLUME` directories: where it keeps its data.
    pub volumes: HashMap<String, Vec<String>>,
    /// The services whose data the task says must persist (its protocol's `persistence`).
    pub stores: Vec<String>,
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
