//! Plain-text logs on stdout, one line per event, which is what container
//! log capture expects.

use tracing::level_filters::LevelFilter;

#[derive(Debug, thiserror::Error)]
#[error("cannot install the log subscriber: {0}")]
pub struct LoggingError(String);

pub fn init(level: LevelFilter) -> Result<(), LoggingError> {
    tracing_subscriber::fmt()
        .with_max_level(level)
        .with_writer(std::io::stdout)
        .with_ansi(false)
        .try_init()
        .map_err(|e| LoggingError(e.to_string()))
}
