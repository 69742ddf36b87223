//! The static HTML report: one self-contained page, no JavaScript, opens from disk.
//!
//! The markup is also well-formed XML (every element closed, every attribute quoted, only
//! XML's entities), so the tests parse it strictly.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use super::ReportError;
use super::data::{self, Run, Task, Version};
use super::escape::{esc, one_line};
use super::paths;
use super::svg;
use crate::run::{RunDir, RunId};
use crate::score;

/// Signatures listed per version in the scoreboard table.
const TOP_SIGNATURES: usize = 3;

/// Writes `out_dir/index.html` (creating `out_dir`): per task the scoreboard, the evolution
/// history, and per version a chart of its success ratio over its runs and the table of its
/// runs linking to their files in `runs_dir` (relative links). Returns the path written.
pub fn html(store_path: &Path, runs_dir: &Path, out_dir: &Path) -> Result<PathBuf, ReportError> {
    let tasks = data::load(store_path)?;
    std::fs::create_dir_all(out_dir).map_err(write_err(out_dir))?;
    let links = Links {
        out_dir: paths::absolute(out_dir),
        runs_dir: paths::absolute(runs_dir),
    };
    let page = render(&tasks, &links, store_path);
    let path = out_dir.join("index.html");
    write_atomically(&path, page.as_bytes())?;
    Ok(path)
}

fn write_err(path: &Path) -> impl Fn(std::io::Error) -> ReportError + '_ {
    move |source| ReportError::Write {
        path: path.to_path_buf(),
        source,
    }
}

fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), ReportError> {
    let tmp = path.with_file_name(".index.html.tmp");
    {
        let mut file = std::fs::File::create(&tmp).map_err(write_err(&tmp))?;
        file.write_all(bytes).map_err(write_err(&tmp))?;
        file.sync_all().map_err(write_err(&tmp))?;
    }
    std::fs::rename(&tmp, path).map_err(write_err(path))
}

struct Links {
    out_dir: PathBuf,
    runs_dir: PathBuf,
}

impl Links {
    /// A link to `target` (under the runs directory) if it exists.
    fn to(&self, target: &Path) -> Option<String> {
        target.exists().then(|| paths::href(&self.out_dir, target))
    }
}

