//! `harness init`: arguments → [`crate::init::init`] → what was written and what is left.

use std::time::Duration;

use super::args::{Cli, InitArgs};
use super::error::ExpectedError;
use super::exit;
use super::output::print;
use crate::init::{self, Options};

pub async fn init(cli: &Cli, args: &InitArgs) -> Result<u8, ExpectedError> {
    let options = Options {
        config: args.config.clone(),
        task: args.task.clone(),
        deploy: !args.no_deploy,
        force: args.force,
        timeout: Duration::from_secs(args.timeout),
        reaper: args.reaper.options(),
    };
    let outcome = init::init(&options).await?;
    print(cli.json, &outcome, &outcome)?;
    Ok(exit::SUCCESS)
}
