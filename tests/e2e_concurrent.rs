//! Four `harness run`s at once on one engine, recording into one scoreboard: no port or
//! project-name collision, every run passes, every row lands and the chain verifies.

mod common;

use std::collections::HashSet;
use std::process::Stdio;

use common::{Workspace, engine_available, ensure_images};
use serde_json::Value;

#[test]
fn four_runs_at_once_on_one_engine_all_pass_on_their_own_projects_and_ports() {
    if !engine_available("four_runs_at_once") {
        return;
    }
    ensure_images();
    // One task each (a Workspace removes what its task left, even on failure); one
    // scoreboard and one runs dir for all four.
    let tasks: Vec<Workspace> = (0..4).map(|_| Workspace::new("e2e_four")).collect();
    let shared = &tasks[0];
    let children: Vec<_> = tasks
        .iter()
        .map(|ws| {
            ws.harness()
                .env("HARNESS_DB", shared.db())
                .env("HARNESS_RUNS_DIR", shared.runs())
                .args(["--json", "run", "--config", "docker/docker-compose.yml"])
                .arg("--task")
                .arg(ws.task())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn harness")
        })
        .collect();

    let mut projects = HashSet::new();
    let mut ports = HashSet::new();
    let mut uuids = Vec::new();
    for (ws, child) in tasks.iter().zip(children) {
        let out = child.wait_with_output().expect("wait");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}: {stdout}\n{stderr}",
            ws.task_name
        );
        assert!(!stderr.contains("database is locked"), "{stderr}");
        let printed: Value = serde_json::from_str(&stdout).expect("one JSON document");
        let uuid = printed["execution_uuid"]
            .as_str()
            .expect("uuid")
            .to_string();
        // What the run file says, not only what was printed.
        let record = shared.run_record(&uuid).expect("the run file");
        assert_eq!(record["task"], ws.task_name.as_str());
        assert_eq!(record["metrics"]["success"], true, "{record:#}");
        let project = record["deployment"]["instance_id"]
            .as_str()
            .expect("project")
            .to_string();
        assert!(
            project.starts_with(&format!("h-{}-", ws.task_name)),
            "{project}"
        );
        assert!(
            projects.insert(project.clone()),
            "project {project} used twice"
        );
        for key in ["api_port", "websocket_port"] {
            let port = record["deployment"][key].as_u64().expect("port");
            assert!(ports.insert(port), "host port {port} used twice");
        }
        uuids.push(uuid);
    }
    assert_eq!((projects.len(), ports.len()), (4, 8));

    // All four rows landed in the one scoreboard, and it audits clean with all four prompts.
    let mut audit = shared.harness();
    audit.arg("audit");
    for ws in &tasks {
        audit.arg("--prompt").arg(ws.task());
    }
    let out = audit.output().expect("audit");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("4 runs, 4 run files checked: clean"),
        "{stdout}"
    );
    for ws in &tasks {
        assert!(
            ws.leftovers().is_empty(),
            "{} left {:?}",
            ws.task_name,
            ws.leftovers()
        );
    }
}
