//! The command line: parse, resolve, dispatch, and map every failure to an exit code.

mod args;
mod images;
mod output;
mod run;
mod scoreboard;

use std::process::ExitCode;

use clap::Parser;

pub use args::{Cli, Command};

/// Documented exit codes.
pub mod exit {
    pub const SUCCESS: u8 = 0;
    /// The run (or one of the runs) failed a step.
    pub const RUN_FAILED: u8 = 1;
    /// Bad input, a missing engine or anything else that stopped the harness from checking.
    pub const USAGE: u8 = 2;
    pub const SIGINT: u8 = 130;
    pub const SIGTERM: u8 = 143;
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(exit::USAGE);
        }
    };
    match runtime.block_on(dispatch(cli)) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(exit::USAGE)
        }
    }
}

async fn dispatch(cli: Cli) -> anyhow::Result<u8> {
    match &cli.command {
        Command::Run(args) => run::run(&cli, args).await,
        Command::Iterate(args) => run::iterate(&cli, args).await,
        Command::Scoreboard(args) => scoreboard::show(&cli, args),
        Command::Images(args) => images::build(&cli, args).await,
    }
}

/// Logs go to stderr through `tracing`; `HARNESS_LOG` (or `RUST_LOG`) sets the level.
fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("HARNESS_LOG")
        .or_else(|_| tracing_subscriber::EnvFilter::try_from_default_env())
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
