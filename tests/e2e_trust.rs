//! Graduation you can believe (issue 15): only whole-protocol runs count, and the
//! harness's own faults are never charged to the config under test.

mod common;

use std::process::Output;

use common::{REPO, Workspace, engine_available, ensure_images};

fn text(out: &Output) -> String {
    format!(
        "{}\n--- stderr ---\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn scoreboard(ws: &Workspace) -> serde_json::Value {
    let out = ws
        .harness()
        .args(["--json", "scoreboard"])
        .output()
        .expect("scoreboard");
    serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null)
}

/// The transcript of issue 15: a step selection with `--until-graduated` once graduated
/// the broken seed in 110 ms. Now it is refused before anything runs.
#[test]
fn a_step_selection_never_graduates_anything() {
    let ws = Workspace::new("trust_sel");
    let out_yml = ws.dir.path().join("out.yml");
    let out = ws
        .harness()
        .args([
            "iterate",
            "--apply",
            "--until-graduated",
            "--steps",
            "api_probe",
        ])
        .arg("--graduate-to")
        .arg(&out_yml)
        .arg("--task")
        .arg(ws.task())
        .output()
        .expect("spawn");
    let shown = text(&out);
    assert_eq!(out.status.code(), Some(2), "{shown}");
    assert!(
        shown.contains("--until-graduated cannot be combined with --steps"),
        "{shown}"
    );
    assert!(!out_yml.exists(), "nothing is promoted");
    assert!(!ws.db().exists(), "nothing is recorded: {shown}");
    let out = ws
        .harness()
        .args(["iterate", "--until-graduated", "--instances", "1", "--task"])
        .arg(ws.task())
        .output()
        .expect("spawn");
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
}

/// A run of part of the protocol is recorded as partial: kept, shown in its own column,
/// never counted — and a skipped step is not a pass.
#[test]
fn a_partial_run_is_recorded_but_never_counted() {
    if !engine_available("a_partial_run_is_recorded_but_never_counted") {
        return;
    }
    ensure_images();
    let ws = Workspace::new("trust_part");
    let config = format!("{REPO}/docker/docker-compose.yml");
    let out = ws
        .harness()
        .args([
            "--json",
            "run",
            "--no-reaper",
            "--steps",
            "api_probe",
            "--config",
            &config,
            "--task",
        ])
        .arg(ws.task())
        .output()
        .expect("spawn");
    let shown = text(&out);
    // api_probe was skipped (nothing deployed it): not a pass, so not exit 0.
    assert_eq!(out.status.code(), Some(1), "{shown}");
    let record: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json record");
    assert_eq!(record["metrics"]["status"], "partial", "{record:#}");
    assert_eq!(record["metrics"]["success"], false);
    assert_eq!(record["steps"][0]["status"], "skip");
    assert!(
        record["partial"][0]
            .as_str()
            .unwrap_or_default()
            .contains("left out"),
        "{record:#}"
    );
    let rows = scoreboard(&ws);
    let v = rows
        .as_array()
        .and_then(|r| r.iter().find(|r| r["partial"] == 1))
        .unwrap_or_else(|| panic!("a version with one partial run: {rows:#}"));
    assert_eq!(
        (v["successes"].as_u64(), v["failures"].as_u64()),
        (Some(0), Some(0))
    );
    assert_eq!(v["graduated"], false);
    let prompt = std::fs::read_to_string(ws.task()).expect("task");
    assert!(prompt.contains("Partial, not counted"), "{prompt}");
    let audit = ws.harness().arg("audit").output().expect("audit");
    assert_eq!(audit.status.code(), Some(0), "{}", text(&audit));
    assert!(ws.leftovers().is_empty());
}

/// An engine that cannot be reached is found before anything is deployed or recorded.
#[test]
fn an_unreachable_engine_charges_nothing() {
    let ws = Workspace::new("trust_engine");
    let out = ws
        .harness()
        .env("DOCKER_HOST", "tcp://127.0.0.1:1")
        .args(["run", "--no-reaper", "--task"])
        .arg(ws.task())
        .output()
        .expect("spawn");
    let shown = text(&out);
    assert_eq!(out.status.code(), Some(2), "{shown}");
    assert!(shown.contains("cannot reach the Docker engine"), "{shown}");
    assert!(shown.contains("DOCKER_HOST"), "names the fix: {shown}");
    assert!(!ws.db().exists(), "no run recorded: {shown}");
    assert!(
        !ws.runs().exists() || std::fs::read_dir(ws.runs()).map(|d| d.count()).unwrap_or(0) == 0
    );
}

