//! `harness run` end to end: the real binary, the real engine, real files.

mod common;

use common::{
    Workspace, engine_available, ensure_images, kill_9_after_deploy_without_reaper, spawn_until,
    uuid_of,
};
use serde_json::Value;

fn run_json(ws: &Workspace, extra: &[&str]) -> (i32, Value, String) {
    let out = ws
        .harness()
        .arg("--json")
        .arg("run")
        .arg("--task")
        .arg(ws.task())
        .args(extra)
        .output()
        .expect("spawn harness");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    let json = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!("stdout is not one JSON document ({e}):\n{stdout}\nstderr:\n{stderr}")
    });
    (out.status.code().unwrap_or(-1), json, stderr)
}

fn step<'a>(run: &'a Value, name: &str) -> &'a Value {
    run["steps"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["name"] == name))
        .unwrap_or_else(|| panic!("no step {name} in {run}"))
}

#[test]
fn the_reference_stack_passes_and_its_uuid_is_everywhere() {
    if !engine_available("the_reference_stack_passes") {
        return;
    }
    ensure_images();
    let ws = Workspace::new("e2e_good");
    let (code, run, stderr) = run_json(&ws, &["--config", "docker/docker-compose.yml"]);
    assert_eq!(code, 0, "run failed:\n{run:#}\n{stderr}");
    for name in [
        "lint",
        "deploy",
        "port_discovery",
        "api_probe",
        "ws_probe",
        "redis",
        "missing_key",
        "multi_instance",
        "restart",
        "persistence",
        "shutdown",
    ] {
        assert_eq!(
            step(&run, name)["status"],
            "pass",
            "{name}: {:#}",
            step(&run, name)
        );
    }
    let uuid = run["execution_uuid"].as_str().expect("uuid").to_string();
    assert!(
        stderr.starts_with(&format!("run {uuid}")),
        "the UUID is printed first: {stderr}"
    );
    let keys: Vec<&String> = run.as_object().expect("object").keys().collect();
    assert_eq!(keys.last().map(|k| k.as_str()), Some("execution_uuid"));

    // The ports were engine-assigned and really served the probes.
    let api = run["deployment"]["api_port"].as_u64().expect("api port");
    let ws_port = run["deployment"]["websocket_port"]
        .as_u64()
        .expect("ws port");
    assert_ne!(api, ws_port);
    assert_eq!(
        step(&run, "api_probe")["evidence"]["body"]["execution_uuid"],
        uuid.as_str()
    );
    assert_eq!(step(&run, "redis")["evidence"]["exec"]["output"], "PONG");

    // grep -r <uuid> runs/ finds the run file and the container logs it captured.
    let hits = ws.files_containing(&uuid);
    assert!(
        hits.iter()
            .any(|p| p.extension().is_some_and(|e| e == "json")),
        "{hits:?}"
    );
    assert!(
        hits.iter().any(|p| p.to_string_lossy().contains("/logs/")),
        "{hits:?}"
    );
    let prompt = std::fs::read_to_string(ws.task()).expect("prompt");
    assert!(
        prompt.contains(&format!("**Last UUID**: `{uuid}`")),
        "{prompt}"
    );
    assert!(prompt.contains(&format!("| {uuid} |")), "{prompt}");
    assert!(prompt.contains("- **Success/Failure Ratio**: 1:0 (Target: 10:1 to graduate)"));

    let db = rusqlite::Connection::open(ws.db()).expect("db");
    let (success, file): (bool, String) = db
        .query_row(
            "SELECT success, file FROM run WHERE uuid = ?1",
            [&uuid],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("run row");
    assert!(success);
    assert!(std::path::Path::new(&file).exists());
    let steps: i64 = db
        .query_row(
            "SELECT COUNT(*) FROM step JOIN run ON run.seq = step.run_seq WHERE run.uuid = ?1",
            [&uuid],
            |r| r.get(0),
        )
        .expect("steps");
    assert_eq!(steps, 11);
    assert!(
        ws.leftovers().is_empty(),
        "left behind: {:?}",
        ws.leftovers()
    );
}

#[test]
fn the_seed_config_fails_with_the_signatures_its_problems_deserve() {
    if !engine_available("the_seed_config_fails") {
        return;
    }
    ensure_images();
    let ws = Workspace::new("e2e_seed");
    let out = ws
        .harness()
        .arg("run")
        .arg("--task")
        .arg(ws.task())
        .output()
        .expect("spawn");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let deploy_line = stdout
        .lines()
        .find(|l| l.contains(" deploy "))
        .unwrap_or_default()
        .to_string();
    assert!(
        deploy_line.contains('✗') && deploy_line.contains("port_conflict"),
        "{stdout}"
    );
    assert!(
        deploy_line.contains("port is already allocated")
            || deploy_line.contains("address already in use"),
        "{stdout}"
    );

    let uuid = stdout
        .lines()
        .next()
        .and_then(|l| l.strip_prefix("run "))
        .expect("uuid line")
        .trim()
        .to_string();
    let run = ws.run_record(&uuid).expect("run file");
    assert_eq!(run["metrics"]["success"], false);
    assert_eq!(step(&run, "lint")["signature"], "lint_error");
    assert_eq!(step(&run, "deploy")["signature"], "port_conflict");
    assert_eq!(step(&run, "port_discovery")["signature"], "port_conflict");
    assert_eq!(step(&run, "multi_instance")["signature"], "name_conflict");
    assert_eq!(step(&run, "api_probe")["status"], "skip");
    assert_eq!(step(&run, "shutdown")["status"], "pass");
    let prompt = std::fs::read_to_string(ws.task()).expect("prompt");
    assert!(
        prompt.contains("❌ Failed: lint lint_error, deploy port_conflict"),
        "{prompt}"
    );
    assert!(
        prompt.contains("- **Success/Failure Ratio**: 0:1"),
        "{prompt}"
    );
    assert!(
        ws.leftovers().is_empty(),
        "left behind: {:?}",
        ws.leftovers()
    );
}

#[test]
fn a_missing_image_names_the_command_that_builds_it() {
    if !engine_available("a_missing_image") {
        return;
    }
    let ws = Workspace::new("e2e_noimage");
    // The task's own stack (the services its protocol block names), its app on an image
    // the engine does not have.
    let config = ws.dir.path().join("absent.yml");
    let reference = std::fs::read_to_string(
        std::path::Path::new(common::REPO).join("docker/docker-compose.yml"),
    )
    .expect("reference config");
    let absent = reference.replace(
        "image: harness/executor:local",
        "image: harness/absent-image:local",
    );
    assert_ne!(
        absent, reference,
        "the reference config names the executor image"
    );
    std::fs::write(&config, absent).expect("write");
    let prompt = std::fs::read(ws.task()).expect("read");
    let out = ws
        .harness()
        .args(["run", "--config", config.to_str().expect("utf8"), "--task"])
        .arg(ws.task())
        .output()
        .expect("spawn");
    // The config's fault, so the config's failure: recorded, signed, and repairable by
    // `iterate` (issue 15), never a refusal that records nothing.
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("image_missing"), "{stdout}");
    let uuid = common::uuid_of(&stdout.lines().map(String::from).collect::<Vec<_>>());
    let record = ws.run_record(&uuid).expect("the run is recorded");
    let summary = record["steps"][1]["evidence"]["summary"].to_string();
    for needed in ["absent.yml", "services.cc_execute.image", "harness images"] {
        assert!(summary.contains(needed), "names {needed}: {summary}");
    }
    assert_eq!(record["metrics"]["status"], "failure");
    assert_eq!(record["steps"][1]["signature"], "image_missing");
    assert_ne!(
        std::fs::read(ws.task()).expect("read"),
        prompt,
        "history row added"
    );
    assert!(ws.leftovers().is_empty());
}

