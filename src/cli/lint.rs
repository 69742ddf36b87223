use std::path::{Path, PathBuf};

use anyhow::Context as _;
use comfy_table::{Table, presets::UTF8_FULL_CONDENSED};

use super::args::{Cli, LintArgs, LintFormat};
use super::exit;
use crate::compose::{ComposeError, ComposeFile};
use crate::engine::ComposeCli;
use crate::lint::fix::{self, FixPlan};
use crate::lint::report::{self, FileReport, LoadError, Report};
use crate::lint::{Config, Level, Options, input, lint_merged, lint_with, locate, rules};
use crate::task::Prompt;

/// One thing to lint: a compose file, or a task's candidate inside its prompt.
struct Target {
    path: PathBuf,
    /// A task's candidate: its fixes cannot be written back here.
    in_prompt: bool,
}

pub async fn lint(cli: &Cli, args: &LintArgs) -> anyhow::Result<u8> {
    if args.rules {
        return list_rules(cli);
    }
    let format = args.format.unwrap_or(if cli.json {
        LintFormat::Json
    } else {
        LintFormat::Human
    });
    let targets: Vec<Target> = if args.files.is_empty() {
        vec![Target {
            path: args.task.clone(),
            in_prompt: true,
        }]
    } else {
        args.files
            .iter()
            .map(|p| Target {
                path: p.clone(),
                in_prompt: false,
            })
            .collect()
    };
    let mut report = Report::default();
    let mut plans: Vec<(PathBuf, ComposeFile, Options, FixPlan)> = Vec::new();
    let mut active = Config::default().active();
    for target in &targets {
        let config = Config::find(args.config.as_deref(), Some(&target.path))?;
        active = config.active();
        let file = match load(target) {
            Ok(file) => file,
            Err(e) => {
                report.errors.push(e);
                continue;
            }
        };
        let opts = Options {
            config,
            dotenv: if target.in_prompt {
                Default::default()
            } else {
                input::dotenv_names(&target.path)
            },
            ignore_suppressions: false,
        };
        // Compose merges `compose.override.yaml` into `compose.yaml` by itself; the
        // project it deploys is the merge, so that is what is linted.
        let over = if target.in_prompt {
            None
        } else {
            input::override_for(&target.path)
        };
        let (findings, over_report) = match over {
            Some(over_path) => {
                let over_target = Target {
                    path: over_path,
                    in_prompt: false,
                };
                match load(&over_target) {
                    Ok(over_file) => {
                        let (base, over) = lint_merged(&file, &over_file, &opts);
                        let report = FileReport {
                            path: over_target.path.display().to_string(),
                            findings: over,
                            fixes: Default::default(),
                            text: over_file.text.clone(),
                        };
                        (base, Some(report))
                    }
                    Err(e) => {
                        report.errors.push(e);
                        (lint_with(&file, &opts), None)
                    }
                }
            }
            None => (lint_with(&file, &opts), None),
        };
        let mut file_report = FileReport {
            path: target.path.display().to_string(),
            findings,
            fixes: Default::default(),
            text: file.text.clone(),
        };
        if args.fix {
            let plan = fix::plan(&file, &opts);
            file_report.fixes = plan.fixes.clone();
            if args.apply && target.in_prompt {
                anyhow::bail!(
                    "`--fix --apply` writes compose files, not a task's prompt — give the \
                     compose file, or let `harness iterate --apply` change the task"
                );
            }
            plans.push((target.path.clone(), file, opts, plan));
        }
        report.files.push(file_report);
        report.files.extend(over_report);
    }
    let ids: Vec<&str> = active.iter().map(|r| r.id).collect();
    let rendered = match format {
        LintFormat::Human => report::human(&report),
        LintFormat::Json => format!(
            "{}\n",
            serde_json::to_string_pretty(&report::json(&report))?
        ),
        LintFormat::Sarif => format!(
            "{}\n",
            serde_json::to_string_pretty(&report::sarif(&report, &active))?
        ),
        LintFormat::Github => report::github(&report),
        LintFormat::Junit => report::junit(&report, &ids)?,
    };
    print!("{rendered}");
    let mut remaining_errors = report.count(Level::Error);
    if args.fix {
        remaining_errors = fixes(&plans, args.apply, format == LintFormat::Human).await?;
    }
    Ok(if !report.errors.is_empty() {
        exit::USAGE
    } else if remaining_errors > 0 {
        exit::RUN_FAILED
    } else {
        exit::SUCCESS
    })
}

fn load(target: &Target) -> Result<ComposeFile, LoadError> {
    let name = target.path.display().to_string();
    let failed = |message: String, line: Option<usize>, column: Option<usize>| LoadError {
        file: name.clone(),
        line,
        column,
        message,
    };
    if target.in_prompt {
        let prompt = Prompt::load(&target.path).map_err(|e| failed(e.to_string(), None, None))?;
        let text = prompt.config_yaml();
        return ComposeFile::parse(&name, text, prompt.config_line())
            .map_err(|e| compose_error(&name, text, prompt.config_line(), e));
    }
    let text = std::fs::read_to_string(&target.path).map_err(|e| {
        failed(
            format!("cannot read `{name}`: {e} — check the path"),
            None,
            None,
        )
    })?;
    ComposeFile::parse(&name, &text, 1).map_err(|e| compose_error(&name, &text, 1, e))
}

