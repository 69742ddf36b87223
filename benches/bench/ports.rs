//! Port safety under concurrency: N launches of the stack, K at a time — by the harness
//! (engine-assigned ports), and by the seed's scan-then-bind finder reimplemented here.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::sync::Semaphore;

use crate::harness_run::{self, Workdir};
use crate::stack;

#[derive(Debug, Clone, Default, Serialize)]
pub struct PortResult {
    pub launches: usize,
    pub concurrency: usize,
    pub deployed: usize,
    /// Deploys the engine refused because the host port was taken.
    pub port_collisions: usize,
    /// Deploys that failed for any reason (collisions included).
    pub failed_deploys: usize,
    /// Two launches alive at the same time on the same host port (should be impossible).
    pub overlapping_ports: usize,
    /// The finder itself found nothing free (seed only).
    pub finder_exhausted: usize,
    pub wall_s: f64,
    pub failures: Vec<String>,
}

/// At most 10 failure lines in the report; the counts carry the rest.
fn trim(failures: &mut Vec<String>) {
    if failures.len() > 10 {
        let more = failures.len() - 10;
        failures.truncate(10);
        failures.push(format!("… and {more} more"));
    }
}

fn is_port_error(stderr: &str) -> bool {
    let s = stderr.to_ascii_lowercase();
    s.contains("port is already allocated")
        || s.contains("address already in use")
        || s.contains("bind for")
}

/// Launches alive at once that share a host port.
fn overlaps(spans: &[(i64, i64, Vec<u16>)]) -> usize {
    let mut n = 0;
    for (i, a) in spans.iter().enumerate() {
        for b in &spans[i + 1..] {
            let alive_together = a.0 < b.1 && b.0 < a.1;
            if alive_together && a.2.iter().any(|p| b.2.contains(p)) {
                n += 1;
            }
        }
    }
    n
}

