//! Drives the built binary as Docker would: subcommands, env, signals.
mod common;

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

use common::*;
use serde_json::json;

const BIN: &str = env!("CARGO_BIN_EXE_executor");

fn run(args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(BIN)
        .args(args)
        .env_clear()
        .envs(env.iter().copied())
        .output()
        .unwrap()
}

#[test]
fn version_flag_prints_version() {
    let output = run(&["--version"], &[]);
    assert!(output.status.success());
    assert_eq!(
        String::from_utf8_lossy(&output.stdout).trim(),
        format!("executor {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn unknown_argument_is_a_usage_error() {
    let output = run(&["serve", "--now"], &[]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("usage: executor"));
}

#[test]
fn invalid_config_exits_1_with_a_reason() {
    let output = run(&[], &[("API_PORT", "eighty")]);
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("API_PORT"));
}

#[tokio::test]
async fn healthcheck_passes_against_a_running_service() {
    let fixture = RedisFixture::start();
    let service = Service::start(test_config(&fixture.redis.url())).await;
    let port = service.running.api_addr.port().to_string();

    let output = within(
        WAIT,
        tokio::task::spawn_blocking(move || run(&["healthcheck"], &[("API_PORT", &port)])),
    )
    .await
    .unwrap();

    assert!(output.status.success(), "{output:?}");
    service.shutdown().await;
}

#[tokio::test]
async fn healthcheck_probes_the_health_path_the_service_serves() {
    let fixture = RedisFixture::start();
    let config = executor::Config {
        paths: executor::routes::Paths {
            health: "/healthz".to_owned(),
            ..Default::default()
        },
        ..test_config(&fixture.redis.url())
    };
    let service = Service::start(config).await;
    let port = service.running.api_addr.port().to_string();

    let (moved, default) = within(
        WAIT,
        tokio::task::spawn_blocking(move || {
            (
                run(
                    &["healthcheck"],
                    &[("API_PORT", &port), ("HEALTH_PATH", "/healthz")],
                ),
                run(&["healthcheck"], &[("API_PORT", &port)]),
            )
        }),
    )
    .await
    .unwrap();

    assert!(moved.status.success(), "{moved:?}");
    // Without the setting it probes /health, which this service does not serve.
    assert_eq!(default.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&default.stderr);
    assert!(
        stderr.contains("GET /health answered") && stderr.contains("404"),
        "{stderr}"
    );
    service.shutdown().await;
}

#[test]
fn healthcheck_fails_against_a_closed_port() {
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };

    let started = Instant::now();
    let output = run(&["healthcheck"], &[("API_PORT", &port.to_string())]);

    assert_eq!(output.status.code(), Some(1));
    assert!(started.elapsed() < Duration::from_secs(5));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("healthcheck failed"), "{stderr}");
}

/// The spawned service; killed on drop so a failing test leaves no process.
struct Spawned {
    child: Child,
    lines: Receiver<String>,
    seen: Vec<String>,
}

impl Spawned {
    fn start(redis_url: &str, extra_env: &[(&str, &str)]) -> Self {
        let mut child = Command::new(BIN)
            .env_clear()
            .envs([
                ("API_PORT", "0"),
                ("WEBSOCKET_PORT", "0"),
                ("BIND_ADDR", "127.0.0.1"),
                ("REDIS_URL", redis_url),
                ("LOG_LEVEL", "INFO"),
            ])
            .envs(extra_env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Self {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    fn wait_for_line(&mut self, needle: &str) -> String {
        let deadline = Instant::now() + WAIT;
        if let Some(line) = self.seen.iter().find(|l| l.contains(needle)) {
            return line.clone();
        }
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = self
                .lines
                .recv_timeout(left)
                .unwrap_or_else(|e| panic!("no line with {needle:?} ({e}); got {:?}", self.seen));
            self.seen.push(line.clone());
            if line.contains(needle) {
                return line;
            }
        }
    }

    /// Address printed by the "listening" log line for `field` (api/websocket).
    fn addr(&mut self, field: &str) -> String {
        let line = self.wait_for_line("listening");
        let prefix = format!("{field}=");
        line.split_whitespace()
            .find_map(|word| word.strip_prefix(&prefix))
            .unwrap_or_else(|| panic!("no {field}= in {line}"))
            .to_owned()
    }

    fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.child.id().to_string())
            .status()
            .unwrap();
        assert!(status.success());
    }