fn compose_error(name: &str, text: &str, first_line: usize, e: ComposeError) -> LoadError {
    // The syntax error's position is part of its text (`:line:column`); SARIF and the
    // annotations want it as fields. A shape error names a key, found in the text.
    let at = |keys: &[&str]| {
        locate::key_position(text, keys)
            .map(|(l, c)| (Some(l + first_line - 1), Some(c)))
            .unwrap_or((None, None))
    };
    let (line, column) = match &e {
        ComposeError::Syntax { location, .. } => {
            let mut parts = location.trim_start_matches(':').split(':');
            let line = parts.next().and_then(|l| l.parse().ok());
            (line, parts.next().and_then(|c| c.parse().ok()))
        }
        ComposeError::UnknownKey { key, .. } => at(&[key.as_str()]),
        ComposeError::BadService { service, .. } => at(&["services", service.as_str()]),
        ComposeError::NoServices { .. } => at(&["services"]),
        ComposeError::NotAMapping { .. } => (None, None),
    };
    LoadError {
        file: name.to_string(),
        line,
        column,
        message: e.to_string(),
    }
}

/// Shows each file's fixes as a diff (on stdout for the human format, else on stderr so
/// machine output stays parseable) and, with `apply`, writes them once `compose config`
/// accepts the result. Returns the error findings left.
async fn fixes(
    plans: &[(PathBuf, ComposeFile, Options, FixPlan)],
    apply: bool,
    human: bool,
) -> anyhow::Result<usize> {
    let say = |s: &str| {
        if human {
            print!("{s}");
        } else {
            eprint!("{s}");
        }
    };
    let mut remaining = 0;
    let mut compose: Option<ComposeCli> = None;
    for (path, file, opts, plan) in plans {
        let name = path.display().to_string();
        for s in &plan.skipped {
            say(&format!(
                "{name}: not fixed ({}): {}\n",
                s.mutation, s.reason
            ));
        }
        let before = lint_with(file, opts);
        if !plan.changed() {
            say(&format!("{name}: nothing --fix can change\n"));
            remaining += before.iter().filter(|f| f.level == Level::Error).count();
            continue;
        }
        for (id, reason) in &plan.applied {
            say(&format!("{name}: fix {id}: {reason}\n"));
        }
        say(&crate::mutate::diff(
            &file.text,
            &plan.text,
            &format!("{name} (as written)"),
            &format!("{name} (fixed)"),
        ));
        let fixed = ComposeFile::parse(&name, &plan.text, 1)?;
        let after = lint_with(&fixed, opts);
        if !apply {
            remaining += before.iter().filter(|f| f.level == Level::Error).count();
            continue;
        }
        if compose.is_none() {
            compose = Some(ComposeCli::detect().await.context(
                "`--fix --apply` validates with `compose config` before writing — install \
                 Docker Compose, or preview with `--fix` alone",
            )?);
        }
        let cli = compose.as_ref().context("compose CLI detected above")?;
        write_validated(cli, path, &file.text, &plan.text).await?;
        say(&format!(
            "{name}: written ({} edit(s)); `compose config` accepts it\n",
            plan.edits.len()
        ));
        remaining += after.iter().filter(|f| f.level == Level::Error).count();
    }
    Ok(remaining)
}

/// Writes `fixed` to a hidden file beside `path` (so relative paths in it resolve as in
/// the original), has `compose config -q` check it, and only then moves it over `path`.
async fn write_validated(
    cli: &ComposeCli,
    path: &Path,
    original: &str,
    fixed: &str,
) -> anyhow::Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let base = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "compose.yml".to_string());
    let scratch = dir.join(format!(".{base}.harness-lint-fix.yml"));
    let check = |text: &str| {
        let scratch = scratch.clone();
        let text = text.to_string();
        async move {
            std::fs::write(&scratch, text)
                .with_context(|| format!("cannot write `{}`", scratch.display()))?;
            let out = cli
                .project("harness-lint-fix", vec![scratch.clone()])
                .validate()
                .await;
            anyhow::Ok(out?)
        }
    };
    match check(fixed).await {
        Ok(out) if out.success => {}
        Ok(out) => {
            let before = check(original).await;
            let _ = std::fs::remove_file(&scratch);
            let also_before = matches!(before, Ok(ref b) if !b.success);
            anyhow::bail!(
                "`{}` not written: `compose config` rejects the fixed file: {}{}",
                path.display(),
                out.stderr.trim(),
                if also_before {
                    " — it rejects the file as written too; fix that first"
                } else {
                    ""
                }
            );
        }
        Err(e) => {
            let _ = std::fs::remove_file(&scratch);
            return Err(e);
        }
    }
    if let Ok(meta) = std::fs::metadata(path) {
        let _ = std::fs::set_permissions(&scratch, meta.permissions());
    }
    std::fs::rename(&scratch, path).with_context(|| {
        format!(
            "cannot replace `{}` with the fixed file `{}`",
            path.display(),
            scratch.display()
        )
    })?;
    Ok(())
}

fn list_rules(cli: &Cli) -> anyhow::Result<u8> {
    if cli.json {
        println!("{}", serde_json::to_string_pretty(rules())?);
        return Ok(exit::SUCCESS);
    }
    let mut table = Table::new();
    table.load_style(UTF8_FULL_CONDENSED).set_header([
        "rule",
        "level",
        "on",
        "fix",
        "anchor",
        "what it finds",
    ]);
    for r in rules() {
        table.add_row([
            r.id,
            r.level.as_str(),
            if r.default_on { "yes" } else { "off" },
            r.mutation.unwrap_or("-"),
            r.anchor,
            r.description,
        ]);
    }
    println!("{table}");
    Ok(exit::SUCCESS)
}
