use std::process::ExitCode;

use executor::cli::{self, Command};

fn main() -> ExitCode {
    let args = std::env::args_os()
        .skip(1)
        .map(|arg| arg.to_string_lossy().into_owned());
    match cli::parse(args) {
        Ok(Command::Serve) => exit_with(executor::app::run(), "executor"),
        Ok(Command::Healthcheck) => {
            exit_with(executor::healthcheck::run_from_env(), "healthcheck failed")
        }
        Ok(Command::Version) => {
            println!("executor {}", executor::VERSION);
            ExitCode::SUCCESS
        }
        Ok(Command::Help) => {
            println!("{}", cli::USAGE);
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("executor: {error}\n{}", cli::USAGE);
            ExitCode::from(2)
        }
    }
}

fn exit_with<E: std::fmt::Display>(result: Result<(), E>, context: &str) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("{context}: {error}");
            ExitCode::FAILURE
        }
    }
}
