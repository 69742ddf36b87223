//! The mutation catalog: edits of a compose file that each fix one kind of problem, found
//! by lint or by a failed run (a [`Signature`](crate::run::Signature)).
//!
//! A mutation is planned on the parsed tree and written into the author's text with a
//! lossless YAML editor, so comments, quoting, key order and blank lines stay and the diff
//! shows only what changed. The text is accepted only if it parses back to exactly the
//! intended tree; otherwise the tree is serialised afresh (the reason then says comments
//! were lost) rather than offer a wrong file.

mod apply;
mod catalog;
mod credentials;
mod edit;
mod env;
mod health;
mod names;
mod ports;
mod quote;
mod render;
mod secrets;
mod services;
mod tree;
mod types;

#[cfg(test)]
mod compose_check;
#[cfg(test)]
mod tests;

pub use apply::{apply, diff};
// `lint --fix` makes its fixes with the same planners and editor.
pub(crate) use apply::apply_rendered;
pub use catalog::{catalog, for_signature, quickens};
pub(crate) use render::Rendering;
pub use secrets::{Literal, literal_secrets, secrets_as_references};
pub use types::{Facts, MutateError, Mutation, MutationInfo};