#[test]
fn iterate_runs_the_version_repeatedly_and_scores_it() {
    if !engine_available("iterate_runs_the_version") {
        return;
    }
    ensure_images();
    let ws = Workspace::new("e2e_iter");
    let out = ws
        .harness()
        .args([
            "--json",
            "iterate",
            "--runs",
            "2",
            "--config",
            "docker/docker-compose.yml",
            "--task",
        ])
        .arg(ws.task())
        .output()
        .expect("spawn");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(doc["runs"].as_array().map(Vec::len), Some(2));
    let row = doc["scoreboard"]
        .as_array()
        .and_then(|rows| rows.iter().find(|r| r["successes"] == 2))
        .unwrap_or_else(|| panic!("no version with 2 successes: {doc:#}"));
    assert_eq!(row["failures"], 0);
    assert_eq!(row["ratio"], "2:0");
    assert_eq!(row["graduated"], false);

    let table = ws.harness().arg("scoreboard").output().expect("scoreboard");
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(
        text.contains(&ws.task_name) && text.contains("2:0"),
        "{text}"
    );
    assert!(ws.leftovers().is_empty());
}

#[test]
fn an_unreachable_engine_is_a_clear_error_that_changes_nothing() {
    let ws = Workspace::new("e2e_noengine");
    let before = std::fs::read(ws.task()).expect("read");
    let out = ws
        .harness()
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        .args(["run", "--task"])
        .arg(ws.task())
        .output()
        .expect("spawn");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("Docker engine") && stderr.contains("DOCKER_HOST"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read(ws.task()).expect("read"),
        before,
        "the prompt must not change"
    );
    assert!(!ws.runs().exists() || ws.files_containing("execution_uuid").is_empty());
}

