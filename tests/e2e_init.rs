//! `harness init` on the reference stack's compose file, on the real engine: it refuses to
//! overwrite a task, deploys the file once, writes a task whose protocol names what the
//! deployment answered, leaves nothing on the engine and records nothing.

mod common;

use std::path::Path;
use std::process::Output;

use common::{REPO, Workspace, engine_available, ensure_images};
use harness::task::Prompt;
use serde_json::Value;

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// `harness init` on the reference compose file, run without the stack's API key.
fn init(ws: &Workspace, extra: &[&str]) -> Output {
    let config = Path::new(REPO).join("docker/docker-compose.yml");
    ws.harness()
        .env_remove("ANTHROPIC_API_KEY")
        .arg("init")
        .arg("--config")
        .arg(config)
        .arg("--task")
        .arg(ws.task())
        .args(extra)
        .output()
        .expect("spawn harness")
}

#[test]
fn init_writes_the_reference_stack_task_from_one_deployment() {
    let test = "init_writes_the_reference_stack_task_from_one_deployment";
    if !engine_available(test) {
        return;
    }
    ensure_images();
    let ws = Workspace::new("it_init");

    let refused = init(&ws, &[]);
    assert_eq!(refused.status.code(), Some(2), "{}", text(&refused));
    assert!(
        text(&refused).contains("already exists — pass --force"),
        "{}",
        text(&refused)
    );

    let out = init(&ws, &["--force", "--json"]);
    assert!(out.status.success(), "{}", text(&out));
    let doc: Value = serde_json::from_slice(&out.stdout).expect("--json prints one document");
    assert_eq!(doc["deployed"], Value::Bool(true), "{doc:#}");
    let app = &doc["protocol"]["apps"][0];
    assert_eq!(app["service"], "cc_execute", "{doc:#}");
    let http = &app["http"][0];
    assert_eq!(
        (&http["port"], &http["path"], &http["status"]),
        (
            &Value::from(8000),
            &Value::from("/health"),
            &Value::from(200)
        ),
        "{doc:#}"
    );
    assert_eq!(http["json"][0]["pointer"], "/status", "{doc:#}");
    assert_eq!(
        app["websocket"][0]["path"], "/ws/mcp",
        "the path the app logs on start: {doc:#}"
    );
    let dep = &doc["protocol"]["dependencies"][0];
    assert_eq!(dep["service"], "redis");
    assert_eq!(dep["check"]["exec"]["command"][0], "redis-cli", "{doc:#}");
    assert_eq!(
        dep["check"]["exec"]["expect"], "PONG",
        "its one-word answer: {doc:#}"
    );
    assert_eq!(dep["reported"]["pointer"], "/redis/connected", "{doc:#}");
    let key = &doc["protocol"]["keys"][0];
    assert_eq!(
        (&key["env"], &key["required"]),
        (&Value::from("ANTHROPIC_API_KEY"), &Value::Bool(false))
    );
    assert_eq!(key["reported"]["pointer"], "/api_key_present", "{doc:#}");
    assert_eq!(key["warns"], true, "the app warned without it: {doc:#}");
    let persistence = &doc["protocol"]["persistence"][0];
    assert_eq!(
        (&persistence["kind"], &persistence["service"]),
        (&Value::from("exec"), &Value::from("redis")),
        "its commands wrote and read back in the trial: {doc:#}"
    );
    assert_eq!(doc["protocol"]["recover"][0], "cc_execute");

    // The task reads back with the file verbatim as its candidate.
    let prompt = Prompt::load(&ws.task()).expect("the written task loads");
    let file = std::fs::read_to_string(Path::new(REPO).join("docker/docker-compose.yml"))
        .expect("reference compose file");
    assert_eq!(prompt.config_yaml(), file);
    let (block, _) = prompt.protocol_block().expect("a protocol block");
    assert!(block.contains("path: /ws/mcp"), "{block}");

    // Nothing of the trial deployment is left, and nothing was recorded.
    assert!(
        ws.leftovers().is_empty(),
        "left on the engine: {:?}",
        ws.leftovers()
    );
    assert!(!ws.runs().exists(), "init records no run");
    assert!(!ws.db().exists(), "init opens no scoreboard");
}

/// The task init writes runs with no edit. Every step reads its part of the block only
/// once the steps branch (issue 18, helper A) lands, and the block's `persistence: exec`
/// shape is that branch's; until then `harness run` refuses the block.
#[test]
fn a_task_written_by_init_passes_harness_run() {
    let test = "a_task_written_by_init_passes_harness_run";
    if !engine_available(test) {
        return;
    }
    ensure_images();
    let ws = Workspace::new("it_init_run");
    let out = init(&ws, &["--force"]);
    assert!(out.status.success(), "{}", text(&out));
    run_passes(&ws);
}

