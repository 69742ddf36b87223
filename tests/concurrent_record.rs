//! Several harnesses recording runs of the same task at once — each one's run file, chained
//! scoreboard row and prompt row — lose nothing: every run is in the prompt's history, the
//! prompt's Last UUID and ratio are the scoreboard's, and the audit is clean. No engine
//! needed: the runs are recorded through the library's recorder, as `harness run` does.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Barrier};

use chrono::Utc;
use harness::run::record::{DeploymentRecord, EngineRecord, Metrics, RunRecord, RunStatus};
use harness::run::recorder::{self, Origin};
use harness::store::{NewVersion, Store};
use harness::task::Prompt;
use uuid::Uuid;

#[path = "support/records.rs"]
mod records;

const WRITERS: usize = 4;
const RUNS_EACH: usize = 6;

fn record_of(task: &str, version: &str, hash: &str, uuid: Uuid, started: &str) -> RunRecord {
    RunRecord {
        timestamp: started.to_string(),
        task: task.to_string(),
        version: version.to_string(),
        config_hash: hash.to_string(),
        deployment: DeploymentRecord {
            api_port: Some(40001),
            websocket_port: Some(40002),
            instance_id: harness::run::RunId::from(uuid).project(task, 0),
            services_healthy: true,
        },
        metrics: Metrics {
            startup_duration: 0.5,
            success: true,
            duration_ms: 500,
            status: Some(RunStatus::Success),
        },
        steps: records::whole_protocol(None),
        engine: EngineRecord {
            compose: "docker-compose 1.29.2".into(),
            docker: "20.10.24".into(),
            api_version: "1.41".into(),
        },
        partial: Vec::new(),
        error: None,
        execution_uuid: uuid,
    }
}

/// One harness's worth of runs: load the task as a run starts, "deploy", record.
fn writer(db: PathBuf, runs: PathBuf, task: PathBuf, start: Arc<Barrier>) -> Vec<Uuid> {
    let mut store = Store::open(&db).expect("open");
    let name = task
        .file_stem()
        .expect("stem")
        .to_string_lossy()
        .into_owned();
    let task_id = store.task_id(&name, &task.to_string_lossy()).expect("task");
    let version = store
        .version(
            task_id,
            &NewVersion {
                hash: "c0ffeec0ffeec0ffeec0ffee",
                config: "services: {}\n",
                parent: None,
                mutation: "seed",
                reason: "Initial implementation with dynamic ports",
            },
        )
        .expect("version");
    start.wait();
    let mut made = Vec::new();
    for _ in 0..RUNS_EACH {
        let uuid = Uuid::new_v4();
        let started = Utc::now();
        let prompt = Prompt::load(&task).expect("load the task");
        // The deploy and the probes: other harnesses record meanwhile.
        std::thread::sleep(std::time::Duration::from_millis(15));
        let stamp = started.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let record = record_of(&name, &version.label(), &version.hash, uuid, &stamp);
        let origin = Origin {
            uuid,
            started,
            task_id,
            task: &name,
            version: &version,
            change: "run",
        };
        recorder::record(&origin, record, &runs, &mut store, &prompt).expect("record");
        made.push(uuid);
    }
    made
}

#[test]
fn four_harnesses_recording_one_task_at_once_lose_no_prompt_row() {
    let dir = tempfile::tempdir().expect("tempdir");
    let task = dir.path().join("shared_task.md");
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("prompts/docker_compose_dynamic.md"),
        &task,
    )
    .expect("copy the task");
    let (db, runs) = (dir.path().join("scoreboard.db"), dir.path().join("runs"));
    let start = Arc::new(Barrier::new(WRITERS));
    let writers: Vec<_> = (0..WRITERS)
        .map(|_| {
            let (db, runs, task, start) = (db.clone(), runs.clone(), task.clone(), start.clone());
            std::thread::spawn(move || writer(db, runs, task, start))
        })
        .collect();
    let mut all = Vec::new();
    for w in writers {
        all.extend(w.join().expect("writer"));
    }

    let prompt = Prompt::load(&task).expect("load");
    let rows: Vec<String> = prompt.history().iter().map(|r| r.uuid.clone()).collect();
    for uuid in &all {
        assert!(
            rows.contains(&uuid.to_string()),
            "run {uuid} is missing from the prompt's history ({} rows for {} runs)",
            rows.len(),
            all.len()
        );
    }
    let metrics = prompt.metrics();
    assert_eq!(
        (metrics.successes, metrics.failures),
        ((WRITERS * RUNS_EACH) as u64, 0)
    );

    let out = Command::new(env!("CARGO_BIN_EXE_harness"))
        .current_dir(dir.path())
        .arg("--db")
        .arg(&db)
        .arg("--runs-dir")
        .arg(&runs)
        .arg("audit")
        .arg("--prompt")
        .arg(&task)
        .output()
        .expect("audit");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
}
