//! Records at scale: a scoreboard of N synthetic runs written through the crate's own API
//! (run file bytes = `RunRecord::to_json`, rows through `Store::insert_run`, so the hash
//! chain is real), each with the evidence a real run leaves (override and two logs).

use std::path::{Path, PathBuf};
use std::time::Instant;

use chrono::{Duration as ChronoDuration, TimeZone, Utc};
use harness::run::record::{DeploymentRecord, EngineRecord, Metrics, RunRecord, RunStatus};
use harness::run::{Evidence, Outcome, RunDir, RunId, Signature, Skip, Step};
use harness::store::{NewRun, NewVersion, Store};
use serde_json::json;
use uuid::Uuid;

pub const TASK: &str = "docker_compose_dynamic";
pub const VERSIONS: i64 = 10;

fn step(name: &str, outcome: Outcome, ms: u64, evidence: serde_json::Value) -> Step {
    Step {
        name: name.into(),
        outcome,
        duration_ms: ms,
        evidence: Evidence::read(name, evidence),
    }
}

/// A run like the ones `harness run --steps deploy,api_probe,ws_probe,shutdown` records.
pub fn record(i: u64, version: i64, uuid: Uuid, at: chrono::DateTime<Utc>) -> RunRecord {
    let project = RunId::from(uuid).project(TASK, 0);
    let ok = i % 10 != 9;
    let api = 32768 + (i % 20000) as u16;
    let deploy = if ok {
        step(
            "deploy",
            Outcome::Pass,
            3400 + i % 300,
            json!({"up": {"project": project, "duration_ms": 2900, "stderr": "Creating network ... done\nCreating redis ... done\nCreating cc_execute ... done"},
                "ready_ms": {"cc_execute": 510, "redis": 0},
                "containers": [{"service": "cc_execute", "state": "running", "health": "healthy", "ports": [{"container_port": 8000, "host_ip": "127.0.0.1", "host_port": api}]},
                               {"service": "redis", "state": "running", "health": "healthy", "ports": []}]}),
        )
    } else {
        step(
            "deploy",
            Outcome::Fail(Signature::HealthTimeout),
            90_000,
            json!({"summary": "not ready after 90 s: cc_execute (running/starting)", "up": {"project": project}}),
        )
    };
    let skipped = |name: &str| {
        step(
            name,
            Outcome::Skip(Skip::AfterFailure),
            0,
            json!({"reason": "no deployment to check: deploy did not pass"}),
        )
    };
    let steps = if ok {
        vec![
            deploy,
            step(
                "api_probe",
                Outcome::Pass,
                2,
                json!({"url": format!("http://127.0.0.1:{api}/health"), "status": 200,
                "body": {"status": "ok", "redis": {"connected": true, "target": "redis:6379"}, "execution_uuid": uuid.to_string()}}),
            ),
            step(
                "ws_probe",
                Outcome::Pass,
                45,
                json!({"url": format!("ws://127.0.0.1:{}/ws/mcp", api + 1), "chunks_expected": 5, "chunks_received": 5,
                "completion": {"jsonrpc": "2.0", "id": 1, "result": {"status": "completed"}}}),
            ),
            step(
                "shutdown",
                Outcome::Pass,
                1800,
                json!({"stop_ms": 900, "down": {"success": true}, "leftovers": {}}),
            ),
        ]
    } else {
        vec![
            deploy,
            skipped("api_probe"),
            skipped("ws_probe"),
            step(
                "shutdown",
                Outcome::Pass,
                1500,
                json!({"down": {"success": true}}),
            ),
        ]
    };
    RunRecord {
        timestamp: at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        task: TASK.into(),
        version: format!("v{version}"),
        config_hash: format!("{:064x}", version),
        deployment: DeploymentRecord {
            api_port: ok.then_some(api),
            websocket_port: ok.then_some(api + 1),
            instance_id: project,
            services_healthy: ok,
        },
        metrics: Metrics {
            startup_duration: 3.4,
            success: ok,
            duration_ms: 5500,
            status: Some(if ok {
                RunStatus::Success
            } else {
                RunStatus::Failure
            }),
        },
        steps,
        engine: EngineRecord {
            compose: "docker-compose 1.29.2".into(),
            docker: "20.10.24+dfsg1".into(),
            api_version: "1.41".into(),
        },
        partial: Vec::new(),
        error: None,
        execution_uuid: uuid,
    }
}