/// Distinctive fake secrets: the Anthropic key and one of each secret-looking name.
const PLANTED: [(&str, &str); 4] = [
    ("ANTHROPIC_API_KEY", "sk-ant-PLANTED-e2e-7f3c9a1b5d"),
    ("FOO_TOKEN", "planted-foo-token-4b1e8d2c"),
    ("BAR_SECRET", "planted-bar-secret-9a6f3e71"),
    ("DB_PASSWORD", "planted-db-password-c58d04aa"),
];

/// Runs `cmd` with the planted secrets in its environment; exit code, stdout, stderr.
fn with_secrets(mut cmd: std::process::Command) -> (i32, String, String) {
    for (k, v) in PLANTED {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("spawn");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Every planted value (and the harness's own dummy key) found in `text`.
fn leaked(text: &str) -> Vec<&'static str> {
    PLANTED
        .iter()
        .map(|(_, v)| *v)
        .chain(["sk-ant-harness-dummy"])
        .filter(|v| text.contains(v))
        .collect()
}

#[test]
fn a_planted_key_appears_nowhere_the_harness_writes() {
    if !engine_available("a_planted_key_appears_nowhere") {
        return;
    }
    ensure_images();
    let ws = Workspace::new("e2e_secret");
    // The reference stack, also handing the other secrets to the service, so they reach
    // the container's environment (and so inspect output, compose output and logs).
    let reference = std::fs::read_to_string(
        std::path::Path::new(common::REPO).join("docker/docker-compose.yml"),
    )
    .expect("read the reference config");
    let anchor = "ANTHROPIC_API_KEY: ${ANTHROPIC_API_KEY:-}\n";
    assert!(reference.contains(anchor));
    let config = ws.dir.path().join("secrets.yml");
    std::fs::write(
        &config,
        reference.replacen(
            anchor,
            &format!(
                "{anchor}      FOO_TOKEN: ${{FOO_TOKEN:-}}\n      BAR_SECRET: ${{BAR_SECRET:-}}\n      DB_PASSWORD: ${{DB_PASSWORD:-}}\n"
            ),
            1,
        ),
    )
    .expect("write config");
    let junit = ws.dir.path().join("junit.xml");
    let report = ws.dir.path().join("report");

    let mut outputs = Vec::new();
    let mut run = ws.harness();
    // bollard at debug logs whole inspect responses, container environments included.
    run.env("HARNESS_LOG", "harness=debug,bollard=debug")
        .arg("run")
        .arg("--config")
        .arg(&config)
        .arg("--junit")
        .arg(&junit)
        .arg("--task")
        .arg(ws.task());
    let (code, stdout, stderr) = with_secrets(run);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    outputs.push(("run", stdout, stderr));
    let mut html = ws.harness();
    html.arg("report").arg("--out").arg(&report);
    let (code, stdout, stderr) = with_secrets(html);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    outputs.push(("report", stdout, stderr));
    let mut export = ws.harness();
    export.args(["export", "--jsonl"]);
    let (code, stdout, stderr) = with_secrets(export);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("execution_uuid"), "{stdout}");
    outputs.push(("export", stdout, stderr));
    for (what, stdout, stderr) in &outputs {
        assert!(leaked(stdout).is_empty(), "{what}: a secret reached stdout");
        assert!(leaked(stderr).is_empty(), "{what}: a secret reached stderr");
    }

    // Every file written: runs/ (record, compose files, container logs), the scoreboard
    // with its WAL, the prompt, the JUnit file and the HTML report.
    let mut leaks = Vec::new();
    let mut stack = vec![ws.dir.path().to_path_buf()];
    let mut files = Vec::new();
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("read dir").flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let bytes = std::fs::read(&path).expect("read");
            let found = leaked(&String::from_utf8_lossy(&bytes));
            if !found.is_empty() {
                leaks.push((path.clone(), found));
            }
            files.push(path);
        }
    }
    assert!(files.len() > 5, "the run wrote its files ({files:?})");
    for wanted in ["junit.xml", "index.html", "scoreboard.db", ".md"] {
        assert!(
            files.iter().any(|f| f.to_string_lossy().ends_with(wanted)),
            "no {wanted} among {files:?}"
        );
    }
    assert!(
        files.iter().any(|f| f.to_string_lossy().contains("/logs/")),
        "no container log among {files:?}"
    );
    assert!(leaks.is_empty(), "secrets leaked: {leaks:?}");
    // The service did see a key: the record says present, never what.
    let hits = ws.files_containing("\"api_key_present\": true");
    assert!(
        !hits.is_empty(),
        "the main instance reported the key present"
    );
}

