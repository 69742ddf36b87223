//! The protocol a task declares: which services play which role, where their endpoints
//! are, and what each check expects — read from the prompt's ```harness-protocol block,
//! typed, and validated against the task's own candidate config.

mod error;
mod model;
mod parse;
mod validate;

#[cfg(test)]
mod tests;

pub use error::{SpecError, SpecProblem};
pub use model::{
    ApiKey, App, Dependency, DependencyCheck, HttpEndpoint, JsonCheck, JsonRpcRequest,
    MAX_INSTANCES, PersistExec, Persistence, Reported, Restart, SpecFile, Through, WsCompletion,
    WsEndpoint,
};
pub use parse::ProtocolSpec;