/// The same for a stack with other names, ports and variables than the reference one.
#[test]
fn a_task_written_by_init_for_another_stack_passes_harness_run() {
    let test = "a_task_written_by_init_for_another_stack_passes_harness_run";
    if !engine_available(test) {
        return;
    }
    ensure_images();
    let ws = Workspace::new("it_init_run_other");
    let config = ws.dir.path().join("other.yml");
    std::fs::write(&config, OTHER).expect("write config");
    let out = ws
        .harness()
        .arg("init")
        .arg("--config")
        .arg(&config)
        .arg("--task")
        .arg(ws.task())
        .arg("--force")
        .output()
        .expect("spawn harness");
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("nothing left to fill in"),
        "{}",
        text(&out)
    );
    run_passes(&ws);
}

/// Another team's stack built from the reference images: its own names, ports and key.
const OTHER: &str = "services:\n  cache:\n    image: harness/redis:local\n    restart: unless-stopped\n    healthcheck:\n      test: [CMD, redis-cli, ping]\n      interval: 1s\n      retries: 30\n    volumes: [cache_data:/data]\n  api:\n    image: harness/executor:local\n    restart: unless-stopped\n    environment:\n      REDIS_URL: redis://cache:6379\n      API_PORT: \"9000\"\n      WEBSOCKET_PORT: \"9003\"\n      SEARCH_TOKEN: ${SEARCH_TOKEN:-}\n    ports: [\"127.0.0.1::9000\", \"127.0.0.1::9003\"]\n    depends_on:\n      cache: {condition: service_healthy}\n    healthcheck:\n      test: [CMD, executor, healthcheck]\n      interval: 1s\n      retries: 30\nvolumes:\n  cache_data:\n";

fn run_passes(ws: &Workspace) {
    let run = ws
        .harness()
        .arg("run")
        .arg("--task")
        .arg(ws.task())
        .output()
        .expect("spawn harness");
    assert_eq!(run.status.code(), Some(0), "{}", text(&run));
    assert!(
        ws.leftovers().is_empty(),
        "left on the engine: {:?}",
        ws.leftovers()
    );
}

/// A stack unlike the reference one, read without deploying: what the file says is
/// written, what only a deployment could say is a placeholder, listed on stdout.
#[test]
fn init_without_deploy_writes_what_the_file_says_and_lists_the_rest() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("shop.yml");
    std::fs::write(
        &config,
        "services:\n  web:\n    image: shop/web:1\n    ports: [\"127.0.0.1::8080\"]\n    environment:\n      CACHE_URL: redis://cache:6379\n      STRIPE_API_KEY: ${STRIPE_API_KEY:-}\n    healthcheck:\n      test: [CMD-SHELL, \"wget -qO- http://localhost:8080/healthz\"]\n  cache:\n    image: redis:7\n    volumes: [cache:/data]\nvolumes:\n  cache:\n",
    )
    .expect("write config");
    let task = dir.path().join("new/shop.md");
    let out = common::harness_cmd()
        .arg("init")
        .arg("--config")
        .arg(&config)
        .arg("--task")
        .arg(&task)
        .arg("--no-deploy")
        .output()
        .expect("spawn harness");
    let shown = text(&out);
    assert!(out.status.success(), "{shown}");
    assert!(shown.contains("inferred from the file alone"), "{shown}");
    assert!(shown.contains("apps[web].websocket"), "{shown}");
    assert!(shown.contains("persistence[cache]"), "{shown}");
    let prompt = Prompt::load(&task).expect("the written task loads");
    let (block, _) = prompt.protocol_block().expect("a protocol block");
    assert!(block.contains("path: /healthz"), "{block}");
    assert!(block.contains("tcp: {port: 6379}"), "{block}");
    assert!(
        block.contains("- env: STRIPE_API_KEY\n    required: false"),
        "{block}"
    );
    assert!(
        block.contains("# TODO(harness init): apps[web].websocket"),
        "{block}"
    );
}

