//! `harness lint`: arguments → [`crate::lint::check`] (and [`crate::fix`]) → a format.

use super::args::{Cli, LintArgs, LintFormat};
use super::error::ExpectedError;
use super::exit;
use super::output::print;
use std::path::Path;

use crate::compose::ComposeFile;
use crate::fix;
use crate::lint::check::{self, Target};
use crate::lint::{Level, report, rules};
use crate::project::Project;
use crate::spec::ProtocolSpec;
use crate::task::Prompt;

pub async fn lint(cli: &Cli, args: &LintArgs) -> Result<u8, ExpectedError> {
    if args.rules {
        return list_rules(cli);
    }
    let format = args.format.unwrap_or(if cli.json {
        LintFormat::Json
    } else {
        LintFormat::Human
    });
    let targets = match args.files.is_empty() {
        true => {
            let project = Project::here()?;
            let task = project.task(args.task.as_deref())?;
            let mut targets = Target::all(&[], &task);
            for t in &mut targets {
                t.raised = raised_by_block(&task, &project);
            }
            targets
        }
        false => Target::all(&args.files, Path::new("")),
    };
    let mut checked = check::check(&targets, args.config.as_deref(), args.profile)?;
    let planned = if args.fix {
        fix::plan_all(&mut checked, args.apply)?
    } else {
        Vec::new()
    };
    let report = &checked.report;
    let ids: Vec<&str> = checked.active.iter().map(|r| r.id).collect();
    let rendered = match format {
        LintFormat::Human => report::human(report),
        LintFormat::Json => format!("{}\n", serde_json::to_string_pretty(&report::json(report))?),
        LintFormat::Sarif => format!(
            "{}\n",
            serde_json::to_string_pretty(&report::sarif(report, &checked.active))?
        ),
        LintFormat::Github => report::github(report),
        LintFormat::Junit => report::junit(report, &ids)?,
    };
    print!("{rendered}");
    let mut remaining_errors = report.count(Level::Error);
    if args.fix {
        // The diff goes with the human format; machine output on stdout stays parseable.
        let human = format == LintFormat::Human;
        let mut say = |note: fix::Note<'_>| {
            if human {
                print!("{note}");
            } else {
                eprint!("{note}");
            }
        };
        remaining_errors = fix::make(&planned, args.apply, &mut say).await?;
    }
    Ok(if !report.errors.is_empty() {
        exit::USAGE
    } else if remaining_errors > 0 {
        exit::RUN_FAILED
    } else {
        exit::SUCCESS
    })
}

/// The rules the task's protocol block raises to errors, so `harness lint` on a task says
/// what its `lint` step will. A prompt or block that does not read raises nothing here:
/// the lint reports the first, a run the second.
fn raised_by_block(task: &Path, project: &Project) -> Vec<String> {
    let spec = Prompt::load(task).ok().and_then(|prompt| {
        let own = ComposeFile::parse("candidate", prompt.config_yaml(), prompt.config_line());
        ProtocolSpec::of_prompt(&prompt, &own.ok()?, project.protocol.as_deref()).ok()
    });
    spec.map(|s| s.file().lint.errors.clone())
        .unwrap_or_default()
}

fn list_rules(cli: &Cli) -> Result<u8, ExpectedError> {
    print(cli.json, rules(), report::rules_table(rules()))?;
    Ok(exit::SUCCESS)
}
