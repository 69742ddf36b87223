//! `harness images`.

use super::args::{Cli, ImagesArgs};
use super::error::ExpectedError;
use super::exit;
use crate::engine::Docker;
use crate::images;
use crate::project::Project;

pub async fn build(cli: &Cli, args: &ImagesArgs) -> Result<u8, ExpectedError> {
    let file = match &args.recipes {
        Some(path) => Some(path.clone()),
        None => Project::here()?.images,
    };
    let mut recipes = match &file {
        Some(path) => images::recipes(path, &args.binaries)?,
        None if !args.binaries.is_empty() => return Err(ExpectedError::NoRecipes),
        None => {
            if !cli.json {
                eprintln!(
                    "no recipes file (--recipes FILE, or `images = \"…\"` in harness.toml): only the reaper's image is built"
                );
            }
            Vec::new()
        }
    };
    let me = std::env::current_exe().map_err(images::ImageError::OwnPath)?;
    recipes.push(images::reaper(&me)?);
    let docker = Docker::connect().await?;
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
