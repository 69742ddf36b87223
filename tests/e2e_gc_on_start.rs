//! A run starts by collecting what killed harnesses left: after a `kill -9` mid-run, the
//! next `harness run` (of anything) removes the dead run's containers, networks and volumes.

mod common;

use common::{Workspace, engine_available, ensure_images, kill_9_after_deploy_without_reaper};

#[test]
fn the_next_run_collects_what_a_killed_harness_left() {
    if !engine_available("the_next_run_collects_what_a_killed_harness_left") {
        return;
    }
    ensure_images();
    let ws = Workspace::new("e2e_gc_start");
    kill_9_after_deploy_without_reaper(&ws);
    // Any harness starting meanwhile (a parallel test) collects first; then there is
    // nothing left to see, which is the guarantee all the same.
    let left_by_the_kill = !ws.leftovers().is_empty();
    eprintln!("objects left by the kill: {left_by_the_kill}");

    // The next run — lint only, nothing of its own deployed — starts with the collection.
    let out = ws
        .harness()
        .args([
            "run",
            "--steps",
            "lint",
            "--config",
            "docker/docker-compose.yml",
            "--task",
        ])
        .arg(ws.task())
        .output()
        .expect("spawn");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        ws.leftovers().is_empty(),
        "left behind after the next run started: {:?}",
        ws.leftovers()
    );
    if left_by_the_kill {
        assert!(
            stderr.contains("removed the leftovers of dead harness runs"),
            "the next run did not say it collected: {stderr}"
        );
    }
}
