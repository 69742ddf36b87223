//! Bad input gets a clear error — the file, the field, the fix — exit 2, and nothing on
//! disk changes.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::{Workspace, engine_available};

/// Every file under `dir` with its bytes.
fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("read dir").flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                files.insert(
                    path.display().to_string(),
                    std::fs::read(&path).expect("read"),
                );
            }
        }
    }
    files
}

/// Runs `harness run` with `args`; asserts exit 2, an unchanged workspace, and that stderr
/// names every one of `needles`.
fn rejects(ws: &Workspace, args: &[&str], needles: &[&str]) {
    let before = snapshot(ws.dir.path());
    let out = ws
        .harness()
        .arg("run")
        .arg("--task")
        .arg(ws.task())
        .args(args)
        .output()
        .expect("spawn");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
    for needle in needles {
        assert!(
            stderr.contains(needle),
            "{args:?}: `{needle}` not in: {stderr}"
        );
    }
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(
        snapshot(ws.dir.path()),
        before,
        "{args:?} changed files on disk"
    );
}

fn write(ws: &Workspace, name: &str, text: &str) -> String {
    let path = ws.dir.path().join(name);
    std::fs::write(&path, text).expect("write");
    path.display().to_string()
}

#[test]
fn malformed_yaml_names_file_line_and_column() {
    let ws = Workspace::new("bad_yaml");
    let bad = write(&ws, "bad.yml", "services:\n  app:\n    image: [unclosed\n");
    rejects(
        &ws,
        &["--config", &bad],
        &["bad.yml:", "not valid YAML", "line"],
    );
}

#[test]
fn a_file_without_services_or_with_an_unknown_key_is_rejected() {
    let ws = Workspace::new("bad_shape");
    let empty = write(&ws, "empty.yml", "version: '3.8'\n");
    rejects(&ws, &["--config", &empty], &["empty.yml", "`services`"]);
    let typo = write(
        &ws,
        "typo.yml",
        "services:\n  a: {image: x}\nnetwork:\n  n: {}\n",
    );
    rejects(
        &ws,
        &["--config", &typo],
        &["typo.yml", "unknown top-level key `network`", "x-"],
    );
}

#[test]
fn a_config_that_does_not_exist_is_named() {
    let ws = Workspace::new("bad_path");
    rejects(
        &ws,
        &["--config", "/nonexistent/compose.yml"],
        &["/nonexistent/compose.yml", "--config"],
    );
}

#[test]
fn an_unknown_step_lists_the_real_ones() {
    let ws = Workspace::new("bad_step");
    rejects(
        &ws,
        &["--steps", "deploy,probe_everything"],
        &["probe_everything", "port_discovery"],
    );
}

#[test]
fn broken_prompts_are_rejected_with_the_fix() {
    let ws = Workspace::new("bad_prompt");
    let shipped = std::fs::read_to_string(ws.task()).expect("read");
    let no_yaml = shipped.replacen("```yaml", "```text", 1);
    std::fs::write(ws.task(), &no_yaml).expect("write");
    rejects(&ws, &[], &[&ws.task_name, "```yaml"]);

    let two = format!("{shipped}\n```yaml\nservices: {{}}\n```\n");
    std::fs::write(ws.task(), &two).expect("write");
    rejects(&ws, &[], &[&ws.task_name, "second"]);

    let broken_table = shipped.replacen(
        "| v1      | Initial implementation with dynamic ports | TBD | TBD |",
        "| v1 | only two cells |",
        1,
    );
    std::fs::write(ws.task(), &broken_table).expect("write");
    rejects(&ws, &[], &[&ws.task_name, ":13"]);
}

#[test]
fn a_corrupt_scoreboard_or_an_unwritable_runs_dir_stops_before_any_deploy() {
    if !engine_available("a_corrupt_scoreboard") {
        return;
    }
    let ws = Workspace::new("bad_store");
    std::fs::write(
        ws.db(),
        b"this is not a database, just bytes that look like none",
    )
    .expect("write");
    rejects(
        &ws,
        &["--config", "docker/docker-compose.yml"],
        &["scoreboard", "scoreboard.db"],
    );
    std::fs::remove_file(ws.db()).expect("rm");

    // A file where the runs directory should be.
    std::fs::write(ws.runs(), b"").expect("write a file named runs");
    rejects(
        &ws,
        &["--config", "docker/docker-compose.yml"],
        &["runs directory", "--runs-dir"],
    );
    assert!(ws.leftovers().is_empty());
}