pub async fn harness_launches(
    harness: &Path,
    repo: &Path,
    root: &Path,
    n: usize,
    k: usize,
) -> anyhow::Result<PortResult> {
    let started = Instant::now();
    let sem = Arc::new(Semaphore::new(k));
    // One task copy per worker slot, so prompt edits never race (that is not what this measures).
    let mut works = Vec::new();
    for w in 0..k {
        works.push(Arc::new(tokio::sync::Mutex::new(Workdir::new(
            root,
            &format!("ports-harness-{w}"),
            repo,
        )?)));
    }
    let mut tasks = Vec::new();
    for i in 0..n {
        let sem = sem.clone();
        let works = works.clone();
        let harness: PathBuf = harness.to_path_buf();
        let repo: PathBuf = repo.to_path_buf();
        tasks.push(tokio::spawn(async move {
            let _permit = sem.acquire_owned().await.ok()?;
            // A free work dir: at most k launches hold permits, and there are k dirs.
            let work = loop {
                if let Some(g) = works.iter().find_map(|w| w.clone().try_lock_owned().ok()) {
                    break g;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            };
            let r = tokio::task::spawn_blocking(move || {
                harness_run::run(
                    &harness,
                    &repo,
                    &work,
                    "deploy,api_probe,shutdown",
                    Duration::from_secs(300),
                )
            })
            .await
            .ok()?;
            let _ = i;
            Some(r)
        }));
    }
    let mut res = PortResult {
        launches: n,
        concurrency: k,
        ..Default::default()
    };
    let mut spans = Vec::new();
    for t in tasks {
        let Some(r) = t.await.ok().flatten() else {
            res.failed_deploys += 1;
            res.failures.push("launch task failed".into());
            continue;
        };
        match r.step("deploy") {
            Some((_, status, _, _)) if status == "pass" => {
                res.deployed += 1;
                let ports: Vec<u16> = [r.api_port, r.ws_port].into_iter().flatten().collect();
                // The ports are held from the end of deploy to the start of shutdown.
                let ms = |name: &str| (r.step_ms(name).unwrap_or(0.0) * 1e6) as i64;
                let from = r.started_unix_ns + ms("deploy");
                let to = r.ended_unix_ns - ms("shutdown");
                spans.push((from, to.max(from), ports));
            }
            Some((_, _, _, sig)) => {
                res.failed_deploys += 1;
                if sig.as_deref() == Some("port_conflict") {
                    res.port_collisions += 1;
                }
                res.failures
                    .push(format!("{}: deploy {:?}: {:?}", r.uuid, sig, r.error));
            }
            None => {
                res.failed_deploys += 1;
                res.failures
                    .push(format!("{}: no deploy step: {:?}", r.uuid, r.error));
            }
        }
    }
    res.overlapping_ports = overlaps(&spans);
    res.wall_s = started.elapsed().as_secs_f64();
    trim(&mut res.failures);
    Ok(res)
}

/// The seed's `find_free_port start`: the first of start..=start+10 nobody listens on —
/// checked by binding it and letting go, so the port is free only at the moment of the scan.
/// The window is moved from 8001/8003 to 28001/28003 so the bench never disturbs other users
/// of the seed's ports (the harness's port_discovery step holds 8001, 8003 and 8004).
pub fn find_free_port(start: u16) -> Option<u16> {
    (start..=start + 10).find(|p| TcpListener::bind(("127.0.0.1", *p)).is_ok())
}

pub const SEED_API_BASE: u16 = 28001;
pub const SEED_WS_BASE: u16 = 28003;

/// The reference stack with the seed's fixed host ports from the environment.
pub fn seed_config(repo: &Path, root: &Path) -> anyhow::Result<PathBuf> {
    let text = std::fs::read_to_string(repo.join("docker/docker-compose.yml"))?;
    let text = text
        .replace(
            "\"127.0.0.1::8000\"",
            "\"127.0.0.1:${API_EXTERNAL_PORT}:8000\"",
        )
        .replace(
            "\"127.0.0.1::8003\"",
            "\"127.0.0.1:${WS_EXTERNAL_PORT}:8003\"",
        );
    anyhow::ensure!(
        text.contains("API_EXTERNAL_PORT") && text.contains("WS_EXTERNAL_PORT"),
        "docker/docker-compose.yml no longer publishes 127.0.0.1::8000 and ::8003"
    );
    let path = root.join("seed-ports.yml");
    std::fs::write(&path, text)?;
    Ok(path)
}

pub async fn seed_launches(
    docker: Arc<harness::engine::Docker>,
    file: &Path,
    n: usize,
    k: usize,
) -> PortResult {
    let started = Instant::now();
    let sem = Arc::new(Semaphore::new(k));
    let mut tasks = Vec::new();
    for i in 0..n {
        let sem = sem.clone();
        let file = file.to_path_buf();
        let docker = docker.clone();
        tasks.push(tokio::spawn(async move {
            let _permit = sem.acquire_owned().await.ok()?;
            let project = stack::project_name("seed", i);
            let t0 = crate::proc::unix_ns();
            let (Some(api), Some(ws)) =
                (find_free_port(SEED_API_BASE), find_free_port(SEED_WS_BASE))
            else {
                return Some((Err("finder: no free port".to_string()), vec![], t0, t0));
            };
            let env = [
                ("API_EXTERNAL_PORT", api.to_string()),
                ("WS_EXTERNAL_PORT", ws.to_string()),
            ];
            let up = stack::compose(
                &project,
                &file,
                &["up", "-d"],
                &env,
                Duration::from_secs(180),
            )
            .await;
            // Held from the end of `up` to the end of `down`.
            let t0 = crate::proc::unix_ns();
            let down = stack::compose(
                &project,
                &file,
                &["down", "-v"],
                &env,
                Duration::from_secs(120),
            )
            .await;
            let t1 = crate::proc::unix_ns();
            stack::remove(&docker, &project).await;
            let _ = down;
            let outcome = if up.success { Ok(()) } else { Err(up.stderr) };
            Some((outcome, vec![api, ws], t0, t1))
        }));
    }
    let mut res = PortResult {
        launches: n,
        concurrency: k,
        ..Default::default()
    };
    let mut spans = Vec::new();
    for t in tasks {
        match t.await.ok().flatten() {
            Some((Ok(()), ports, t0, t1)) => {
                res.deployed += 1;
                spans.push((t0, t1, ports));
            }
            Some((Err(e), ports, _, _)) => {
                res.failed_deploys += 1;
                if e.starts_with("finder:") {
                    res.finder_exhausted += 1;
                } else if is_port_error(&e) {
                    res.port_collisions += 1;
                }
                let last = e
                    .lines()
                    .find(|l| is_port_error(l))
                    .or_else(|| e.lines().rev().find(|l| !l.trim().is_empty()))
                    .unwrap_or("");
                res.failures.push(format!("ports {ports:?}: {last}"));
            }
            None => {
                res.failed_deploys += 1;
                res.failures.push("launch task failed".into());
            }
        }
    }
    res.overlapping_ports = overlaps(&spans);
    res.wall_s = started.elapsed().as_secs_f64();
    trim(&mut res.failures);
    res
}
