//! Issue 16: gc collects a run only when its owner is provably gone. Each test labels a
//! created (never started) container as a run's, with the owner identity a harness would
//! write, and asks the real `harness gc` about it.

mod common;

use std::process::{Child, Command, Output, Stdio};

use common::{Workspace, engine_available, engine_ids, ensure_images, labelled_container};
use harness::owner::{Owner, start_time};

fn exists(run: &str) -> bool {
    !engine_ids(&format!("label=dev.harness.run={run}")).is_empty()
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The line gc printed about `run`.
fn line_about(out: &Output, run: &str) -> String {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find(|l| l.contains(run))
        .unwrap_or_default()
        .to_string()
}

fn fresh_run() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// An unrelated process, killed and reaped however the test ends.
struct Unrelated(Child);

impl Drop for Unrelated {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn unshare_works() -> bool {
    Command::new("unshare")
        .args(["--pid", "--fork", "--mount-proc", "true"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

#[test]
fn gc_in_another_pid_namespace_leaves_a_live_run_alone() {
    let test = "gc_in_another_pid_namespace_leaves_a_live_run_alone";
    if !engine_available(test) {
        return;
    }
    if !unshare_works() {
        eprintln!("SKIPPED {test}: `unshare --pid --fork --mount-proc` is not permitted here");
        return;
    }
    ensure_images();
    let ws = Workspace::new("e2e_own_ns");
    // This test process is the live owner, as a harness outside the namespace would be.
    let me = Owner::current().expect("/proc tells this process's identity");
    let run = fresh_run();
    labelled_container(&ws, &run, &[("dev.harness.owner", me.to_string())]);
    let inside = Command::new("unshare")
        .args(["--pid", "--fork", "--mount-proc"])
        .arg(env!("CARGO_BIN_EXE_harness"))
        .arg("gc")
        .output()
        .expect("gc in another PID namespace");
    assert!(inside.status.success(), "{}", text(&inside));
    let said = line_about(&inside, &run);
    assert!(
        said.contains("not ours to judge") && said.contains("another PID namespace"),
        "gc says why it leaves the run: {}",
        text(&inside)
    );
    assert!(
        exists(&run),
        "the live run survived a gc from another PID namespace"
    );
    // From the owner's own namespace the verdict is "alive": not even listed.
    let outside = ws.harness().args(["gc", "--dry-run"]).output().expect("gc");
    assert!(line_about(&outside, &run).is_empty(), "{}", text(&outside));
    assert!(exists(&run));
}

#[test]
fn a_run_whose_owner_pid_was_reused_is_recognised_as_dead() {
    let test = "a_run_whose_owner_pid_was_reused_is_recognised_as_dead";
    if !engine_available(test) {
        return;
    }
    ensure_images();
    let ws = Workspace::new("e2e_own_reuse");
    let me = Owner::current().expect("/proc tells this process's identity");
    let unrelated = Unrelated(
        Command::new("sleep")
            .arg("120")
            .stdin(Stdio::null())
            .spawn()
            .expect("spawn sleep"),
    );
    let pid = unrelated.0.id();
    let start = start_time(pid).expect("the sleep's start time");
    // The recorded owner had this pid but started earlier: the pid is now the sleep's.
    let reused = fresh_run();
    let owner = Owner {
        pid,
        start: start - 1,
        ..me.clone()
    };
    labelled_container(&ws, &reused, &[("dev.harness.owner", owner.to_string())]);
    // The same pid with its real start time is a live owner.
    let live = fresh_run();
    let owner = Owner {
        pid,
        start,
        ..me.clone()
    };
    labelled_container(&ws, &live, &[("dev.harness.owner", owner.to_string())]);
    let out = ws.harness().arg("gc").output().expect("gc");
    assert!(out.status.success(), "{}", text(&out));
    // Any harness starting meanwhile collects it too (every run begins with a gc): then
    // this gc has nothing to say about it, and the run is gone all the same.
    let said = line_about(&out, &reused);
    assert!(
        said.is_empty() || said.contains("belongs to another process"),
        "{}",
        text(&out)
    );
    assert!(
        !exists(&reused),
        "the run of the reused pid's old owner was collected"
    );
    assert!(
        exists(&live),
        "the pid's live owner keeps its run: {}",
        text(&out)
    );
    drop(unrelated);
}

#[test]
fn a_run_of_an_older_harness_is_left_to_a_person_with_force() {
    let test = "a_run_of_an_older_harness_is_left_to_a_person_with_force";
    if !engine_available(test) {
        return;
    }
    ensure_images();
    let ws = Workspace::new("e2e_own_old");
    // A bare pid proves nothing, alive or not. It is this live process's: a free pid would
    // be collected at once by any harness from before issue 16 on this engine (src/gc.rs
    // tests the free-pid case).
    let run = fresh_run();
    let pid = ("dev.harness.pid", std::process::id().to_string());
    labelled_container(&ws, &run, &[pid]);
    let out = ws.harness().arg("gc").output().expect("gc");
    assert!(
        line_about(&out, &run).contains("not ours to judge"),
        "{}",
        text(&out)
    );
    assert!(exists(&run), "a pid alone proves no owner gone");
    // An empty prefix names every run: with one run on the engine it once removed it.
    for nothing in ["", " "] {
        let out = ws
            .harness()
            .args(["gc", "--force", nothing])
            .output()
            .expect("gc --force ''");
        assert_eq!(out.status.code(), Some(2), "{}", text(&out));
        assert!(text(&out).contains("not a run UUID"), "{}", text(&out));
        assert!(exists(&run), "nothing named, nothing removed");
    }
    // A person may type the short id as the run file shows it, or in capitals.
    let forced = ws
        .harness()
        .args(["gc", "--force", &run[..13].to_uppercase()])
        .output()
        .expect("gc --force");
    assert!(forced.status.success(), "{}", text(&forced));
    assert!(
        line_about(&forced, &run).contains("removed 1 containers"),
        "{}",
        text(&forced)
    );
    assert!(!exists(&run), "forced by a person: removed");
}
