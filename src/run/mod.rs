//! A run: its identity (the UUID, the short id, a compose project per instance, the run
//! file's name), its evidence directory, the words its record is written in, the record
//! and the recorder that files it. The protocol produces runs; everything downstream
//! (store, audit, report, propose) reads them from here and never from the protocol.

mod dir;
mod display;
pub mod evidence;
mod id;
pub mod record;
pub mod recorder;
mod step;

pub use dir::RunDir;
pub use display::format_ms;
pub use evidence::Evidence;
pub use id::{RunId, VALIDATE_PROJECT};
pub use step::{Fault, Outcome, Signature, Skip, Step, StepKind};
