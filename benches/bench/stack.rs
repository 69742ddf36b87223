//! The bench's own Compose projects: the Compose CLI, and removal of everything a project
//! left, whatever happened (every project the bench starts is registered first).

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use harness::engine::{ComposeCli, EngineError};
use tokio::process::Command;

static PROJECTS: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());

/// A project name unique to this bench process.
pub fn project_name(kind: &str, i: usize) -> String {
    let name = format!("hbench-{}-{kind}-{i}", std::process::id());
    if let Ok(mut p) = PROJECTS.lock() {
        p.insert(name.clone());
    }
    name
}

pub struct Cmd {
    pub success: bool,
    pub stderr: String,
    /// How long the CLI took.
    pub ms: f64,
}

static CLI: OnceLock<ComposeCli> = OnceLock::new();

/// The Compose CLI the harness would use (v2 unless `HARNESS_COMPOSE` forces another),
/// detected once: the floor and the harness run on the same one.
pub async fn cli() -> Result<&'static ComposeCli, EngineError> {
    if let Some(cli) = CLI.get() {
        return Ok(cli);
    }
    let found = ComposeCli::detect().await?;
    Ok(CLI.get_or_init(|| found))
}

/// `<compose CLI> -p project -f file args…`.
pub async fn compose(
    project: &str,
    file: &Path,
    args: &[&str],
    env: &[(&str, String)],
    timeout: Duration,
) -> Cmd {
    let started = Instant::now();
    let cli = match cli().await {
        Ok(cli) => cli,
        Err(e) => {
            return Cmd {
                success: false,
                stderr: e.to_string(),
                ms: 0.0,
            };
        }
    };
    let mut cmd = Command::from(cli.std_command());
    cmd.arg("-p")
        .arg(project)
        .arg("-f")
        .arg(file)
        .args(args)
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = tokio::time::timeout(timeout, cmd.output()).await;
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    match out {
        Ok(Ok(o)) => Cmd {
            success: o.status.success(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
            ms,
        },
        Ok(Err(e)) => Cmd {
            success: false,
            stderr: format!("cannot run {}: {e}", cli.display_name()),
            ms,
        },
        Err(_) => Cmd {
            success: false,
            stderr: format!("{} {} timed out", cli.display_name(), args.join(" ")),
            ms,
        },
    }
}

/// Removes every registered project's containers, networks and volumes through the API.
pub async fn remove_all() -> usize {
    let projects: Vec<String> = PROJECTS
        .lock()
        .map(|p| p.iter().cloned().collect())
        .unwrap_or_default();
    let Ok(docker) = harness::engine::Docker::connect().await else {
        eprintln!("bench: cannot reach the engine to clean up {projects:?}");
        return 0;
    };
    let mut removed = 0;
    for p in &projects {
        match docker.remove_project(p).await {
            Ok(l) if !l.is_empty() => removed += 1,
            Ok(_) => {}
            Err(e) => eprintln!("bench: cleanup of {p} failed: {e}"),
        }
    }
    removed
}

/// Removes one project now (after its round), keeping it registered for the final sweep.
pub async fn remove(docker: &harness::engine::Docker, project: &str) {
    let _ = docker.remove_project(project).await;
}
