//! `kill -9` of the harness: its reaper removes every container, network and volume of its
//! runs within grace + 20 s, with no command run afterwards.

mod common;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{Workspace, engine_available, engine_ids, ensure_images, spawn_until, uuid_of};

/// The reaper's default grace period, plus the 20 s the issue allows for removal.
const DEADLINE: Duration = Duration::from_secs(10 + 20);

fn harness(ws: &Workspace, args: &[&str]) -> Command {
    let mut cmd = ws.harness();
    cmd.args(args).arg("--task").arg(ws.task());
    cmd
}

fn spawn(ws: &Workspace, args: &[&str]) -> Child {
    harness(ws, args)
        .stdout(Stdio::null())
        .spawn()
        .expect("spawn harness")
}

fn run_args() -> Vec<&'static str> {
    vec!["run", "--config", "docker/docker-compose.yml"]
}

/// Polls the engine (bounded in count and time) until `found` holds.
fn poll(what: &str, limit: Duration, mut found: impl FnMut() -> bool) -> Duration {
    let start = Instant::now();
    for _ in 0..(limit.as_millis() / 50) {
        if found() {
            return start.elapsed();
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("{what}: not within {limit:?}");
}

fn kill9(child: &mut Child) -> Instant {
    child.kill().expect("kill -9");
    let killed = Instant::now();
    child.wait().expect("wait");
    killed
}

/// Waits for zero leftovers after the kill, and says how long it took.
fn assert_reaped(ws: &Workspace, killed: Instant, case: &str) {
    assert!(
        !reaper_log(ws).is_empty(),
        "{case}: the reaper {} was running",
        ws.reaper()
    );
    let left = (0..(DEADLINE.as_millis() / 200)).find_map(|_| {
        if ws.leftovers().is_empty() {
            return Some(killed.elapsed());
        }
        std::thread::sleep(Duration::from_millis(200));
        None
    });
    let Some(took) = left else {
        panic!(
            "{case}: left behind {DEADLINE:?} after kill -9: {:?}\nreaper log:\n{}",
            ws.leftovers(),
            reaper_log(ws)
        );
    };
    eprintln!(
        "{case}: kill -9 → zero leftovers in {:.1} s",
        took.as_secs_f64()
    );
}

fn reaper_log(ws: &Workspace) -> String {
    Command::new("docker")
        .args(["logs", &ws.reaper()])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stderr).into_owned())
        .unwrap_or_default()
}

fn task_containers(ws: &Workspace) -> Vec<String> {
    let out = Command::new("docker")
        .args(["ps", "-a", "--format", "{{.Label \"dev.harness.run\"}}"])
        .args([
            "--filter",
            &format!("label=dev.harness.task={}", ws.task_name),
        ])
        .output()
        .expect("docker ps");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn kill_9_during_compose_up_is_reaped() {
    if !engine_available("kill_9_during_compose_up_is_reaped") {
        return;
    }
    ensure_images();
    let ws = Workspace::new("e2e_reap_up");
    let mut child = spawn(&ws, &run_args());
    // The first container of the run exists while `compose up` is still creating the rest
    // (the app waits for Redis to be healthy).
    poll("a container of the run", Duration::from_secs(90), || {
        !task_containers(&ws).is_empty()
    });
    let killed = kill9(&mut child);
    assert_reaped(&ws, killed, "during compose up");
}

#[test]
fn kill_9_during_the_probes_is_reaped() {
    if !engine_available("kill_9_during_the_probes_is_reaped") {
        return;
    }
    ensure_images();
    let ws = Workspace::new("e2e_reap_probe");
    let (mut child, _) = spawn_until(&mut harness(&ws, &run_args()), " deploy ");
    assert!(
        !ws.leftovers().is_empty(),
        "the stack is up when the probes start"
    );
    let killed = kill9(&mut child);
    assert_reaped(&ws, killed, "during the probes");
}

#[test]
fn kill_9_during_iterate_between_versions_is_reaped() {
    if !engine_available("kill_9_during_iterate_between_versions_is_reaped") {
        return;
    }
    ensure_images();
    let ws = Workspace::new("e2e_reap_iter");
    // Version 1 has restart "no": its restart step fails, iterate applies the restart
    // policy as version 2 and deploys that — which is when the harness dies.
    let fixture = std::fs::read_to_string(
        std::path::Path::new(common::REPO).join("tests/fixtures/protocol/restart_no.yml"),
    )
    .expect("fixture");
    let task = std::fs::read_to_string(ws.task()).expect("task");
    let start = task.find("```yaml\n").expect("yaml block") + "```yaml\n".len();
    let end = start + task[start..].find("```").expect("block end");
    std::fs::write(
        ws.task(),
        format!("{}{}{}", &task[..start], fixture, &task[end..]),
    )
    .expect("write task");
    let graduate_to = ws.dir.path().join("graduated.yml");
    let mut child = spawn(
        &ws,
        &[
            "iterate",
            "--apply",
            "--steps",
            "deploy,restart,shutdown",
            "--max-iterations",
            "3",
            "--graduate-to",
            graduate_to.to_str().expect("utf8"),
        ],
    );
    let mut runs: Vec<String> = Vec::new();
    poll(
        "a container of the second version's run",
        Duration::from_secs(240),
        || {
            for run in task_containers(&ws) {
                if !runs.contains(&run) {
                    runs.push(run);
                }
            }
            runs.len() >= 2
        },
    );
    let killed = kill9(&mut child);
    assert_reaped(&ws, killed, "during iterate, version 2");
    assert!(!graduate_to.exists(), "killed before graduating");
}

#[test]
fn a_killed_harness_is_reaped_while_its_neighbour_passes() {
    if !engine_available("a_killed_harness_is_reaped_while_its_neighbour_passes") {
        return;
    }
    ensure_images();
    let survivor = Workspace::new("e2e_reap_live");
    let victim = Workspace::new("e2e_reap_dead");
    // One reaper serves both, as on a real machine.
    let live = survivor
        .harness()
        .env("HARNESS_REAPER_NAME", victim.reaper())
        .args(run_args())
        .args([
            "--steps",
            "deploy,api_probe,ws_probe,restart,persistence,shutdown",
        ])
        .arg("--task")
        .arg(survivor.task())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn survivor");
    let (mut dead, _) = spawn_until(&mut harness(&victim, &run_args()), " deploy ");
    let killed = kill9(&mut dead);
    assert_reaped(&victim, killed, "beside a live harness");
    let out = live.wait_with_output().expect("survivor");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "the survivor's run passes:\n{text}"
    );
    assert!(survivor.leftovers().is_empty());
}