/// A full disk under the runs dir: the run's evidence cannot be written; the run is the
/// harness's fault, exits 2 naming it, and no failure is charged to the version.
#[test]
fn a_full_disk_is_the_harness_fault_not_the_config() {
    if !engine_available("a_full_disk_is_the_harness_fault_not_the_config") {
        return;
    }
    if !can_mount_tmpfs() {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!(
                "a_full_disk: cannot mount a tmpfs in a new mount namespace (unshare -m) under CI"
            );
        }
        eprintln!("SKIP a_full_disk: cannot mount a tmpfs in a new mount namespace (unshare -m)");
        return;
    }
    ensure_images();
    let ws = Workspace::new("trust_disk");
    let runs = ws.dir.path().join("full");
    std::fs::create_dir(&runs).expect("mount point");
    let config = format!("{REPO}/docker/docker-compose.yml");
    let harness = env!("CARGO_BIN_EXE_harness");
    // A 64 KiB tmpfs, filled to the last byte, in a mount namespace of this command only.
    let script = format!(
        "mount -t tmpfs -o size=64k tmpfs {runs} && (dd if=/dev/zero of={runs}/fill bs=4k 2>/dev/null; true) && exec {harness} run --no-reaper --config {config} --task {task}",
        runs = runs.display(),
        task = ws.task().display(),
    );
    let out = std::process::Command::new("unshare")
        .args(["-m", "sh", "-c", &script])
        .env("HARNESS_RUNS_DIR", &runs)
        .env("HARNESS_DB", ws.db())
        .output()
        .expect("spawn");
    let shown = text(&out);
    assert_eq!(out.status.code(), Some(2), "{shown}");
    assert!(shown.contains("disk_full"), "names the cause: {shown}");
    assert!(shown.contains("free space"), "names the fix: {shown}");
    let rows = scoreboard(&ws);
    let charged: u64 = rows
        .as_array()
        .map(|r| r.iter().map(|v| v["failures"].as_u64().unwrap_or(0)).sum())
        .unwrap_or(0);
    assert_eq!(charged, 0, "no failure charged: {rows:#}");
    assert!(ws.leftovers().is_empty(), "{:?}", ws.leftovers());
}

fn can_mount_tmpfs() -> bool {
    let dir = tempfile::tempdir().expect("tempdir");
    std::process::Command::new("unshare")
        .args(["-m", "sh", "-c"])
        .arg(format!(
            "mount -t tmpfs -o size=4k tmpfs {}",
            dir.path().display()
        ))
        .status()
        .is_ok_and(|s| s.success())
}

/// `--until-graduated` re-runs a passing version until it graduates; `--max-runs` bounds
/// that, so a version that cannot graduate (here: a confidence 10 runs cannot reach)
/// stops the loop instead of running for ever.
#[test]
fn until_graduated_stops_at_max_runs() {
    if !engine_available("until_graduated_stops_at_max_runs") {
        return;
    }
    ensure_images();
    let ws = Workspace::new("trust_maxruns");
    let config = format!("{REPO}/docker/docker-compose.yml");
    let out = ws
        .harness()
        .args([
            "--json",
            "iterate",
            "--until-graduated",
            "--no-reaper",
            "--runs",
            "1",
        ])
        .args([
            "--max-runs",
            "2",
            "--min-confidence",
            "0.99",
            "--config",
            &config,
        ])
        .arg("--graduate-to")
        .arg(ws.dir.path().join("out.yml"))
        .arg("--task")
        .arg(ws.task())
        .output()
        .expect("spawn");
    let shown = text(&out);
    assert_eq!(out.status.code(), Some(1), "{shown}");
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(doc["runs"].as_array().map(Vec::len), Some(2), "{doc:#}");
    assert!(!ws.dir.path().join("out.yml").exists(), "nothing promoted");
    assert!(ws.leftovers().is_empty());
}