const STYLE: &str = "
body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;margin:0 auto;max-width:1100px;padding:1em 1.5em;color:#1d232a;background:#fff}
h1{font-size:1.6em;margin-bottom:.2em}h2{border-bottom:2px solid #d0d7de;padding-bottom:.2em;margin-top:2em}
h3{margin-top:1.6em}h4{margin:1.4em 0 .4em}
.meta{color:#57606a}
table{border-collapse:collapse;margin:.4em 0 1em;width:100%}
th,td{border:1px solid #d0d7de;padding:.25em .5em;text-align:left;vertical-align:top}
th{background:#f6f8fa}td.n{text-align:right;font-variant-numeric:tabular-nums}
tr.pass td.verdict{color:#1a7f37;font-weight:600}tr.fail td.verdict{color:#cf222e;font-weight:600}
.yes{color:#1a7f37;font-weight:600}.no{color:#57606a}
code,.uuid{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:.92em}
.missing{color:#cf222e}
svg.chart{display:block;max-width:100%;height:auto;border:1px solid #d0d7de}
";

fn render(tasks: &[Task], links: &Links, store_path: &Path) -> String {
    let runs: usize = tasks
        .iter()
        .flat_map(|t| &t.versions)
        .map(|v| v.runs.len())
        .sum();
    let mut h = String::with_capacity(64 * 1024);
    h.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n");
    h.push_str("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\"/>\n");
    h.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\n");
    h.push_str("<title>harness report</title>\n<style>");
    h.push_str(STYLE);
    h.push_str("</style>\n</head>\n<body>\n<h1>harness report</h1>\n");
    let _ = writeln!(
        h,
        "<p class=\"meta\">Scoreboard <code>{}</code> · {} task{} · {runs} run{} · generated {}</p>",
        esc(&store_path.display().to_string()),
        tasks.len(),
        plural(tasks.len()),
        plural(runs),
        esc(&chrono::Utc::now()
            .format("%Y-%m-%d %H:%M:%S UTC")
            .to_string()),
    );
    if tasks.is_empty() {
        h.push_str("<p>The scoreboard has no tasks yet: run <code>harness run</code>.</p>\n");
    } else {
        h.push_str("<ul>\n");
        for task in tasks {
            let graduated: Vec<String> = task
                .versions
                .iter()
                .filter(|v| score::graduated(v.successes(), v.failures()))
                .map(|v| format!("v{}", v.number))
                .collect();
            let runs: usize = task.versions.iter().map(|v| v.runs.len()).sum();
            let _ = writeln!(
                h,
                "<li><a href=\"#t{}\">{}</a> — {} version{}, {runs} run{}{}</li>",
                task.id,
                esc(&task.name),
                task.versions.len(),
                plural(task.versions.len()),
                plural(runs),
                if graduated.is_empty() {
                    String::new()
                } else {
                    format!(", graduated: {}", graduated.join(", "))
                }
            );
        }
        h.push_str("</ul>\n");
    }
    for task in tasks {
        render_task(&mut h, task, links);
    }
    h.push_str("</body>\n</html>\n");
    h
}

fn render_task(h: &mut String, task: &Task, links: &Links) {
    let _ = writeln!(
        h,
        "<section id=\"t{}\">\n<h2>Task {}</h2>",
        task.id,
        esc(&task.name)
    );
    h.push_str("<h3>Scoreboard</h3>\n<table class=\"scoreboard\">\n<thead><tr><th>Version</th><th>Runs</th><th>✓</th><th>✗</th><th>Ratio</th><th>Wilson lower bound</th><th>Graduated</th><th>Last run</th><th>Most frequent failures</th></tr></thead>\n<tbody>\n");
    for v in &task.versions {
        let (s, f) = (v.successes(), v.failures());
        let signatures: Vec<String> = v
            .signatures()
            .into_iter()
            .take(TOP_SIGNATURES)
            .map(|(sig, n)| format!("{sig} ×{n}"))
            .collect();
        let graduated = score::graduated(s, f);
        let _ = writeln!(
            h,
            "<tr><td><a href=\"#t{}-v{}\">v{}</a></td><td class=\"n\">{}</td><td class=\"n\">{s}</td><td class=\"n\">{f}</td><td class=\"n\">{}</td><td class=\"n\">{:.3}</td><td class=\"{}\">{}</td><td>{}</td><td>{}</td></tr>",
            task.id,
            v.number,
            v.number,
            s + f,
            esc(&score::ratio(s, f)),
            score::wilson_lower(s, f),
            if graduated { "yes" } else { "no" },
            if graduated { "yes" } else { "no" },
            esc(&v.last_run().map(show_time).unwrap_or_else(|| "—".into())),
            esc(&signatures.join(", ")),
        );
    }
    h.push_str("</tbody>\n</table>\n");

    h.push_str("<h3>Evolution history</h3>\n<table class=\"evolution\">\n<thead><tr><th>Version</th><th>Parent</th><th>Mutation</th><th>Reason</th><th>Created</th></tr></thead>\n<tbody>\n");
    for v in &task.versions {
        let _ = writeln!(
            h,
            "<tr><td>v{}</td><td>{}</td><td><code>{}</code></td><td>{}</td><td>{}</td></tr>",
            v.number,
            v.parent
                .map(|p| format!("v{p}"))
                .unwrap_or_else(|| "—".into()),
            esc(&v.mutation),
            esc(&v.reason),
            esc(&show_time(&v.created_at)),
        );
    }
    h.push_str("</tbody>\n</table>\n<h3>Runs by version</h3>\n");
    for v in &task.versions {
        render_version(h, task, v, links);
    }
    h.push_str("</section>\n");
}

fn render_version(h: &mut String, task: &Task, v: &Version, links: &Links) {
    let label = format!("{} v{}", task.name, v.number);
    let _ = writeln!(
        h,
        "<section id=\"t{}-v{}\">\n<h4>v{} — {} run{}</h4>",
        task.id,
        v.number,
        v.number,
        v.runs.len(),
        plural(v.runs.len())
    );
    let Some(chart) = svg::ratio_chart(&label, &v.runs) else {
        h.push_str("<p class=\"meta\">No runs yet.</p>\n</section>\n");
        return;
    };
    h.push_str(&chart);
    h.push_str("\n<table class=\"runs\">\n<thead><tr><th>#</th><th>Time</th><th>Version</th><th>Verdict</th><th>Failing steps</th><th>UUID</th><th>Run file</th></tr></thead>\n<tbody>\n");
    for (i, run) in v.runs.iter().enumerate().rev() {
        render_run(h, i + 1, v, run, links);
    }
    h.push_str("</tbody>\n</table>\n</section>\n");
}

fn render_run(h: &mut String, index: usize, v: &Version, run: &Run, links: &Links) {
    let (class, verdict) = if run.success {
        ("pass", "✓ pass")
    } else {
        ("fail", "✗ fail")
    };
    let failing = if run.failed_steps.is_empty() {
        match (&run.error, run.success) {
            (Some(e), false) => one_line(e, 200),
            _ => String::new(),
        }
    } else {
        run.failed_steps
            .iter()
            .map(|s| format!("{} ({})", s.name, s.signature.as_deref().unwrap_or("?")))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let path = run.path_in(&links.runs_dir);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let file_cell = match links.to(&path) {
        Some(href) => format!("<a href=\"{}\">{}</a>", esc(&href), esc(&name)),
        None => format!(
            "<span class=\"missing\" title=\"not in the runs directory; run harness audit\">{} (missing)</span>",
            esc(&name)
        ),
    };
    let evidence = RunId::parse(&run.uuid)
        .map(|id| RunDir::new(&links.runs_dir, id))
        .and_then(|dir| links.to(dir.path()))
        .map(|href| format!(" · <a href=\"{}/\">evidence</a>", esc(&href)))
        .unwrap_or_default();
    let _ = writeln!(
        h,
        "<tr class=\"{class}\"><td class=\"n\">{index}</td><td>{}</td><td>v{}</td><td class=\"verdict\">{verdict}</td><td>{}</td><td class=\"uuid\">{}</td><td>{file_cell}{evidence}</td></tr>",
        esc(&show_time(&run.started_at)),
        v.number,
        esc(&failing),
        esc(&run.uuid),
    );
}

/// An RFC 3339 time as `YYYY-MM-DD HH:MM:SS UTC`; anything else as recorded.
fn show_time(s: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(s)
        .map(|t| {
            t.with_timezone(&chrono::Utc)
                .format("%Y-%m-%d %H:%M:%S UTC")
                .to_string()
        })
        .unwrap_or_else(|_| s.to_string())
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}