pub struct Fixture {
    pub db: PathBuf,
    pub runs: PathBuf,
    pub task_id: i64,
    pub version_ids: Vec<i64>,
    pub generate_s: f64,
    pub next: u64,
}

/// Writes one run's file and evidence, then its rows: the order `harness run` uses.
pub fn write_run(store: &mut Store, f: &Fixture, i: u64) -> std::io::Result<f64> {
    // 10 000 runs per version: 100 000 runs make versions v1 to v10.
    let v = (i / 10_000).min(VERSIONS as u64 - 1) as usize;
    let uuid = RunId::fresh(&f.runs).uuid();
    let base = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    let at = base + ChronoDuration::seconds(i as i64 * 6);
    let rec = record(i, v as i64 + 1, uuid, at);
    let json = rec.to_json();
    let file = f
        .runs
        .join(RunId::from(uuid).file_name(&at.format("%Y%m%dT%H%M%SZ").to_string()));
    std::fs::write(&file, &json)?;
    let ev = RunDir::new(&f.runs, uuid.into());
    std::fs::create_dir_all(ev.compose())?;
    std::fs::create_dir_all(ev.logs())?;
    std::fs::write(
        ev.override_file(),
        format!(
            "services:\n  cc_execute:\n    labels:\n      dev.harness.run: {uuid}\n      dev.harness.task: {TASK}\n    environment:\n      EXECUTION_UUID: {uuid}\n  redis:\n    labels:\n      dev.harness.run: {uuid}\n      dev.harness.task: {TASK}\n    environment:\n      EXECUTION_UUID: {uuid}\n"
        ),
    )?;
    for svc in ["cc_execute", "redis"] {
        std::fs::write(
            ev.log(svc),
            format!(
                "# harness: container h-x_{svc}_1 (0123456789ab) image harness/{svc}:local label dev.harness.run={uuid}\n2026-01-01T00:00:00.000000000Z ready\n"
            ),
        )?;
    }
    let started = Instant::now();
    store
        .insert_run(
            f.task_id,
            &NewRun {
                uuid: &uuid.to_string(),
                version_id: f.version_ids[v],
                started_at: &rec.timestamp,
                status: rec.status(),
                duration_ms: rec.metrics.duration_ms,
                file: &file.to_string_lossy(),
                json: &json,
                steps: &rec.steps,
            },
        )
        .map_err(std::io::Error::other)?;
    Ok(started.elapsed().as_secs_f64() * 1000.0)
}

pub fn open(dir: &Path) -> anyhow::Result<(Store, Fixture)> {
    let runs = dir.join("runs");
    std::fs::create_dir_all(&runs)?;
    let db = dir.join("scoreboard.db");
    let mut store = Store::open(&db)?;
    let task_id = store.task_id(TASK, "prompts/docker_compose_dynamic.md")?;
    let mut version_ids = Vec::new();
    let mut parent = None;
    for v in 1..=VERSIONS {
        let row = store.version(
            task_id,
            &NewVersion {
                hash: &format!("{v:064x}"),
                config: "services: {}\n",
                parent,
                mutation: if v == 1 { "seed" } else { "synthetic" },
                reason: "synthetic version for the bench",
            },
        )?;
        parent = Some(row.id);
        version_ids.push(row.id);
    }
    Ok((
        store,
        Fixture {
            db,
            runs,
            task_id,
            version_ids,
            generate_s: 0.0,
            next: 0,
        },
    ))
}

/// Generates `n` runs in `dir`.
pub fn generate(dir: &Path, n: u64) -> anyhow::Result<Fixture> {
    let (mut store, mut f) = open(dir)?;
    let started = Instant::now();
    for i in 0..n {
        write_run(&mut store, &f, i)?;
        if i > 0 && i % 20_000 == 0 {
            eprintln!(
                "bench: records: {i} of {n} written ({:.0} s)",
                started.elapsed().as_secs_f64()
            );
        }
    }
    f.generate_s = started.elapsed().as_secs_f64();
    f.next = n;
    Ok(f)
}
