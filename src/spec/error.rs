//! Shown to users as-is: each names the task file, the line in it and the fix.

use std::path::PathBuf;

/// What is wrong with a task's protocol block, and where.
#[derive(Debug, thiserror::Error)]
#[error("{}:{line}: {problem}", .path.display())]
pub struct SpecError {
    pub path: PathBuf,
    /// 1-based line in the task prompt.
    pub line: usize,
    /// Part of this error's own message, so not its `source` (which would print it twice).
    pub problem: SpecProblem,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpecProblem {
    #[error(
        "the ```harness-protocol block does not read: {message} — write it as the schema in README.md (\"The protocol block\") shows"
    )]
    Malformed { message: String },
    #[error(
        "the prompt has no ```harness-protocol block and harness.toml names no `protocol` file for prompts without one, so there is nothing to verify — write a block (`harness init --config FILE --task NEW.md` infers one from a compose file), or add `protocol = \"path/to/protocol.yml\"` to harness.toml"
    )]
    NoBlock,
    #[error(
        "cannot read the default protocol block (`protocol` in harness.toml): {message} — fix the path in harness.toml, or give the prompt a ```harness-protocol block of its own"
    )]
    DefaultUnreadable { message: String },
    #[error(
        "`instances: {value}`: multi_instance runs 1 to {} copies of the stack at once (the main one included) — give a number in that range, e.g. 2",
        super::model::MAX_INSTANCES
    )]
    Instances { value: usize },
    #[error(
        "`lint.errors` names `{rule}`, which is not a lint rule — `harness lint --rules` lists them (e.g. slow-healthcheck)"
    )]
    UnknownRule { rule: String },
    #[error(
        "the protocol needs an app with at least one `http:` endpoint — an instance is known and checked again by it; add one under `apps[0]`, e.g. `http: [{{port: 8080, path: /health}}]`"
    )]
    NoEndpoints,
    #[error(
        "{problem} (in `--config {}`, which this run deploys instead of the task's own config) — deploy a config that fits the task's block, or write a task for that file with `harness init --config {}`",
        .config.display(), .config.display()
    )]
    NotInConfig {
        config: PathBuf,
        problem: Box<SpecProblem>,
    },
    #[error(
        "`{field}` names service `{service}`, which the candidate config does not define — name one of its services: {known}"
    )]
    UnknownService {
        field: String,
        service: String,
        known: String,
    },
    #[error(
        "`{field}`: service `{service}` publishes no container port {port} — add a `ports:` entry for it (e.g. `\"127.0.0.1::{port}\"`), or name a port the service publishes{published}"
    )]
    Unpublished {
        field: String,
        service: String,
        port: u16,
        published: String,
    },
    #[error(
        "`{field}` needs exactly one of `through: {{service, port, path}}` (written and read through an app) or `exec: {{write, read}}` (commands in the store's container) — it has {has}"
    )]
    PersistenceHow { field: String, has: &'static str },
    #[error(
        "`{field}` never mentions `{placeholder}` — the harness fills in a fresh key and value per run; write e.g. `write: [cli, set, \"{{key}}\", \"{{value}}\"]`, `read: [cli, get, \"{{key}}\"]`"
    )]
    PersistencePlaceholder {
        field: String,
        placeholder: &'static str,
    },
    #[error(
        "`{field}`: no app publishes container port {port} — the harness asks it from the host, so name a port an app under `apps:` publishes{published}"
    )]
    ReportedUnpublished {
        field: String,
        port: u16,
        /// The apps and their published ports, e.g. ` (web publishes 80, 9090)`.
        published: String,
    },
}
