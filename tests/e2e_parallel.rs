//! `iterate --parallel K`: a version's runs at once, each a whole run, recorded one at a
//! time as they end; the first decisive run stops the others; a signal ends them all.

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::{REPO, Workspace, engine_available, ensure_images};
use harness::task::Prompt;
use serde_json::Value;

/// examples/solo's task (the fastest whole protocol), its config block replaced by
/// `edit` of it, written as the workspace's task.
fn solo_task(ws: &Workspace, edit: impl Fn(&str) -> String) {
    let path = Path::new(REPO).join("examples/solo/task.md");
    let text = std::fs::read_to_string(&path).expect("read the solo task");
    let prompt = Prompt::parse(path, text).expect("the solo task parses");
    let config = edit(prompt.config_yaml());
    let text = prompt.replace_config(&config).expect("the config fits");
    std::fs::write(ws.task(), text).expect("write task");
}

fn graduated(ws: &Workspace) -> PathBuf {
    ws.dir.path().join("graduated.yml")
}

/// `harness iterate --parallel 2 --runs-per-version 4` on the workspace's task, never
/// promoting over anything of the repository's.
fn iterate(ws: &Workspace) -> Command {
    let mut cmd = ws.harness();
    cmd.args(["iterate", "--parallel", "2", "--runs-per-version", "4"])
        .arg("--graduate-to")
        .arg(graduated(ws))
        .arg("--task")
        .arg(ws.task());
    cmd
}

/// The UUIDs of the runs announced (`run <uuid>`), in order.
fn announced(lines: &[String]) -> Vec<String> {
    lines
        .iter()
        .filter_map(|l| l.strip_prefix("run "))
        .map(|u| u.trim().to_string())
        .collect()
}

/// The short ids of the runs whose recorded line (`  [id] v1 <status>: …`) was printed,
/// in order.
fn recorded(lines: &[String]) -> Vec<String> {
    lines
        .iter()
        .filter_map(|l| {
            let rest = l.trim_start().strip_prefix('[')?;
            let (id, text) = rest.split_once("] ")?;
            text.starts_with("v1 ").then(|| id.to_string())
        })
        .collect()
}

/// The scoreboard's runs of the task, in the order they were chained.
fn chained(ws: &Workspace) -> Vec<String> {
    let db = rusqlite::Connection::open(ws.db()).expect("db");
    let mut query = db
        .prepare("SELECT uuid FROM run ORDER BY seq")
        .expect("prepare");
    query
        .query_map([], |r| r.get(0))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows")
}

/// The prompt's history rows of runs (not the seed's TBD row), in order.
fn history(ws: &Workspace) -> Vec<String> {
    let prompt = Prompt::load(&ws.task()).expect("prompt");
    prompt
        .history()
        .iter()
        .filter(|r| uuid::Uuid::try_parse(r.uuid.trim()).is_ok())
        .map(|r| r.uuid.trim().to_string())
        .collect()
}

fn audit_is_clean(ws: &Workspace) {
    let out = ws
        .harness()
        .args(["--json", "audit", "--prompt"])
        .arg(ws.task())
        .output()
        .expect("spawn audit");
    let report: Value = serde_json::from_slice(&out.stdout).expect("audit json");
    assert_eq!(out.status.code(), Some(0), "{report:#}");
}

fn v1_row(ws: &Workspace) -> Value {
    let out = ws
        .harness()
        .args(["--json", "scoreboard", "--task", &ws.task_name])
        .output()
        .expect("spawn scoreboard");
    let rows: Value = serde_json::from_slice(&out.stdout).expect("scoreboard json");
    rows.as_array()
        .and_then(|rows| rows.iter().find(|r| r["version"] == "v1"))
        .cloned()
        .unwrap_or_else(|| panic!("no v1 row: {rows:#}"))
}

fn short(uuid: &str) -> String {
    uuid.replace('-', "")[..8].to_string()
}

