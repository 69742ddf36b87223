//! The verification protocol: the steps a deployment must pass, run in order.

pub mod classify;
mod context;
mod instance;
pub mod port_range;
mod ports;
pub mod probes;
mod runner;
mod steps;
pub mod trial;

pub use context::Deployment;
pub use port_range::PortRange;
pub use runner::{Event, Plan, ProbeSpec, Report, cleanup, interrupted_step, run};
