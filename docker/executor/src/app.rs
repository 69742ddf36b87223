//! Service mode of the binary: environment, logging, runtime, serve.

use crate::config::{Config, ConfigError};
use crate::logging::{self, LoggingError};
use crate::server::{ServeError, run_until_signal};

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Logging(#[from] LoggingError),
    #[error("cannot start the async runtime: {0}")]
    Runtime(std::io::Error),
    #[error(transparent)]
    Serve(#[from] ServeError),
}

/// The runtime is built here rather than with `#[tokio::main]` so the
/// healthcheck subcommand, run every few seconds, stays a plain blocking
/// program.
pub fn run() -> Result<(), AppError> {
    let config = Config::from_env()?;
    logging::init(config.log_level)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(AppError::Runtime)?;
    runtime.block_on(run_until_signal(config))?;
    Ok(())
}