/// The run file of `uuid`, by its name (a stopped run's file names the run that stopped it).
fn run_file(ws: &Workspace, uuid: &str) -> Option<Value> {
    let suffix = format!("_{}.json", short(uuid));
    let file = std::fs::read_dir(ws.runs())
        .ok()?
        .flatten()
        .map(|e| e.path())
        .find(|p| p.to_string_lossy().ends_with(&suffix))?;
    serde_json::from_str(&std::fs::read_to_string(file).ok()?).ok()
}

#[test]
fn two_parallel_runs_failing_at_once_stop_the_version_and_keep_the_chain() {
    if !engine_available("two_parallel_runs_failing") {
        return;
    }
    ensure_images();
    let ws = Workspace::new("par_fail");
    // An image the engine lacks fails deploy at once, before any `compose up`.
    solo_task(&ws, |config| {
        config.replace(
            "image: harness/executor:local",
            "image: harness/absent-image:local",
        )
    });
    let out = iterate(&ws).output().expect("spawn");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let said = format!("{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let lines: Vec<String> = stdout.lines().map(String::from).collect();
    assert_eq!(out.status.code(), Some(1), "{said}");

    // Both first runs were launched together, and none after the failure.
    let runs = announced(&lines);
    assert_eq!(runs.len(), 2, "{said}");
    let first_recorded = lines
        .iter()
        .position(|l| recorded(std::slice::from_ref(l)).len() == 1)
        .expect("a recorded line");
    let second_announced = lines
        .iter()
        .rposition(|l| l.starts_with("run "))
        .expect("run lines");
    assert!(
        second_announced < first_recorded,
        "launched together: {said}"
    );
    let mut failed = 0;
    for uuid in &runs {
        let run = run_file(&ws, uuid).unwrap_or_else(|| panic!("{uuid} is not recorded: {said}"));
        match run["metrics"]["status"].as_str() {
            Some("failure") => failed += 1,
            Some("interrupted") => {
                let error = run["error"].as_str().unwrap_or_default();
                assert!(
                    error.starts_with("stopped: run ") && error.contains("of v1 failed first"),
                    "{run:#}"
                );
                assert!(error.contains("counts for nothing"), "{run:#}");
                let last = &run["steps"].as_array().expect("steps").last().cloned();
                let last = last.as_ref().expect("a step");
                assert_eq!(last["fault"], "interrupted", "{run:#}");
                assert!(
                    last["evidence"]["reason"]
                        .as_str()
                        .is_some_and(|r| r.starts_with("stopped: run ")),
                    "{run:#}"
                );
            }
            other => panic!("{uuid} ended {other:?}: {run:#}"),
        }
    }
    assert!(failed >= 1, "{said}");
    // Only the failures count; a stopped run is nobody's verdict.
    let row = v1_row(&ws);
    assert_eq!(row["successes"], 0, "{row:#}");
    assert_eq!(row["failures"], failed, "{row:#}");

    // One proposal, from the run that failed first.
    let proposals = lines
        .iter()
        .filter(|l| l.contains("next after v1:") || l.contains("no proposer fixes what v1"))
        .count();
    assert_eq!(proposals, 1, "{said}");

    // Recorded one at a time, in the order they ended: printed, chained and in the
    // prompt's history alike.
    let order: Vec<String> = recorded(&lines);
    let chain = chained(&ws);
    assert_eq!(chain.iter().map(|u| short(u)).collect::<Vec<_>>(), order);
    assert_eq!(history(&ws), chain);
    let mut sorted_runs = runs.clone();
    sorted_runs.sort();
    let mut sorted_chain = chain.clone();
    sorted_chain.sort();
    assert_eq!(sorted_runs, sorted_chain);

    audit_is_clean(&ws);
    assert!(
        ws.leftovers().is_empty(),
        "left behind: {:?}",
        ws.leftovers()
    );
}

/// Reads the child's stdout on a thread; lines arrive on the channel until it closes.
fn lines_of(child: &mut std::process::Child) -> mpsc::Receiver<String> {
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// Lines until two runs have deployed and neither is recorded yet, bounded by `limit`.
fn until_two_deployed(
    rx: &mpsc::Receiver<String>,
    limit: Duration,
) -> Result<Vec<String>, Vec<String>> {
    let deadline = Instant::now() + limit;
    let mut seen: Vec<String> = Vec::new();
    loop {
        let deployed: Vec<&str> = seen
            .iter()
            .filter(|l| l.contains(" deploy "))
            .filter_map(|l| l.trim_start().strip_prefix('[')?.split_once(']'))
            .map(|(id, _)| id)
            .collect();
        let done = recorded(&seen);
        let going = deployed.iter().filter(|id| !done.iter().any(|d| d == *id));
        if going.count() >= 2 {
            return Ok(seen);
        }
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) => seen.push(line),
            Err(_) => return Err(seen),
        }
    }
}

