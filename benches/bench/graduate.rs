//! Figure 7: the seed task from its first version to graduated, as the README's first
//! command runs it — `iterate --apply --until-graduated` on a fresh copy of the task and a
//! fresh scoreboard — once per `--parallel K`, with the machine's load around each.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use serde_json::{Value, json};

use crate::Opts;
use crate::proc;

/// Bounds one whole loop: the harness's own `--max-runs` stops it sooner.
const LOOP_TIMEOUT: Duration = Duration::from_secs(60 * 60);

pub fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .trim()
        .to_string()
}

pub async fn time_to_graduate(opts: &Opts, root: &Path) -> anyhow::Result<Value> {
    let mut figures = Vec::new();
    for k in [1, 2] {
        let (harness, repo, dir) = (
            opts.harness.clone(),
            opts.repo.clone(),
            root.join(format!("graduate-k{k}")),
        );
        eprintln!("bench: seed task to graduation with --parallel {k} …");
        let figure = tokio::task::spawn_blocking(move || one(&harness, &repo, &dir, k)).await??;
        eprintln!(
            "bench: --parallel {k}: {} s, graduated {}",
            figure["iterate_wall_s"], figure["graduated"]
        );
        figures.push(figure);
    }
    Ok(Value::Array(figures))
}

fn one(harness: &Path, repo: &Path, dir: &Path, k: u32) -> anyhow::Result<Value> {
    std::fs::create_dir_all(dir.join("runs"))?;
    let task = dir.join("docker_compose_dynamic.md");
    std::fs::copy(repo.join("prompts/docker_compose_dynamic.md"), &task)?;
    let graduated = dir.join("graduated.yml");
    let mut cmd = Command::new(harness);
    cmd.current_dir(dir)
        .env("NO_COLOR", "1")
        .arg("--json")
        .arg("--runs-dir")
        .arg(dir.join("runs"))
        .arg("--db")
        .arg(dir.join("scoreboard.db"))
        .args([
            "iterate",
            "--apply",
            "--until-graduated",
            "--max-runs",
            "80",
        ])
        .arg("--parallel")
        .arg(k.to_string())
        .arg("--task")
        .arg(&task)
        .arg("--graduate-to")
        .arg(&graduated);
    let before = loadavg();
    let m = proc::run(&mut cmd, LOOP_TIMEOUT)?;
    let doc: Value = serde_json::from_str(&m.stdout).unwrap_or(Value::Null);
    let runs = doc["runs"].as_array().map(Vec::len).unwrap_or(0);
    let versions = doc["scoreboard"].as_array().map(Vec::len).unwrap_or(0);
    Ok(json!({
        "parallel": k,
        "iterate_wall_s": m.wall_ms / 1000.0,
        "exit": m.code,
        "timed_out": m.timed_out,
        "graduated": m.code == Some(0) && graduated.is_file(),
        "runs": runs,
        "versions": versions,
        "goal_s": 240,
        "loadavg": {"before": before, "after": loadavg()},
    }))
}
