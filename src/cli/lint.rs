use anyhow::Context as _;
use comfy_table::{Table, presets::UTF8_FULL_CONDENSED};

use super::args::{Cli, LintArgs};
use super::exit;
use crate::compose::ComposeFile;
use crate::lint::{Level, lint as run_lint, rules};
use crate::task::Prompt;

pub fn lint(cli: &Cli, args: &LintArgs) -> anyhow::Result<u8> {
    if args.rules {
        return list_rules(cli);
    }
    let file = match &args.file {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read `{}` — check the path", path.display()))?;
            ComposeFile::parse(&path.to_string_lossy(), &text, 1)?
        }
        None => {
            let prompt = Prompt::load(&args.task)?;
            ComposeFile::parse(
                &args.task.to_string_lossy(),
                prompt.config_yaml(),
                prompt.config_line(),
            )?
        }
    };
    let findings = run_lint(&file);
    let errors = findings.iter().filter(|f| f.level == Level::Error).count();
    if cli.json {
        let doc = serde_json::json!({"file": file.origin, "errors": errors, "findings": findings});
        println!("{}", serde_json::to_string_pretty(&doc)?);
    } else {
        for f in &findings {
            println!("{}: {f}", file.origin);
        }
        println!("{} finding(s), {errors} error(s)", findings.len());
    }
    Ok(if errors > 0 {
        exit::RUN_FAILED
    } else {
        exit::SUCCESS
    })
}

fn list_rules(cli: &Cli) -> anyhow::Result<u8> {
    if cli.json {
        println!("{}", serde_json::to_string_pretty(rules())?);
        return Ok(exit::SUCCESS);
    }
    let mut table = Table::new();
    table
        .load_style(UTF8_FULL_CONDENSED)
        .set_header(["rule", "level", "fix", "what it finds"]);
    for r in rules() {
        table.add_row([
            r.id,
            r.level.as_str(),
            r.mutation.unwrap_or("-"),
            r.description,
        ]);
    }
    println!("{table}");
    Ok(exit::SUCCESS)
}