/// `iterate` of the solo task, once two of its runs are deployed at once: the child, its
/// stdout's lines from then on, and the lines seen so far. Kills it if they never are.
fn two_runs_deployed(ws: &Workspace) -> (std::process::Child, mpsc::Receiver<String>, Vec<String>) {
    ensure_images();
    solo_task(ws, str::to_string);
    let mut child = iterate(ws)
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn harness");
    let rx = lines_of(&mut child);
    match until_two_deployed(&rx, Duration::from_secs(120)) {
        Ok(seen) => (child, rx, seen),
        Err(seen) => {
            let _ = child.kill();
            let _ = child.wait();
            panic!("two runs never deployed at once: {seen:#?}");
        }
    }
}

#[test]
fn ctrl_c_mid_version_records_every_run_as_interrupted_and_leaves_nothing() {
    if !engine_available("ctrl_c_mid_version") {
        return;
    }
    let ws = Workspace::new("par_sigint");
    let (mut child, rx, seen) = two_runs_deployed(&ws);
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT).expect("SIGINT");
    let status = child.wait().expect("wait");
    let mut lines = seen.clone();
    lines.extend(rx.iter());
    assert_eq!(status.code(), Some(130), "{lines:#?}");

    // Every run announced is recorded; the ones going when the signal came as interrupted.
    let done_before = recorded(&seen);
    let runs = announced(&lines);
    let cut: Vec<&String> = runs
        .iter()
        .filter(|u| !done_before.contains(&short(u)))
        .collect();
    assert!(cut.len() >= 2, "{lines:#?}");
    for uuid in &runs {
        assert!(run_file(&ws, uuid).is_some(), "{uuid} is not recorded");
    }
    for uuid in cut {
        let run = run_file(&ws, uuid).expect("recorded");
        assert_eq!(run["metrics"]["status"], "interrupted", "{run:#}");
        assert_eq!(run["error"], "interrupted by signal (exit 130)", "{run:#}");
    }
    assert_eq!(history(&ws), chained(&ws));
    audit_is_clean(&ws);
    assert!(
        ws.leftovers().is_empty(),
        "left behind: {:?}",
        ws.leftovers()
    );
    assert!(!graduated(&ws).exists(), "a graduated file was written");
}

#[test]
fn kill_9_with_two_runs_deployed_is_reaped() {
    if !engine_available("kill_9_with_two_runs_deployed") {
        return;
    }
    let ws = Workspace::new("par_kill9");
    let (mut child, _rx, _) = two_runs_deployed(&ws);
    child.kill().expect("kill -9");
    child.wait().expect("wait");
    // The reaper's grace (10 s) and the 20 s the reaper is allowed for removal.
    let deadline = Instant::now() + Duration::from_secs(30);
    while !ws.leftovers().is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(
        ws.leftovers().is_empty(),
        "not reaped: {:?}",
        ws.leftovers()
    );
    assert!(!graduated(&ws).exists());
}

#[test]
fn parallel_zero_is_bad_input_naming_the_flag_and_the_fix() {
    let ws = Workspace::new("par_zero");
    solo_task(&ws, str::to_string);
    let before = std::fs::read(ws.task()).expect("read");
    let out = ws
        .harness()
        .args(["iterate", "--parallel", "0", "--task"])
        .arg(ws.task())
        .output()
        .expect("spawn");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    for needle in ["--parallel", "give 1"] {
        assert!(stderr.contains(needle), "`{needle}` not in: {stderr}");
    }
    assert_eq!(std::fs::read(ws.task()).expect("read"), before);
    assert!(!ws.runs().exists() && !ws.db().exists());
}
