//! `harness images`.

use super::args::{Cli, ImagesArgs};
use super::error::ExpectedError;
use super::exit;
use crate::engine::Docker;
use crate::images;

pub async fn build(cli: &Cli, args: &ImagesArgs) -> Result<u8, ExpectedError> {
    let docker = Docker::connect().await?;
    let executor = args.executor.as_deref();
    let recipes = images::recipes(executor, &args.redis_server, &args.redis_cli)?;
    let mut outcomes = Vec::new();
    for recipe in &recipes {
        if !cli.json {
            eprintln!("building {} …", recipe.tag);
        }
        let outcome = images::build(&docker, recipe).await?;
        if !cli.json {
            println!("{outcome}");
        }
        outcomes.push(outcome);
    }
    if cli.json {
        println!("{}", serde_json::to_string_pretty(&outcomes)?);
    }
    Ok(exit::SUCCESS)
}
