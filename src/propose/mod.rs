//! From a failed run's evidence to the next version: proposers (the catalog, any command,
//! a language model) suggest candidates, and the gates admit at most one as version N+1.

mod catalog;
mod command;
mod context;
mod facts;
mod gates;
mod imp;
mod intent;
mod llm;
mod proposer;
mod select;

pub use catalog::CatalogProposer;
pub use command::CommandProposer;
pub use context::{HistoryEntry, ProposerContext, Sources};
pub use facts::facts;
pub use gates::{Gates, Rejected};
pub use imp::{Attempt, Outcome, Proposal, propose, wanted};
pub use llm::{Api, LlmConfig, LlmProposer};
pub use proposer::{Answer, Candidate, Proposer, Provenance, yaml_of};
pub use select::{AnyProposer, ProposerKind, ProposerOptions, SelectError};