#[test]
fn init_refuses_a_bad_compose_file_and_writes_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("bad.yml");
    std::fs::write(&config, "services:\n  web: [\n").expect("write config");
    let task = dir.path().join("t.md");
    let out = common::harness_cmd()
        .args(["init", "--no-deploy", "--config"])
        .arg(&config)
        .arg("--task")
        .arg(&task)
        .output()
        .expect("spawn harness");
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("{}:", config.display())) && err.contains("fix the syntax"),
        "{err}"
    );
    assert!(!task.exists());
    let missing = common::harness_cmd()
        .args([
            "init",
            "--no-deploy",
            "--config",
            "/nonexistent/compose.yml",
            "--task",
        ])
        .arg(&task)
        .output()
        .expect("spawn harness");
    assert_eq!(missing.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&missing.stderr)
            .contains("/nonexistent/compose.yml: cannot read the compose file"),
        "{}",
        text(&missing)
    );
}

/// A stack that cannot come up: init says why and how to go on, leaves nothing on the
/// engine and writes nothing.
#[test]
fn init_on_a_stack_that_does_not_come_up_says_why_and_writes_nothing() {
    let test = "init_on_a_stack_that_does_not_come_up_says_why_and_writes_nothing";
    if !engine_available(test) {
        return;
    }
    let ws = Workspace::new("it_init_bad");
    let config = ws.dir.path().join("broken.yml");
    std::fs::write(
        &config,
        "services:\n  web:\n    image: harness/not-built-anywhere:local\n    ports: [\"127.0.0.1::8080\"]\n",
    )
    .expect("write config");
    let before = std::fs::read_to_string(ws.task()).expect("task");
    let out = ws
        .harness()
        .arg("init")
        .arg("--config")
        .arg(&config)
        .arg("--task")
        .arg(ws.task())
        .arg("--force")
        .output()
        .expect("spawn harness");
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("did not come up") && err.contains("--no-deploy"),
        "{err}"
    );
    assert_eq!(std::fs::read_to_string(ws.task()).expect("task"), before);
    assert!(
        ws.leftovers().is_empty(),
        "left on the engine: {:?}",
        ws.leftovers()
    );
}

/// The reference images rearranged as another team's stack: other service names, other
/// ports, the store named for its role. Init finds it all the same.
#[test]
fn init_confirms_a_stack_unlike_the_reference_one() {
    let test = "init_confirms_a_stack_unlike_the_reference_one";
    if !engine_available(test) {
        return;
    }
    ensure_images();
    let ws = Workspace::new("it_init_other");
    let config = ws.dir.path().join("other.yml");
    std::fs::write(
        &config,
        "services:\n  cache:\n    image: harness/redis:local\n    healthcheck:\n      test: [CMD, redis-cli, ping]\n      interval: 1s\n      retries: 30\n  api:\n    image: harness/executor:local\n    environment:\n      REDIS_URL: redis://cache:6379\n      API_PORT: \"9000\"\n      WEBSOCKET_PORT: \"9003\"\n      SEARCH_TOKEN: ${SEARCH_TOKEN:-}\n    ports: [\"9000\", \"127.0.0.1:19003:9003\"]\n    depends_on:\n      cache: {condition: service_healthy}\n    healthcheck:\n      test: [CMD, executor, healthcheck]\n      interval: 1s\n      retries: 30\n",
    )
    .expect("write config");
    let out = ws
        .harness()
        .arg("init")
        .arg("--config")
        .arg(&config)
        .arg("--task")
        .arg(ws.task())
        .args(["--force", "--json"])
        .output()
        .expect("spawn harness");
    assert!(out.status.success(), "{}", text(&out));
    let doc: Value = serde_json::from_slice(&out.stdout).expect("--json prints one document");
    let app = &doc["protocol"]["apps"][0];
    assert_eq!(app["service"], "api", "{doc:#}");
    assert_eq!(app["http"][0]["port"], 9000, "{doc:#}");
    assert_eq!(
        app["websocket"][0]["port"], 9003,
        "a fixed host port in the file is published engine-assigned for the trial: {doc:#}"
    );
    let dep = &doc["protocol"]["dependencies"][0];
    assert_eq!(dep["service"], "cache");
    assert_eq!(
        dep["reported"]["pointer"], "/redis/connected",
        "reported under the scheme the app reaches it by: {doc:#}"
    );
    assert_eq!(doc["protocol"]["keys"][0]["env"], "SEARCH_TOKEN");
    assert_eq!(
        doc["protocol"]["persistence"],
        Value::Array(vec![]),
        "no volume, nothing to persist"
    );
    assert!(doc["gaps"].as_array().is_some_and(Vec::is_empty), "{doc:#}");
    assert!(
        ws.leftovers().is_empty(),
        "left on the engine: {:?}",
        ws.leftovers()
    );
}
