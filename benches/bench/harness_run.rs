//! One `harness run` as a user starts it, measured from outside: wall time, the harness's
//! own CPU, its step timings from the run file, and how late it acted on "healthy" compared
//! with the engine's own event timestamp.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use bollard::query_parameters::EventsOptions;
use futures_util::StreamExt;
use serde::Serialize;
use serde_json::Value;

use crate::proc::{self, Measured};

pub struct Workdir {
    pub dir: PathBuf,
    pub task: PathBuf,
}

impl Workdir {
    /// A directory with its own copy of the task, runs/ and scoreboard.
    pub fn new(root: &Path, name: &str, repo: &Path) -> std::io::Result<Workdir> {
        let dir = root.join(name);
        std::fs::create_dir_all(dir.join("runs"))?;
        let task = dir.join("docker_compose_dynamic.md");
        std::fs::copy(repo.join("prompts/docker_compose_dynamic.md"), &task)?;
        Ok(Workdir { dir, task })
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct HarnessRound {
    pub uuid: String,
    pub code: Option<i32>,
    pub success: bool,
    pub wall_ms: f64,
    pub self_cpu_ms: f64,
    pub total_cpu_ms: f64,
    pub max_rss_kb: i64,
    /// Per step, as the run file records it.
    pub steps: Vec<(String, String, u64, Option<String>)>,
    pub api_port: Option<u16>,
    pub ws_port: Option<u16>,
    pub started_unix_ns: i64,
    pub ended_unix_ns: i64,
    pub ready_unix_ns: Option<i64>,
    pub error: Option<String>,
}

impl HarnessRound {
    pub fn step(&self, name: &str) -> Option<&(String, String, u64, Option<String>)> {
        self.steps.iter().find(|s| s.0 == name)
    }
    pub fn step_ms(&self, name: &str) -> Option<f64> {
        self.step(name).map(|s| s.2 as f64)
    }
}

pub fn run(
    harness: &Path,
    repo: &Path,
    work: &Workdir,
    steps: &str,
    timeout: Duration,
) -> HarnessRound {
    let mut cmd = Command::new(harness);
    cmd.current_dir(&work.dir)
        .env("HARNESS_LOG", "warn,harness::engine::wait=debug")
        .env("NO_COLOR", "1")
        .arg("--json")
        .arg("--runs-dir")
        .arg(work.dir.join("runs"))
        .arg("--db")
        .arg(work.dir.join("scoreboard.db"))
        .arg("run")
        .arg("--task")
        .arg(&work.task)
        .arg("--config")
        .arg(repo.join("docker/docker-compose.yml"));
    // No selection: the whole protocol, as `iterate` runs it.
    if !steps.is_empty() {
        cmd.arg("--steps").arg(steps);
    }
    match proc::run(&mut cmd, timeout) {
        Ok(m) => parse(m),
        Err(e) => HarnessRound {
            uuid: String::new(),
            code: None,
            success: false,
            wall_ms: f64::NAN,
            self_cpu_ms: f64::NAN,
            total_cpu_ms: f64::NAN,
            max_rss_kb: 0,
            steps: vec![],
            api_port: None,
            ws_port: None,
            started_unix_ns: 0,
            ended_unix_ns: 0,
            ready_unix_ns: None,
            error: Some(format!("cannot run the harness: {e}")),
        },
    }
}

fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            for d in chars.by_ref() {
                if d.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn parse(m: Measured) -> HarnessRound {
    let stderr = strip_ansi(&m.stderr);
    // With --json the UUID line goes to stderr and the record to stdout.
    let uuid = stderr
        .lines()
        .find_map(|l| l.strip_prefix("run "))
        .map(|s| s.trim().to_string())
        .unwrap_or_default();
    let ready_unix_ns = stderr.lines().find_map(|l| {
        let at = l.find("ready_unix_ns=")?;
        l[at + "ready_unix_ns=".len()..]
            .split(|c: char| !c.is_ascii_digit())
            .next()?
            .parse()
            .ok()
    });
    let record: Value = serde_json::from_str(&m.stdout).unwrap_or(Value::Null);
    let steps: Vec<(String, String, u64, Option<String>)> = record["steps"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|s| {
                    (
                        s["name"].as_str().unwrap_or_default().to_string(),
                        s["status"].as_str().unwrap_or_default().to_string(),
                        s["duration_ms"].as_u64().unwrap_or(0),
                        s["signature"].as_str().map(str::to_string),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    // A run of selected steps is recorded as `partial` (never counted), its steps passing.
    let all_passed = !steps.is_empty() && steps.iter().all(|s| s.1 == "pass");
    let success = m.code == Some(0)
        && (record["metrics"]["success"] == true
            || (record["metrics"]["status"] == "partial" && all_passed));
    let error = if success {
        None
    } else {
        let tail: Vec<&str> = stderr.lines().rev().take(5).collect();
        Some(format!(
            "exit {:?}{}: {}",
            m.code,
            if m.timed_out { " (timed out)" } else { "" },
            tail.into_iter().rev().collect::<Vec<_>>().join(" | ")
        ))
    };
    HarnessRound {
        uuid,
        code: m.code,
        success,
        wall_ms: m.wall_ms,
        self_cpu_ms: m.self_cpu_ms,
        total_cpu_ms: m.total_cpu_ms,
        max_rss_kb: m.max_rss_kb,
        steps,
        api_port: record["deployment"]["api_port"].as_u64().map(|p| p as u16),
        ws_port: record["deployment"]["websocket_port"]
            .as_u64()
            .map(|p| p as u16),
        started_unix_ns: m.started_unix_ns,
        ended_unix_ns: m.ended_unix_ns,
        ready_unix_ns,
        error,
    }
}

/// The engine's `health_status: healthy` timestamps (ns) for the run's containers, asked
/// after the fact from the daemon's event log (filtered by the run's label).
pub async fn healthy_events(docker: &bollard::Docker, r: &HarnessRound) -> Vec<i64> {
    if r.uuid.is_empty() {
        return vec![];
    }
    let filters = HashMap::from([
        (
            "label".to_string(),
            vec![format!("dev.harness.run={}", r.uuid)],
        ),
        ("type".to_string(), vec!["container".to_string()]),
    ]);
    let options = EventsOptions {
        since: Some((r.started_unix_ns / 1_000_000_000).to_string()),
        until: Some((r.ended_unix_ns / 1_000_000_000 + 1).to_string()),
        filters: Some(filters),
    };
    let mut stream = docker.events(Some(options)).boxed();
    let mut out = Vec::new();
    let collect = async {
        while let Some(Ok(e)) = stream.next().await {
            if e.action.as_deref() == Some("health_status: healthy")
                && let Some(t) = e.time_nano
            {
                out.push(t);
            }
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(10), collect).await;
    out
}

/// How late the harness acted on the last healthy event before its "ready".
pub fn lag_ms(r: &HarnessRound, healthy: &[i64]) -> Option<f64> {
    let ready = r.ready_unix_ns?;
    let last = healthy.iter().copied().filter(|t| *t <= ready).max()?;
    Some((ready - last) as f64 / 1e6)
}
