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
            // One run at a time: a second run of version 1 would be the second run seen,
            // and the kill would land mid-version 1 (tests/e2e_parallel.rs covers that).
            "--parallel",
            "1",
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
        .env("XDG_RUNTIME_DIR", victim.dir.path())
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
    // Its network stays for the next reaper: only the container must go.
    poll("the killed reaper gone", Duration::from_secs(20), || {
        Command::new("docker")
            .args([
                "ps",
                "-a",
                "-q",
                "--filter",
                &format!("name={}", ws.reaper()),
            ])
            .output()
            .is_ok_and(|o| o.stdout.is_empty())
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
    // Alive long enough to replace its reaper whatever the machine's load: one run can end
    // before a new reaper is up, three in a row cannot.
    let three_runs = [
        "iterate",
        "--config",
        "docker/docker-compose.yml",
        "--runs-per-version",
        "3",
        "--parallel",
        "1",
    ];
    let (mut child, _) = spawn_until(&mut harness(&ws, &three_runs), " deploy ");
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

/// Starts this workspace's reaper the way a harness does (a lint-only run), staying up for
/// `idle` seconds after its last client; returns its 127.0.0.1 address.
fn start_reaper(ws: &Workspace, idle: u64) -> std::net::SocketAddr {
    let out = harness(
        ws,
        &[
            "run",
            "--config",
            "docker/docker-compose.yml",
            "--steps",
            "lint",
        ],
    )
    .env("HARNESS_REAPER_IDLE", idle.to_string())
    // Its session ends 1 s after it does, so the tests' own clients are the last ones.
    .env("HARNESS_REAPER_GRACE", "1")
    .output()
    .expect("harness run");
    assert!(
        reaper_log(ws).contains("harness connected"),
        "the run started a reaper: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let port = Command::new("docker")
        .args(["port", &ws.reaper(), "7470/tcp"])
        .output()
        .expect("docker port");
    let published = String::from_utf8_lossy(&port.stdout);
    let addrs: Vec<&str> = published.lines().collect();
    assert_eq!(addrs.len(), 1, "published once: {published}");
    assert!(
        addrs[0].starts_with("127.0.0.1:"),
        "on loopback only: {published}"
    );
    addrs[0].parse().expect("an address")
}

/// A raw client: the reaper's challenge nonce, and the connection to answer it on.
struct Raw {
    lines: std::io::Lines<std::io::BufReader<std::net::TcpStream>>,
    write: std::net::TcpStream,
}

impl Raw {
    fn connect(addr: std::net::SocketAddr) -> (Raw, String) {
        use std::io::BufRead;
        let stream = std::net::TcpStream::connect(addr).expect("connect to the reaper");
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        let write = stream.try_clone().expect("clone");
        let mut raw = Raw {
            lines: std::io::BufReader::new(stream).lines(),
            write,
        };
        let challenge: serde_json::Value =
            serde_json::from_str(&raw.next().expect("a challenge")).expect("json");
        assert_eq!(
            challenge["protocol"],
            harness::reaper::PROTOCOL,
            "{challenge}"
        );
        let nonce = challenge["nonce"].as_str().expect("a nonce").to_string();
        assert!(nonce.len() >= 32, "a 128-bit nonce: {nonce}");
        (raw, nonce)
    }

    fn next(&mut self) -> Option<String> {
        self.lines.next().and_then(Result::ok)
    }

    /// Sends one line; the reaper's reply, `None` when it closed the connection.
    fn say(&mut self, line: serde_json::Value) -> Option<serde_json::Value> {
        use std::io::Write;
        writeln!(self.write, "{line}").ok()?;
        serde_json::from_str(&self.next()?).ok()
    }

    fn hello(&mut self, key: &str, grace_ms: u64, proof: &str) -> Option<serde_json::Value> {
        self.say(serde_json::json!({"hello": {
            "protocol": harness::reaper::PROTOCOL, "session_key": key, "grace_ms": grace_ms, "proof": proof}}))
    }
}

fn refused(reply: Option<serde_json::Value>, case: &str, raw: &mut Raw) {
    let reply = reply.unwrap_or_else(|| panic!("{case}: the reaper says why it refuses"));
    assert_eq!(reply["ok"], false, "{case}: {reply}");
    assert_eq!(raw.next(), None, "{case}: then it closes the connection");
}

#[test]
fn the_reaper_refuses_clients_without_its_secret_and_exits_after_its_last_client() {
    let test = "the_reaper_refuses_clients_without_its_secret_and_exits_after_its_last_client";
    if !engine_available(test) {
        return;
    }
    ensure_images();
    let ws = Workspace::new("e2e_reap_auth");
    let addr = start_reaper(&ws, 60);
    let secret = harness::reaper::auth::Secret::read(&ws.reaper_secret()).expect("the secret");
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(ws.reaper_secret())
            .expect("secret file")
            .permissions(),
    );
    assert_eq!(mode & 0o777, 0o600);
    let inspect = Command::new("docker")
        .args(["inspect", &ws.reaper()])
        .output()
        .expect("docker inspect");
    let inspect = String::from_utf8_lossy(&inspect.stdout);
    assert!(
        !inspect.contains(&secret.to_hex()),
        "the secret is in no Cmd, Env or label"
    );
    assert!(
        inspect.contains(&format!("\"NetworkMode\": \"{}\"", ws.reaper())),
        "on a network of its own: {inspect}"
    );

    let (mut raw, _) = Raw::connect(addr);
    let v1 = serde_json::json!({"hello": {"protocol": 1, "session": uuid::Uuid::new_v4(), "grace_ms": 1000}});
    refused(
        raw.say(v1),
        "a hello without a proof (protocol 1)",
        &mut raw,
    );
    let (mut raw, _) = Raw::connect(addr);
    refused(raw.hello("key", 1000, ""), "an empty proof", &mut raw);
    let (mut raw, nonce) = Raw::connect(addr);
    let wrong = harness::reaper::auth::Secret::generate().expect("random");
    refused(
        raw.hello("key", 1000, &wrong.proof(&nonce, "key", 1000)),
        "a wrong secret",
        &mut raw,
    );
    let (mut raw, _) = Raw::connect(addr);
    let (_, other_nonce) = Raw::connect(addr);
    let replayed = secret.proof(&other_nonce, "key", 1000);
    refused(
        raw.hello("key", 1000, &replayed),
        "a proof for another nonce",
        &mut raw,
    );
    assert!(
        reaper_log(&ws).matches("refused a connection").count() >= 4,
        "every refusal is logged:\n{}",
        reaper_log(&ws)
    );

    // The right secret is let in: the refusals above were for the proof, not the format.
    let (mut raw, nonce) = Raw::connect(addr);
    let reply = raw.hello("key", 1000, &secret.proof(&nonce, "key", 1000));
    assert_eq!(reply.expect("a reply")["ok"], true);
    drop(raw);
    let last_client = Instant::now();
    // Idle 60 s counts from the end of the last session's 1 s grace; 5 s for the engine.
    let gone = poll(
        "the reaper gone after its last client",
        Duration::from_secs(75),
        || container_id(&ws.reaper()).is_none(),
    );
    assert!(
        last_client.elapsed() <= Duration::from_secs(66),
        "gone {:.1} s after its last client",
        last_client.elapsed().as_secs_f64()
    );
    eprintln!(
        "reaper gone {:.1} s after its last client",
        gone.as_secs_f64()
    );
    // It removed its own network on the way out: an idle machine keeps nothing.
    let networks = Command::new("docker")
        .args(["network", "ls", "-q", "--filter"])
        .arg(format!("name=^{}$", ws.reaper()))
        .output()
        .expect("docker network ls");
    assert!(networks.status.success());
    assert!(
        networks.stdout.is_empty(),
        "the reaper's network {} outlived it",
        ws.reaper()
    );
}

#[test]
fn a_client_cannot_make_the_reaper_remove_another_sessions_run() {
    let test = "a_client_cannot_make_the_reaper_remove_another_sessions_run";
    if !engine_available(test) {
        return;
    }
    ensure_images();
    let ws = Workspace::new("e2e_reap_session");
    let (mut raw, victim, own) = two_sessions(&ws);
    // The client registers both runs in its own session, then goes away.
    for run in [victim, own] {
        let reply = raw.say(serde_json::json!({"watch": {"run": run}}));
        assert_eq!(reply.expect("a reply")["ok"], true, "registered {run}");
    }
    drop(raw);
    wait_reaped(&ws);
    let left = |run: uuid::Uuid| !engine_ids(&format!("label=dev.harness.run={run}")).is_empty();
    assert!(!left(own), "its own session's run is removed");
    assert!(
        left(victim),
        "another session's run is not:\n{}",
        reaper_log(&ws)
    );
}

/// The key of the client in `two_sessions`.
const CLIENT_KEY: &str = "client's key";

/// A reaper; a run of another session (the victim) and one of the client's own, a
/// container each; and a client with the reaper's secret, admitted under `CLIENT_KEY`.
fn two_sessions(ws: &Workspace) -> (Raw, uuid::Uuid, uuid::Uuid) {
    let addr = start_reaper(ws, 60);
    let secret = harness::reaper::auth::Secret::read(&ws.reaper_secret()).expect("the secret");
    let (victim, own) = (uuid::Uuid::new_v4(), uuid::Uuid::new_v4());
    for (run, key) in [(victim, "victim's key"), (own, CLIENT_KEY)] {
        let label = ("dev.harness.session", harness::owner::session_id(key));
        common::labelled_container(ws, &run.to_string(), &[label]);
    }
    let (mut raw, nonce) = Raw::connect(addr);
    let reply = raw.hello(CLIENT_KEY, 200, &secret.proof(&nonce, CLIENT_KEY, 200));
    assert_eq!(reply.expect("a reply")["ok"], true);
    (raw, victim, own)
}

/// Waits until the reaper has reaped the client's session of `two_sessions`.
fn wait_reaped(ws: &Workspace) {
    let done = format!("session={}", harness::owner::session_id(CLIENT_KEY));
    poll(
        "the client's session reaped",
        Duration::from_secs(30),
        || {
            reaper_log(ws)
                .lines()
                .any(|l| l.contains(&done) && l.contains("nothing of the session's runs is left"))
        },
    );
}

/// Volumes a test made, removed when it ends however it ends.
struct Volumes(Vec<String>);

impl Drop for Volumes {
    fn drop(&mut self) {
        for name in &self.0 {
            let _ = Command::new("docker")
                .args(["volume", "rm", "-f", name])
                .output();
        }
    }
}

/// The anonymous volume a run's container mounts (harness/redis:local declares VOLUME /data).
fn anonymous_volume_of(run: uuid::Uuid) -> String {
    let id = common::docker(&[
        "ps",
        "-a",
        "-q",
        "--filter",
        &format!("label=dev.harness.run={run}"),
    ]);
    let name = common::docker(&[
        "inspect",
        "--format",
        "{{range .Mounts}}{{.Name}}{{end}}",
        &id,
    ]);
    assert!(
        harness::engine::is_anonymous_volume(&name),
        "anonymous: {name}"
    );
    name
}

fn volume_exists(name: &str) -> bool {
    Command::new("docker")
        .args(["volume", "inspect", name])
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn orphaned_anonymous_volumes_go_with_the_run_and_no_one_else_s_can_be_named() {
    let test = "orphaned_anonymous_volumes_go_with_the_run_and_no_one_else_s_can_be_named";
    if !engine_available(test) {
        return;
    }
    ensure_images();
    let ws = Workspace::new("e2e_reap_orphans");
    let (mut raw, victim, own) = two_sessions(&ws);
    let (mine, theirs) = (anonymous_volume_of(own), anonymous_volume_of(victim));
    // A user's volume with an anonymous-looking name that no container of the run mounts,
    // and a named one the run does not mount either.
    let lookalike = format!("{:064x}", rand_u128());
    let named = format!("h-{}-users-data", ws.task_name);
    let _volumes = Volumes(vec![
        mine.clone(),
        theirs.clone(),
        lookalike.clone(),
        named.clone(),
    ]);
    for name in [&lookalike, &named] {
        common::docker(&["volume", "create", name]);
    }
    assert_eq!(
        raw.say(serde_json::json!({"watch": {"run": own}}))
            .expect("a reply")["ok"],
        true
    );
    let orphans = |raw: &mut Raw, run: uuid::Uuid, volume: &str| {
        raw.say(serde_json::json!({"orphans": {"run": run, "volumes": [volume]}}))
            .expect("a reply")
    };
    for (run, volume, case) in [
        (
            own,
            theirs.as_str(),
            "another session's run's volume, under its own run",
        ),
        (
            victim,
            theirs.as_str(),
            "another session's run's volume, under that run",
        ),
        (
            own,
            lookalike.as_str(),
            "a volume no container of the run mounts",
        ),
        (own, named.as_str(), "a named volume"),
    ] {
        let reply = orphans(&mut raw, run, volume);
        assert_eq!(reply["ok"], false, "{case} is refused: {reply}");
        assert!(
            reply["error"].as_str().is_some_and(|e| e.contains(volume)),
            "{case}: {reply}"
        );
    }
    assert_eq!(
        orphans(&mut raw, own, &mine)["ok"],
        true,
        "its own run's anonymous volume"
    );
    // As after a `down` without -v: the container goes, its anonymous volume stays.
    let id = common::docker(&[
        "ps",
        "-a",
        "-q",
        "--filter",
        &format!("label=dev.harness.run={own}"),
    ]);
    common::docker(&["rm", &id]);
    assert!(
        volume_exists(&mine),
        "orphaned, not removed, by `docker rm`"
    );
    drop(raw);
    wait_reaped(&ws);
    assert!(
        !volume_exists(&mine),
        "the orphan goes with its run:\n{}",
        reaper_log(&ws)
    );
    for other in [&theirs, &lookalike, &named] {
        assert!(
            volume_exists(other),
            "`{other}` stays:\n{}",
            reaper_log(&ws)
        );
    }
}

fn rand_u128() -> u128 {
    uuid::Uuid::new_v4().as_u128()
}

#[test]
fn kill_9_as_persistence_goes_down_leaves_no_anonymous_volume() {
    let test = "kill_9_as_persistence_goes_down_leaves_no_anonymous_volume";
    if !engine_available(test) {
        return;
    }
    ensure_images();
    let ws = Workspace::new("e2e_reap_anon");
    let config =
        std::path::Path::new(common::REPO).join("tests/fixtures/protocol/redis_no_volume.yml");
    let args = [
        "run",
        "--steps",
        "deploy,persistence",
        "--config",
        config.to_str().expect("utf8"),
    ];
    let mut child = spawn(&ws, &args);
    // Told before the `down`: the Compose CLI the harness started goes on after the kill
    // and orphans Redis's anonymous volume, which no label finds.
    let told = |log: &str| {
        log.lines()
            .find(|l| l.contains("watching anonymous volumes"))
            .map(str::to_string)
    };
    let mut line = None;
    poll(
        "the reaper told of the anonymous volume",
        Duration::from_secs(120),
        || {
            line = told(&reaper_log(&ws));
            line.is_some()
        },
    );
    // Stopped between its `down` and its own removal of the volume: the Compose CLI, a
    // process of its own, finishes the `down` and orphans the volume, as when the kill
    // lands there.
    let stopped = Command::new("kill")
        .args(["-STOP", &child.id().to_string()])
        .status()
        .expect("kill -STOP");
    assert!(stopped.success());
    poll("the `down` done", Duration::from_secs(60), || {
        task_containers(&ws).is_empty()
    });
    let killed = kill9(&mut child);
    let line = line.expect("polled");
    let volumes: Vec<String> = line
        .split(|c: char| !c.is_ascii_hexdigit())
        .filter(|w| harness::engine::is_anonymous_volume(w))
        .map(str::to_string)
        .collect();
    assert!(!volumes.is_empty(), "the volume is named: {line}");
    let _cleanup = Volumes(volumes.clone());
    assert_reaped(&ws, killed, "as persistence goes down");
    poll("the anonymous volume removed", DEADLINE, || {
        volumes.iter().all(|v| !volume_exists(v))
    });
}
