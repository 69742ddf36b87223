//! The verification protocol: the steps a deployment must pass, run in order.

mod ahead;
pub mod classify;
mod context;
mod instance;
pub mod port_range;
mod ports;
pub mod probes;
mod roles;
mod runner;
mod steps;
mod tcp;
pub mod trial;

pub use context::Deployment;
pub use port_range::PortRange;
pub use ports::default_host_ports;
pub use runner::{Event, Orphans, Plan, Report, cleanup, interrupted_step, run, sweep_finished};
pub use tcp::tcp_connect;
