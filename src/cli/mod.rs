//! The command line: parse, resolve, dispatch, and map every failure to an exit code.

mod args;
mod audit;
mod error;
mod export;
mod images;
mod init;
mod iterate;
mod lint;
mod output;
mod run;
mod scoreboard;

use std::process::ExitCode;

use clap::Parser;

pub use args::{Cli, Command};
pub use error::ExpectedError;
use output::print;

/// Documented exit codes.
pub mod exit {
    pub const SUCCESS: u8 = 0;
    /// The run (or one of the runs) failed a step.
    pub const RUN_FAILED: u8 = 1;
    /// Bad input, a missing engine or anything else that stopped the harness from checking.
    pub const USAGE: u8 = 2;
    pub const SIGINT: u8 = crate::cycle::SIGINT_EXIT;
    pub const SIGTERM: u8 = crate::cycle::SIGTERM_EXIT;
}

pub fn main() -> ExitCode {
    restore_sigpipe();
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
            let code = e.exit_code();
            eprintln!("error: {}", causes(&anyhow::Error::from(e)));
            ExitCode::from(code)
        }
    }
}

/// The error and the chain of its causes, each said once: most messages already name
/// their cause, which anyhow's `{:#}` would repeat after them.
fn causes(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if out.contains(&text) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&text);
    }
    out
}

async fn dispatch(cli: Cli) -> Result<u8, ExpectedError> {
    match &cli.command {
        Command::Run(args) => run::run(&cli, args).await,
        Command::Init(args) => init::init(&cli, args).await,
        Command::Iterate(args) => iterate::iterate(&cli, args).await,
        Command::Propose(args) => iterate::propose(&cli, args).await,
        Command::Scoreboard(args) => scoreboard::show(&cli, args),
        Command::Images(args) => images::build(&cli, args).await,
        Command::Lint(args) => lint::lint(&cli, args).await,
        Command::Gc(args) => gc(&cli, args).await,
        Command::Audit(args) => audit::audit(&cli, args),
        Command::Show(args) => audit::show(&cli, args),
        Command::Export(args) => export::export(&cli, args),
        Command::Import(args) => export::import(&cli, args),
        Command::Report(args) => {
            let page = crate::report::html(&cli.db, &cli.runs_dir, &args.out)?;
            println!("{}", page.display());
            Ok(exit::SUCCESS)
        }
        Command::Reaper(args) => {
            let idle = std::time::Duration::from_secs(args.idle);
            let secret = crate::reaper::auth::Secret::read(&args.secret_file)?;
            crate::reaper::serve(&args.listen, idle, secret).await?;
            Ok(exit::SUCCESS)
        }
        Command::TcpConnect(args) => {
            let timeout = std::time::Duration::from_millis(args.timeout_ms);
            match crate::protocol::tcp_connect(&args.address, timeout) {
                Ok(peer) => {
                    println!("connected to {} ({peer})", args.address);
                    Ok(exit::SUCCESS)
                }
                Err(e) => {
                    println!("{e}");
                    Ok(exit::RUN_FAILED)
                }
            }
        }
    }
}

async fn gc(cli: &Cli, args: &args::GcArgs) -> Result<u8, ExpectedError> {
    let docker = crate::engine::Docker::connect().await?;
    let outcome = crate::gc::gc(&docker, args.force.as_deref(), args.dry_run).await?;
    print(cli.json, &outcome, &outcome)?;
    Ok(exit::SUCCESS)
}

/// `harness scoreboard | head` must end quietly, as other Unix tools do, not panic in
/// `println!`: take back the default SIGPIPE action Rust's runtime replaced.
fn restore_sigpipe() {
    use nix::sys::signal::{SigHandler, Signal, signal};
    // SAFETY: called first thing in main, before any other thread exists; SIG_DFL installs
    // no handler code.
    let _ = unsafe { signal(Signal::SIGPIPE, SigHandler::SigDfl) };
}

/// Logs go to stderr through `tracing`, secrets masked. `HARNESS_LOG=debug` (a bare level)
/// applies to the harness only; a full filter (`harness=debug,bollard=trace`) is taken as given.
fn init_tracing() {
    let filter = match std::env::var("HARNESS_LOG") {
        Ok(level) if !level.contains('=') && !level.contains(',') => {
            tracing_subscriber::EnvFilter::new(format!("warn,harness={level}"))
        }
        Ok(spec) => tracing_subscriber::EnvFilter::new(spec),
        Err(_) => tracing_subscriber::EnvFilter::try_from_default_env()
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
    };
    let redactor = std::sync::Arc::new(crate::redact::Redactor::from_env());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(move || crate::redact::RedactingStderr(redactor.clone()))
        // Colour codes only for a person: not in CI logs, files or `docker logs`.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}

#[cfg(test)]
mod tests {
    #[derive(Debug, thiserror::Error)]
    #[error("cannot read `x`: {source} — check the path")]
    struct Names {
        source: std::io::Error,
    }

    #[derive(Debug, thiserror::Error)]
    #[error("the task cannot be read")]
    struct Wraps {
        #[source]
        source: std::io::Error,
    }

    #[test]
    fn a_cause_the_message_already_names_is_not_said_twice() {
        let io = || std::io::Error::new(std::io::ErrorKind::NotFound, "gone");
        let said = super::causes(&anyhow::Error::from(Names { source: io() }));
        assert_eq!(said, "cannot read `x`: gone — check the path");
        let said = super::causes(&anyhow::Error::from(Wraps { source: io() }));
        assert_eq!(said, "the task cannot be read: gone");
    }
}
