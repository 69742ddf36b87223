use std::path::PathBuf;

use anyhow::Context;

use super::args::{Cli, ImagesArgs};
use super::exit;
use crate::engine::Docker;
use crate::images::{self, BuildOutcome};

pub async fn build(cli: &Cli, args: &ImagesArgs) -> anyhow::Result<u8> {
    let docker = Docker::connect().await?;
    let executor = match &args.executor {
        Some(path) => path.clone(),
        None => sibling_executor()?,
    };
    let recipes = [
        images::executor(&executor)?,
        images::redis(&args.redis_server, &args.redis_cli)?,
        images::reaper(
            &std::env::current_exe().context("cannot find the harness binary's own path")?,
        )?,
    ];
    let mut outcomes = Vec::new();
    for recipe in &recipes {
        if !cli.json {
            eprintln!("building {} …", recipe.tag);
        }
        let outcome = images::build(&docker, recipe).await?;
        if !cli.json {
            match &outcome {
                BuildOutcome::UpToDate { tag, .. } => println!("{tag}: up to date"),
                BuildOutcome::Built { tag, bytes, .. } => {
                    println!("{tag}: built ({:.1} MB context)", *bytes as f64 / 1e6)
                }
            }
        }
        outcomes.push(outcome);
    }
    if cli.json {
        println!("{}", serde_json::to_string_pretty(&outcomes)?);
    }
    Ok(exit::SUCCESS)
}

/// `cargo build` puts the executor next to the harness binary.
fn sibling_executor() -> anyhow::Result<PathBuf> {
    let me = std::env::current_exe().context("cannot find the harness binary's own path")?;
    let dir = me
        .parent()
        .context("the harness binary has no parent directory")?;
    // Test binaries live one level down, in target/<profile>/deps.
    let candidates = [dir.join("executor"), dir.join("../executor")];
    candidates
        .into_iter()
        .find(|p| p.is_file())
        .context("no executor binary next to the harness — build it with `cargo build --release -p executor` or pass --executor PATH")
}
