//! Proof on stacks unlike the reference (examples/): other service names, ports, paths and
//! dependency sets. Each example's task passes a run; each broken variant is repaired by
//! `iterate --apply` with the existing catalog; the executor's settings answer on
//! 127.0.0.1 where each example's compose file puts them.
//!
//! To keep the suite short, the examples run side by side, and so do the variants (a few
//! at a time): every run is a full protocol on the real engine.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use common::{REPO, Workspace, compose_cli, engine_available, ensure_images};
use harness::compose::ComposeFile;
use harness::lint::lint;
use harness::task::Prompt;

const EXAMPLES: [&str; 2] = ["notes", "solo"];

/// A broken variant: its example, its file under `broken/`, the lint rule it trips and
/// the mutation that must repair it.
struct Variant {
    example: &'static str,
    name: &'static str,
    rule: &'static str,
    mutation: &'static str,
}

const VARIANTS: [Variant; 6] = [
    Variant {
        example: "notes",
        name: "fixed-port",
        rule: "hardcoded-host-port",
        mutation: "engine-assigned-port",
    },
    Variant {
        example: "notes",
        name: "container-name",
        rule: "fixed-container-name",
        mutation: "drop-container-name",
    },
    Variant {
        example: "notes",
        name: "localhost-store",
        rule: "loopback-service-url",
        mutation: "service-host",
    },
    Variant {
        example: "notes",
        name: "no-volume",
        rule: "redis-without-volume",
        mutation: "redis-volume",
    },
    Variant {
        example: "solo",
        name: "fixed-port",
        rule: "hardcoded-host-port",
        mutation: "engine-assigned-port",
    },
    Variant {
        example: "solo",
        name: "container-name",
        rule: "fixed-container-name",
        mutation: "drop-container-name",
    },
];

/// How many variants iterate at once: each is two full runs on a 2-core machine.
const BATCH: usize = 3;

fn example_dir(example: &str) -> PathBuf {
    Path::new(REPO).join("examples").join(example)
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn rules(yaml: &str) -> Vec<&'static str> {
    let file = ComposeFile::parse("config", yaml, 1).expect("the config parses");
    lint(&file).iter().map(|f| f.rule).collect()
}

/// The example's task with `config` in its config block, written into `ws` as its task.
fn write_task(ws: &Workspace, example: &str, config: Option<&str>) {
    let path = example_dir(example).join("task.md");
    let prompt = Prompt::parse(path.clone(), read(&path)).expect("the example task parses");
    let text = match config {
        Some(yaml) => prompt
            .replace_config(yaml)
            .expect("the variant fits the task"),
        None => prompt.text().to_string(),
    };
    std::fs::write(ws.task(), text).expect("write task");
}