    fn wait_exit(&mut self, limit: Duration) -> i32 {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code().expect("exited by a signal, not by itself");
            }
            assert!(Instant::now() < deadline, "service did not exit in time");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Every stdout line, including those after exit.
    fn all_output(&mut self) -> String {
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(2)) {
            self.seen.push(line);
        }
        self.seen.join("\n")
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn sigterm_exits_zero_and_logs_never_contain_the_key() {
    const SECRET: &str = "sk-ant-binary-secret-456";
    let fixture = RedisFixture::start();
    let mut service = Spawned::start(
        &fixture.redis.url(),
        &[
            ("ANTHROPIC_API_KEY", SECRET),
            ("EXECUTION_UUID", "bin-run-42"),
        ],
    );
    let api = service.addr("api");
    let (status, body) = get_json(&format!("http://{api}/health")).await;
    assert_eq!((status, &body["status"]), (200, &json!("ok")));

    service.signal("TERM");

    assert_eq!(service.wait_exit(Duration::from_secs(8)), 0);
    let output = service.all_output();
    assert!(output.contains("shutting down"), "{output}");
    assert!(output.contains("bin-run-42"), "{output}");
    assert!(!output.contains("not set"), "{output}");
    assert!(!output.contains(SECRET), "{output}");
}

#[tokio::test]
async fn sigint_also_exits_zero() {
    let fixture = RedisFixture::start();
    let mut service = Spawned::start(&fixture.redis.url(), &[]);
    service.addr("api");

    service.signal("INT");

    assert_eq!(service.wait_exit(Duration::from_secs(8)), 0);
}

#[tokio::test]
async fn sigterm_waits_for_an_inflight_stream() {
    let fixture = RedisFixture::start();
    let mut service = Spawned::start(&fixture.redis.url(), &[]);
    let ws_addr = service.addr("websocket");
    let mut ws = ws_connect(&format!("ws://{ws_addr}/ws/mcp")).await;
    let request = json!({"jsonrpc": "2.0", "id": 1, "method": "execute",
        "params": {"command": "stream", "chunks": 10, "delay_ms": 100}});
    ws_send(&mut ws, &request.to_string()).await;
    assert_eq!(ws_expect(&mut ws).await["params"]["seq"], 0);

    service.signal("TERM");

    for seq in 1..10 {
        assert_eq!(ws_expect(&mut ws).await["params"]["seq"], seq);
    }
    assert_eq!(ws_expect(&mut ws).await["result"]["recorded"], true);
    assert_eq!(service.wait_exit(Duration::from_secs(8)), 0);
    let output = service.all_output();
    let warnings = output
        .lines()
        .filter(|l| l.contains("ANTHROPIC_API_KEY not set"))
        .count();
    assert_eq!(warnings, 1, "{output}");
    assert!(output.contains("WARN"), "{output}");
}

#[tokio::test]
async fn the_warning_names_the_key_variable_api_key_env_names() {
    let fixture = RedisFixture::start();
    let mut service = Spawned::start(&fixture.redis.url(), &[("API_KEY_ENV", "OPENAI_API_KEY")]);
    service.addr("api");
    service.signal("TERM");

    assert_eq!(service.wait_exit(Duration::from_secs(8)), 0);
    let output = service.all_output();
    assert!(output.contains("OPENAI_API_KEY not set"), "{output}");
    assert!(!output.contains("ANTHROPIC_API_KEY"), "{output}");
}