#[test]
fn a_killed_reaper_is_replaced_and_gc_finds_what_it_left() {
    if !engine_available("a_killed_reaper_is_replaced_and_gc_finds_what_it_left") {
        return;
    }
    ensure_images();
    let ws = Workspace::new("e2e_reap_gone");
    let (mut child, seen) = spawn_until(&mut harness(&ws, &run_args()), " deploy ");
    let uuid = uuid_of(&seen);
    // Harness and reaper die together: nobody removes the stack.
    kill9(&mut child);
    let out = Command::new("docker")
        .args(["kill", &ws.reaper()])
        .output()
        .expect("docker kill");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    poll("the killed reaper gone", Duration::from_secs(20), || {
        engine_ids(&format!("name={}", ws.reaper())).is_empty()
    });
    let listed = ws.harness().args(["gc", "--dry-run"]).output().expect("gc");
    let listed = String::from_utf8_lossy(&listed.stdout);
    assert!(
        listed.contains(&uuid) || ws.leftovers().is_empty(),
        "gc --dry-run lists the killed run {uuid}: {listed}"
    );
    // The next harness starts a new reaper (and its start-of-run gc collects the run).
    let next = ws
        .harness()
        .args(run_args())
        .args(["--steps", "deploy,api_probe,shutdown", "--task"])
        .arg(ws.task())
        .output()
        .expect("next run");
    assert_eq!(
        next.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&next.stderr)
    );
    assert!(
        reaper_log(&ws).contains("harness connected"),
        "a new reaper served the next harness"
    );
    let gc = ws.harness().args(["gc"]).output().expect("gc");
    assert!(gc.status.success());
    assert!(
        ws.leftovers().is_empty(),
        "left behind: {:?}",
        ws.leftovers()
    );
}

#[test]
fn a_live_harness_replaces_a_killed_reaper_and_is_still_looked_after() {
    if !engine_available("a_live_harness_replaces_a_killed_reaper") {
        return;
    }
    ensure_images();
    let ws = Workspace::new("e2e_reap_again");
    let (mut child, _) = spawn_until(&mut harness(&ws, &run_args()), " deploy ");
    let first = container_id(&ws.reaper()).expect("a reaper runs");
    let out = Command::new("docker")
        .args(["kill", &first])
        .output()
        .expect("docker kill");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The harness notices the lost connection, starts a new reaper and watches its run again.
    poll("a new reaper", Duration::from_secs(30), || {
        container_id(&ws.reaper()).is_some_and(|id| id != first)
            && reaper_log(&ws).contains("watching")
    });
    let killed = kill9(&mut child);
    assert_reaped(&ws, killed, "after the reaper was replaced");
}

fn container_id(name: &str) -> Option<String> {
    let out = Command::new("docker")
        .args(["inspect", "--format", "{{.Id}} {{.State.Running}}", name])
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let (id, running) = text.trim().split_once(' ')?;
    (running == "true").then(|| id.to_string())
}
