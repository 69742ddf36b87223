//! `harness audit` and `harness show`.

use super::args::{AuditArgs, Cli, ShowArgs};
use super::error::ExpectedError;
use super::exit;
use super::output::format_ms;
use crate::audit::{self, AuditOptions};

pub fn audit(cli: &Cli, args: &AuditArgs) -> Result<u8, ExpectedError> {
    // No --prompt: the prompt file each task was recorded from.
    let options = AuditOptions {
        task: args.only.task.clone(),
        runs_dir: cli.runs_dir.clone(),
        prompts: args.prompts.clone(),
        cache: (!args.full).then(|| audit::audit_cache_path(&cli.db)),
    };
    let report = audit::audit(&cli.db, &options)?;
    if cli.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        for f in &report.findings {
            let uuid = f.uuid.as_deref().unwrap_or("-");
            let file = f.file.as_deref().unwrap_or("-");
            println!("{:<18} {uuid}  {file}  {}", f.kind.as_str(), f.message);
        }
        let unchanged = match report.runs_unchanged {
            0 => String::new(),
            n => format!(
                " ({n} unchanged since an earlier audit verified them; --full re-reads them)"
            ),
        };
        println!(
            "{} runs, {} run files checked{unchanged}: {}",
            report.runs_checked,
            report.files_checked,
            if report.is_clean() {
                "clean".to_string()
            } else {
                format!("{} finding(s)", report.findings.len())
            }
        );
    }
    Ok(if report.is_clean() {
        exit::SUCCESS
    } else {
        exit::RUN_FAILED
    })
}

pub fn show(cli: &Cli, args: &ShowArgs) -> Result<u8, ExpectedError> {
    let view = audit::show(&cli.db, &cli.runs_dir, &args.uuid)?;
    if cli.json {
        println!("{}", serde_json::to_string_pretty(&view)?);
        return Ok(exit::SUCCESS);
    }
    println!(
        "run {}   task {}   {}   {}",
        view.uuid, view.task, view.version, view.started_at
    );
    for step in &view.steps {
        let mark = match step.status.as_str() {
            "pass" => "✓",
            "fail" => "✗",
            _ => "-",
        };
        let sig = step.signature.as_deref().unwrap_or("");
        println!(
            "  {mark} {:<15} {:>8}   {sig}",
            step.name,
            format_ms(step.duration_ms.max(0) as u64)
        );
    }
    println!("verdict: {}", view.verdict);
    if let Some(error) = &view.error {
        println!("error: {error}");
    }
    let matches = if view.file_matches_db {
        "matches the scoreboard"
    } else {
        "DIFFERS from the scoreboard — run `harness audit`"
    };
    println!(
        "file: {} ({})",
        view.file.display(),
        if view.file_exists { matches } else { "MISSING" }
    );
    println!("evidence: {}", view.evidence.dir.display());
    for log in &view.evidence.logs {
        println!("  {}", log.display());
    }
    Ok(exit::SUCCESS)
}