fn said(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The harness as the examples run it: no real API key reaches a stack, no reaper (the
/// workspace's guard removes what a run leaves).
fn harness(ws: &Workspace) -> Command {
    let mut cmd = ws.harness();
    cmd.env_remove("ANTHROPIC_API_KEY")
        .env_remove("OPENAI_API_KEY")
        .env("HARNESS_NO_REAPER", "true");
    cmd
}

type Job = Box<dyn FnOnce() -> Result<(), String> + Send>;

/// Runs `jobs` on threads, at most `width` at a time, and fails with every failure
/// (a panic included) so one broken stack does not hide another.
fn run_batched(jobs: Vec<(String, Job)>, width: usize) {
    let mut failures = Vec::new();
    let mut jobs = jobs.into_iter().peekable();
    while jobs.peek().is_some() {
        let running: Vec<_> = jobs
            .by_ref()
            .take(width)
            .map(|(name, job)| (name, std::thread::spawn(job)))
            .collect();
        for (name, handle) in running {
            match handle.join() {
                Ok(Ok(())) => {}
                Ok(Err(why)) => failures.push(format!("{name}: {why}")),
                Err(_) => failures.push(format!("{name}: panicked")),
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// The engine answers and the images exist; otherwise the test is skipped (or fails
/// under CI=true) with the reason printed.
fn engine_ready(test: &str) -> bool {
    let ready = engine_available(test);
    if ready {
        ensure_images();
    }
    ready
}

/// Static, no engine: each task's config block is its compose file, the task reads (its
/// protocol block included) as `harness run` reads it, and each variant trips its rule
/// where the example trips none of them.
#[test]
fn example_tasks_hold_their_compose_files_and_variants_trip_their_rule() {
    for example in EXAMPLES {
        let dir = example_dir(example);
        let task = dir.join("task.md");
        let prompt = Prompt::load(&task).expect("task parses");
        let compose = read(&dir.join("compose.yml"));
        assert_eq!(
            prompt.config_yaml().trim_end(),
            compose.trim_end(),
            "{example}: task.md's config block must be compose.yml"
        );
        assert!(prompt.protocol_block().is_some(), "{example}: no protocol");
        assert!(
            !read(&dir.join("README.md")).trim().is_empty(),
            "{example}: README.md"
        );
        let clean = rules(&compose);
        for v in VARIANTS.iter().filter(|v| v.example == example) {
            assert!(
                !clean.contains(&v.rule),
                "{example} itself trips {}",
                v.rule
            );
            let yaml = read(&dir.join("broken").join(format!("{}.yml", v.name)));
            assert!(
                rules(&yaml).contains(&v.rule),
                "{example}/{}: expected {} in {:?}",
                v.name,
                v.rule,
                rules(&yaml)
            );
            let info = harness::mutate::catalog()
                .iter()
                .find(|i| i.id == v.mutation)
                .expect("the mutation is in the catalog");
            assert!(
                info.lint_rules.contains(&v.rule),
                "{} ← {}",
                v.mutation,
                v.rule
            );
        }
    }
}

/// What `harness run` and `iterate` load first: the task with its protocol block,
/// validated against its own config. Both examples, and every variant as a task.
#[test]
fn example_tasks_and_variants_load_with_their_protocol() {
    let ws = Workspace::new("ex_load");
    let mut failures = Vec::new();
    for example in EXAMPLES {
        let configs = std::iter::once((example.to_string(), None)).chain(
            VARIANTS.iter().filter(|v| v.example == example).map(|v| {
                let path = example_dir(example)
                    .join("broken")
                    .join(format!("{}.yml", v.name));
                (format!("{example}/{}", v.name), Some(read(&path)))
            }),
        );
        for (name, config) in configs {
            write_task(&ws, example, config.as_deref());
            if let Err(e) = harness::cycle::TaskFile::load(&ws.task(), None, None) {
                failures.push(format!("{name}: {e}"));
            }
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

/// One example's own task through `harness run`: every declared step passes.
fn run_example(example: &'static str) -> Result<(), String> {
    let ws = Workspace::new(&format!("ex_{example}"));
    write_task(&ws, example, None);
    let out = harness(&ws)
        .arg("run")
        .arg("--task")
        .arg(ws.task())
        .output()
        .map_err(|e| e.to_string())?;
    if out.status.code() != Some(0) {
        return Err(format!("exit {:?}\n{}", out.status.code(), said(&out)));
    }
    let left = ws.leftovers();
    if !left.is_empty() {
        return Err(format!("left behind: {left:?}"));
    }
    Ok(())
}

#[test]
fn each_example_task_passes_a_run() {
    if !engine_ready("each_example_task_passes_a_run") {
        return;
    }
    let jobs = EXAMPLES
        .iter()
        .map(|&example| {
            (
                example.to_string(),
                Box::new(move || run_example(example)) as Job,
            )
        })
        .collect();
    run_batched(jobs, EXAMPLES.len());
}

/// One variant through `iterate --apply`: it must end on a passing version, made by the
/// expected mutation, whose config no longer trips the variant's rule.
fn repair(v: &'static Variant) -> Result<(), String> {
    let ws = Workspace::new(&format!("ex_{}_{}", v.example, v.name.replace('-', "_")));
    let broken = example_dir(v.example)
        .join("broken")
        .join(format!("{}.yml", v.name));
    write_task(&ws, v.example, Some(&read(&broken)));
    let out = harness(&ws)
        .args([
            "iterate",
            "--apply",
            "--runs-per-version",
            "1",
            "--max-iterations",
            "4",
            "--graduate-to",
        ])
        .arg(ws.dir.path().join("graduated.yml"))
        .arg("--task")
        .arg(ws.task())
        .output()
        .map_err(|e| e.to_string())?;
    let text = said(&out);
    // Exit 0: the last version's run passed (or it graduated).
    if out.status.code() != Some(0) {
        return Err(format!("exit {:?}\n{text}", out.status.code()));
    }
    let prompt = Prompt::load(&ws.task()).map_err(|e| e.to_string())?;
    let left = rules(prompt.config_yaml());
    if left.contains(&v.rule) {
        return Err(format!("{} still in the final config\n{text}", v.rule));
    }
    let db = rusqlite::Connection::open(ws.db()).map_err(|e| e.to_string())?;
    let mutations: Vec<String> = db
        .prepare("SELECT mutation FROM version ORDER BY number")
        .and_then(|mut s| {
            s.query_map([], |r| r.get(0))?
                .collect::<Result<Vec<String>, _>>()
        })
        .map_err(|e| e.to_string())?;
    if !mutations.iter().any(|m| m == v.mutation) {
        return Err(format!(
            "{} never applied: {mutations:?}\n{text}",
            v.mutation
        ));
    }
    let leftovers = ws.leftovers();
    if !leftovers.is_empty() {
        return Err(format!("left behind: {leftovers:?}"));
    }
    Ok(())
}

#[test]
fn every_broken_variant_is_repaired_by_iterate() {
    if !engine_ready("every_broken_variant_is_repaired_by_iterate") {
        return;
    }
    let jobs = VARIANTS
        .iter()
        .map(|v| {
            let name = format!("{}/{}", v.example, v.name);
            (name, Box::new(move || repair(v)) as Job)
        })
        .collect();
    run_batched(jobs, BATCH);
}

/// A compose project of an example's file, brought down with its volumes on drop — even
/// when the test failed.
struct Deployed {
    cli: harness::engine::ComposeCli,
    project: String,
    file: PathBuf,
}

impl Deployed {
    fn up(ws: &Workspace, example: &str, env: &[(&str, &str)]) -> Option<Deployed> {
        let cli = compose_cli(example)?;
        let deployed = Deployed {
            cli,
            project: format!("h-{}-{example}", ws.task_name),
            file: example_dir(example).join("compose.yml"),
        };
        let mut up = deployed.command(&["up", "-d", "--no-build"]);
        for (k, v) in env {
            up.env(k, v);
        }
        let out = up.output().expect("compose up");
        assert!(out.status.success(), "{}", said(&out));
        Some(deployed)
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = self.cli.std_command();
        cmd.current_dir(REPO)
            .env_remove("ANTHROPIC_API_KEY")
            .env_remove("OPENAI_API_KEY")
            .arg("-p")
            .arg(&self.project)
            .arg("-f")
            .arg(&self.file)
            .args(args);
        cmd
    }

    /// The 127.0.0.1 address the engine published for `service`'s container `port`.
    fn published(&self, service: &str, port: u16) -> SocketAddr {
        let out = self
            .command(&["port", service, &port.to_string()])
            .output()
            .expect("compose port");
        let text = String::from_utf8_lossy(&out.stdout);
        let addr = text.trim().rsplit(':').next().unwrap_or_default();
        let port: u16 = addr
            .parse()
            .unwrap_or_else(|_| panic!("no port for {service}:{port}: {}", said(&out)));
        SocketAddr::from(([127, 0, 0, 1], port))
    }

    /// Waits (bounded) for the container of `service` to be healthy: its healthcheck is
    /// `executor healthcheck`, which must probe the health path the service serves.
    fn wait_healthy(&self, service: &str) {
        let out = self
            .command(&["ps", "-q", service])
            .output()
            .expect("compose ps");
        let id = String::from_utf8_lossy(&out.stdout).trim().to_string();
        assert!(!id.is_empty(), "no container for {service}");
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let out = Command::new("docker")
                .args(["inspect", "-f", "{{.State.Health.Status}}", &id])
                .output()
                .expect("docker inspect");
            let status = String::from_utf8_lossy(&out.stdout).trim().to_string();
            if status == "healthy" {
                return;
            }
            assert!(
                Instant::now() < deadline && status != "unhealthy",
                "{service} is {status} (is harness/executor:local built from this tree? \
                 `harness images --binary executor=target/release/executor`)"
            );
            std::thread::sleep(Duration::from_millis(250));
        }
    }
}

impl Drop for Deployed {
    fn drop(&mut self) {
        let _ = self
            .command(&["down", "-v", "--remove-orphans", "--timeout", "2"])
            .output();
    }
}

/// `method path` over HTTP/1.0 (the server closes the connection): status and body.
fn http(addr: SocketAddr, method: &str, path: &str, body: &str) -> (u16, String) {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    let request = format!(
        "{method} {path} HTTP/1.0\r\nHost: {addr}\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).expect("send");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read");
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

/// The status of a WebSocket upgrade request on `path`: 101 where the socket is.
fn upgrade(addr: SocketAddr, path: &str) -> u16 {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
         Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).expect("send");
    let mut head = [0u8; 64];
    let n = stream.read(&mut head).expect("read");
    String::from_utf8_lossy(&head[..n])
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

fn json(body: &str) -> serde_json::Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"))
}

/// The executor's settings, seen from the host as each example's file sets them: notes
/// moves health, the WebSocket and the key's variable and has a store; solo has no store.
#[test]
fn the_examples_endpoints_answer_where_their_files_put_them() {
    if !engine_ready("the_examples_endpoints_answer_where_their_files_put_them") {
        return;
    }
    let ws = Workspace::new("ex_settings");
    let dummy = "dummy-not-a-secret";
    let Some(notes) = Deployed::up(&ws, "notes", &[("OPENAI_API_KEY", dummy)]) else {
        return;
    };
    let Some(solo) = Deployed::up(&ws, "solo", &[]) else {
        return;
    };
    notes.wait_healthy("web");
    solo.wait_healthy("echo");

    let api = notes.published("web", 9000);
    let (status, body) = http(api, "GET", "/healthz", "");
    assert_eq!(status, 200, "{body}");
    let health = json(&body);
    assert_eq!(health["status"], "ok", "{health}");
    assert_eq!(health["redis"]["connected"], true, "{health}");
    assert_eq!(health["api_key_present"], true, "OPENAI_API_KEY is read");
    assert!(!body.contains(dummy));
    assert_eq!(http(api, "GET", "/health", "").0, 404);
    assert_eq!(http(api, "PUT", "/kv/example", "kept").0, 204);
    assert_eq!(
        http(api, "GET", "/kv/example", ""),
        (200, "kept".to_string())
    );
    let socket = notes.published("web", 9100);
    assert_eq!(upgrade(socket, "/socket"), 101);
    assert_eq!(upgrade(socket, "/ws/mcp"), 404);

    let api = solo.published("echo", 7000);
    let (status, body) = http(api, "GET", "/health", "");
    assert_eq!(status, 200, "{body}");
    let health = json(&body);
    assert_eq!(health["status"], "ok", "{health}");
    assert!(health.get("redis").is_none(), "no store: {health}");
    assert_eq!(health["api_key_present"], false);
    assert_eq!(http(api, "GET", "/kv/example", "").0, 503);
    let stream = solo.published("echo", 7100);
    assert_eq!(upgrade(stream, "/stream"), 101);
}

/// `harness init` on one example's compose file, then `harness run` on the task it wrote:
/// no edit in between.
fn init_then_run(example: &'static str) -> Result<(), String> {
    let ws = Workspace::new(&format!("init_{example}"));
    let task = ws.dir.path().join(format!("{example}_init.md"));
    let init = harness(&ws)
        .arg("init")
        .arg("--config")
        .arg(example_dir(example).join("compose.yml"))
        .arg("--task")
        .arg(&task)
        .output()
        .map_err(|e| e.to_string())?;
    if !init.status.success() || !said(&init).contains("nothing left to fill in") {
        return Err(format!(
            "init: exit {:?}\n{}",
            init.status.code(),
            said(&init)
        ));
    }
    let run = harness(&ws)
        .arg("run")
        .arg("--task")
        .arg(&task)
        .output()
        .map_err(|e| e.to_string())?;
    if run.status.code() != Some(0) {
        let written = std::fs::read_to_string(&task).unwrap_or_default();
        return Err(format!(
            "run: exit {:?}\n{}\n--- task ---\n{written}",
            run.status.code(),
            said(&run)
        ));
    }
    let left = ws.leftovers();
    if !left.is_empty() {
        return Err(format!("left behind: {left:?}"));
    }
    Ok(())
}

#[test]
fn init_on_each_example_writes_a_task_whose_run_passes() {
    if !engine_ready("init_on_each_example_writes_a_task_whose_run_passes") {
        return;
    }
    let jobs = EXAMPLES
        .iter()
        .map(|&example| {
            let job = move || init_then_run(example);
            (example.to_string(), Box::new(job) as Job)
        })
        .collect();
    run_batched(jobs, EXAMPLES.len());
}