/// SIGINT or SIGTERM mid-run: the harness removes what it started, records the run as
/// interrupted and exits 130/143.
fn interrupt_after(command: &[&str], step: &str, signal: nix::sys::signal::Signal, code: i32) {
    let ws = Workspace::new("e2e_signal");
    let mut cmd = ws.harness();
    cmd.args(command)
        .args(["--config", "docker/docker-compose.yml", "--task"])
        .arg(ws.task());
    if command[0] == "iterate" {
        // Never promote over the repository's own config.
        cmd.arg("--graduate-to")
            .arg(ws.dir.path().join("graduated.yml"));
    }
    let (mut child, seen) = spawn_until(&mut cmd, &format!(" {step} "));
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    nix::sys::signal::kill(pid, signal).expect("signal");
    let status = child.wait().expect("wait");
    assert_eq!(status.code(), Some(code), "{seen:?}");
    assert!(
        ws.leftovers().is_empty(),
        "left behind: {:?}",
        ws.leftovers()
    );
    let uuid = uuid_of(&seen);
    let run = ws
        .run_record(&uuid)
        .expect("the interrupted run is recorded");
    let last = run["steps"]
        .as_array()
        .and_then(|s| s.last())
        .expect("steps");
    // An interrupt is no one's verdict on the config: a fault, and a run never counted.
    assert_eq!(last["status"], "error", "{run:#}");
    assert_eq!(last["fault"], "interrupted", "{run:#}");
    assert_eq!(run["metrics"]["status"], "interrupted");
    assert_eq!(run["metrics"]["success"], false);
}

#[test]
fn sigint_after_deploy_cleans_up_and_records_the_run() {
    if !engine_available("sigint_after_deploy") {
        return;
    }
    ensure_images();
    interrupt_after(&["run"], "deploy", nix::sys::signal::Signal::SIGINT, 130);
}

#[test]
fn sigterm_during_the_probes_cleans_up_and_records_the_run() {
    if !engine_available("sigterm_during_probes") {
        return;
    }
    ensure_images();
    interrupt_after(&["run"], "redis", nix::sys::signal::Signal::SIGTERM, 143);
}

#[test]
fn sigterm_during_iterate_cleans_up_and_records_the_run() {
    if !engine_available("sigterm_during_iterate") {
        return;
    }
    ensure_images();
    interrupt_after(
        &["iterate", "--apply"],
        "api_probe",
        nix::sys::signal::Signal::SIGTERM,
        143,
    );
}

#[test]
fn sigint_during_iterate_cleans_up_and_records_the_run() {
    if !engine_available("sigint_during_iterate") {
        return;
    }
    ensure_images();
    interrupt_after(
        &["iterate", "--apply"],
        "multi_instance",
        nix::sys::signal::Signal::SIGINT,
        130,
    );
}

