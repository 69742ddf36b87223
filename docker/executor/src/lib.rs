//! Reference stand-in for the `cc_executor` service: an HTTP API and a
//! JSON-RPC WebSocket backed by Redis, built to run as PID 1 in a
//! FROM-scratch image.

pub mod api;
pub mod app;
pub mod cli;
pub mod config;
pub mod execution;
pub mod health;
pub mod healthcheck;
pub mod logging;
pub mod routes;
pub mod rpc;
pub mod server;
pub mod shutdown;
pub mod state;
pub mod store;
pub mod ws;

pub use config::Config;
pub use server::{Running, ServeError, serve};

pub const VERSION: &str = env!("CARGO_PKG_VERSION");