#[test]
fn audit_is_clean_after_real_runs_and_names_an_edited_file() {
    if !engine_available("audit_is_clean") {
        return;
    }
    ensure_images();
    let ws = Workspace::new("e2e_audit");
    for _ in 0..2 {
        let out = ws
            .harness()
            .args([
                "run",
                "--steps",
                "lint,deploy,api_probe,shutdown",
                "--config",
                "docker/docker-compose.yml",
                "--task",
            ])
            .arg(ws.task())
            .output()
            .expect("spawn");
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
    let audit = |ws: &Workspace| {
        let out = ws
            .harness()
            .args(["--json", "audit", "--prompt"])
            .arg(ws.task())
            .output()
            .expect("spawn");
        let report: Value = serde_json::from_slice(&out.stdout).expect("json");
        (out.status.code(), report)
    };
    let (code, report) = audit(&ws);
    assert_eq!(code, Some(0), "{report:#}");
    assert_eq!(report["runs_checked"], 2);

    let file = ws
        .files_containing("\"execution_uuid\"")
        .into_iter()
        .find(|p| p.extension().is_some_and(|e| e == "json"))
        .expect("a run file");
    let text = std::fs::read_to_string(&file).expect("read");
    std::fs::write(
        &file,
        text.replacen("\"success\": true", "\"success\": false", 1),
    )
    .expect("write");
    let (code, report) = audit(&ws);
    assert_eq!(code, Some(1));
    let kinds: Vec<&str> = report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter_map(|f| f["kind"].as_str())
        .collect();
    assert!(kinds.contains(&"edited"), "{report:#}");
    let uuid = report["findings"][0]["uuid"].as_str().expect("uuid");
    let show = ws
        .harness()
        .args(["show", &uuid[..8]])
        .output()
        .expect("spawn");
    let text = String::from_utf8_lossy(&show.stdout);
    assert!(text.contains(uuid) && text.contains("DIFFERS"), "{text}");
}

#[test]
fn gc_removes_what_a_killed_harness_left() {
    if !engine_available("gc_removes_what_a_killed_harness_left") {
        return;
    }
    ensure_images();
    let ws = Workspace::new("e2e_gc");
    // kill -9: no handler runs, the stack stays up — until a gc collects it. Any harness
    // starting meanwhile (a parallel test) runs gc first, so it may already be gone.
    let seen = kill_9_after_deploy_without_reaper(&ws);
    let left_by_the_kill = !ws.leftovers().is_empty();

    let out = ws.harness().args(["--json", "gc"]).output().expect("gc");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let collected: Value = serde_json::from_slice(&out.stdout).expect("json");
    let uuid = uuid_of(&seen);
    let reported = collected["collected"]
        .as_array()
        .is_some_and(|runs| runs.iter().any(|r| r["run"] == uuid));
    if left_by_the_kill {
        assert!(
            reported,
            "gc did not report the killed run {uuid}: {collected:#}"
        );
    }
    assert!(
        ws.leftovers().is_empty(),
        "left behind after gc: {:?}",
        ws.leftovers()
    );
}

#[test]
fn range_mode_deploys_every_instance_on_leased_ports_of_the_range() {
    if !engine_available("range_mode_deploys_every_instance") {
        return;
    }
    ensure_images();
    let ws = Workspace::new("e2e_range");
    let (first, last) = (23100, 23119);
    let range = format!("{first}-{last}");
    let (code, run, stderr) = run_json(
        &ws,
        &[
            "--config",
            "docker/docker-compose.yml",
            "--port-range",
            &range,
        ],
    );
    assert_eq!(code, 0, "{run:#}\n{stderr}");
    for key in ["api_port", "websocket_port"] {
        let port = run["deployment"][key].as_u64().expect("port");
        assert!(
            (first..=last).contains(&port),
            "{key} {port} outside {range}"
        );
    }
    // Every instance (main, missing_key's two, multi_instance's) deployed from its own
    // pinned copy of the candidate, no two sharing a port.
    let compose = ws
        .runs()
        .join(&run["execution_uuid"].as_str().expect("uuid")[..8]);
    let mut pinned = Vec::new();
    for entry in std::fs::read_dir(compose.join("compose"))
        .expect("compose dir")
        .flatten()
    {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with("candidate-") {
            let text = std::fs::read_to_string(entry.path()).expect("read");
            for port in (first..=last).filter(|p| text.contains(&format!("127.0.0.1:{p}:"))) {
                pinned.push(port);
            }
        }
    }
    let distinct: std::collections::BTreeSet<_> = pinned.iter().collect();
    assert!(
        pinned.len() >= 6,
        "three or more instances pinned: {pinned:?}"
    );
    assert_eq!(
        distinct.len(),
        pinned.len(),
        "no port leased twice: {pinned:?}"
    );
    assert!(ws.leftovers().is_empty());
}

/// Anonymous volumes of `names` the engine still has.
fn existing_volumes(names: &[String]) -> Vec<String> {
    names
        .iter()
        .filter(|n| {
            std::process::Command::new("docker")
                .args(["volume", "inspect", n.as_str()])
                .output()
                .is_ok_and(|o| o.status.success())
        })
        .cloned()
        .collect()
}

/// Removes what the test found, even when it fails: anonymous volumes carry no label the
/// workspace could find them by.
struct RemoveVolumes(Vec<String>);

impl Drop for RemoveVolumes {
    fn drop(&mut self) {
        for name in &self.0 {
            let _ = std::process::Command::new("docker")
                .args(["volume", "rm", "-f", name])
                .output();
        }
    }
}

#[test]
fn sigint_during_persistence_leaves_no_anonymous_volume() {
    if !engine_available("sigint_during_persistence") {
        return;
    }
    ensure_images();
    let ws = Workspace::new("e2e_orphans");
    // Redis on an anonymous volume: persistence's `down` without -v orphans it.
    let mut cmd = ws.harness();
    cmd.args([
        "run",
        "--config",
        "tests/fixtures/protocol/redis_no_volume.yml",
    ])
    .arg("--task")
    .arg(ws.task());
    let (mut child, seen) = spawn_until(&mut cmd, " deploy ");
    let ids = common::engine_ids(&format!("label=dev.harness.task={}", ws.task_name));
    let mounts = std::process::Command::new("docker")
        .args(["inspect", "-f", "{{range .Mounts}}{{.Name}} {{end}}"])
        .args(ids.iter().filter(|id| id.len() == 12))
        .output()
        .expect("docker inspect");
    let anonymous: Vec<String> = String::from_utf8_lossy(&mounts.stdout)
        .split_whitespace()
        .filter(|n| n.len() == 64)
        .map(str::to_string)
        .collect();
    let _cleanup = RemoveVolumes(anonymous.clone());
    assert!(
        !anonymous.is_empty(),
        "the instances mount anonymous volumes"
    );
    // Cut the run the moment persistence has taken its instance down.
    let mut destroyed = std::process::Command::new("timeout")
        .args(["60", "docker", "events", "--filter", "event=destroy"])
        .args([
            "--filter",
            "type=container",
            "--format",
            "{{.Actor.Attributes.name}}",
        ])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("docker events");
    let mut events = std::io::BufRead::lines(std::io::BufReader::new(
        destroyed.stdout.take().expect("events stdout"),
    ));
    let down = events.find(|e| e.as_ref().is_ok_and(|n| n.ends_with("-1-redis-1")));
    let _ = destroyed.kill();
    let _ = destroyed.wait();
    assert!(
        down.is_some(),
        "persistence took its instance down: {seen:?}"
    );
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT).expect("signal");
    let status = child.wait().expect("wait");
    assert_eq!(status.code(), Some(130), "{seen:?}");
    assert_eq!(existing_volumes(&anonymous), Vec::<String>::new());
    assert!(ws.leftovers().is_empty(), "left {:?}", ws.leftovers());
}

/// A prompt without a protocol block runs the project's (harness.toml `protocol`), and
/// the run's first line says where its protocol came from; a prompt's own block is not
/// announced.
#[test]
fn a_prompt_without_a_block_says_it_runs_the_project_s_protocol() {
    if !engine_available("a_prompt_without_a_block_says_it_runs_the_project_s_protocol") {
        return;
    }
    let ws = Workspace::new("it_project_protocol");
    let shipped = std::fs::read_to_string(ws.task()).expect("read");
    let lint_only = |ws: &Workspace| {
        let out = ws
            .harness()
            .args(["run", "--steps", "lint", "--no-reaper", "--task"])
            .arg(ws.task())
            .output()
            .expect("spawn harness");
        assert_eq!(out.status.code(), Some(1), "{out:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let own = lint_only(&ws);
    assert!(
        own.contains("  task ") && !own.contains("protocol from"),
        "{own}"
    );
    std::fs::write(ws.task(), common::without_protocol_block(&shipped)).expect("write");
    let project = lint_only(&ws);
    assert!(
        project.contains("protocol from docker/protocol.yml"),
        "{project}"
    );
}
