use std::path::{Path, PathBuf};

use super::reference::REFERENCE;
use super::*;
use crate::compose::ComposeFile;
use crate::task::Prompt;

const HISTORY: &str = "- **Evolution History**:\n  | Version | Change & Reason | Result | UUID |\n  | :------ | :-------------- | :----- | :--- |\n";
const TASK: &str = "prompts/docker_compose_dynamic.md";

/// A prompt whose candidate is `config` and whose protocol block is `block`; the block's
/// first content line is returned too.
fn prompt_with(config: &str, block: &str) -> (Prompt, usize) {
    let text = format!(
        "# t\n- **Success/Failure Ratio**: 0:0\n- **Last Updated**: x\n- **Last UUID**: `None`\n{HISTORY}\n```yaml\n{config}```\n\n```harness-protocol\n{block}```\n"
    );
    let first = text
        .lines()
        .position(|l| l == "```harness-protocol")
        .unwrap_or(0)
        + 2;
    let prompt = Prompt::parse(PathBuf::from("tasks/t.md"), text).expect("prompt parses");
    (prompt, first)
}

fn own(prompt: &Prompt) -> ComposeFile {
    ComposeFile::parse("t", prompt.config_yaml(), prompt.config_line()).expect("config parses")
}

fn spec_of(config: &str, block: &str) -> Result<ProtocolSpec, SpecError> {
    let (prompt, _) = prompt_with(config, block);
    ProtocolSpec::of_prompt(&prompt, &own(&prompt))
}

const CONFIG: &str = "services:\n  app:\n    image: a\n    ports: [\"127.0.0.1::8000\", \"127.0.0.1::9000/tcp\"]\n  db:\n    image: b\n";
const BLOCK: &str = "apps:\n  - service: app\n    http:\n      - {port: 8000, path: /health}\n    websocket:\n      - {port: 9000, path: /ws}\n";

/// The error, its line, and the line it should name (first line of `needle` in `block`).
fn error_at(block: &str, needle: &str) -> (SpecError, usize) {
    let (prompt, first) = prompt_with(CONFIG, block);
    let err = ProtocolSpec::of_prompt(&prompt, &own(&prompt)).expect_err("rejected");
    let offset = block
        .lines()
        .position(|l| l.contains(needle))
        .expect("needle");
    (err, first + offset)
}

/// The error's text, after checking it names the line of `needle`.
fn message_at(block: &str, needle: &str) -> String {
    let (err, line) = error_at(block, needle);
    assert_eq!(err.line, line, "{err}");
    err.to_string()
}

#[test]
fn the_reference_prompt_declares_exactly_the_fallback() {
    let prompt = Prompt::load(Path::new(TASK)).expect("shipped task loads");
    let spec = ProtocolSpec::of_prompt(&prompt, &own(&prompt)).expect("valid against its config");
    let fallback = ProtocolSpec::reference().expect("the fallback parses");
    assert!(spec.declared() && !fallback.declared());
    assert_eq!(spec.file(), fallback.file());
    let (block, _) = prompt.protocol_block().expect("block");
    assert_eq!(
        block, REFERENCE,
        "the fallback is the reference block verbatim"
    );
    let app = &spec.file().apps[0];
    assert_eq!(
        (app.http[0].port, app.http[0].path.as_str()),
        (8000, "/health")
    );
    let ws = &app.websocket[0];
    assert_eq!(
        (ws.port, ws.path.as_str(), ws.complete.chunks),
        (8003, "/ws/mcp", 5)
    );
}

#[test]
fn the_schema_round_trips_through_yaml() {
    let spec = ProtocolSpec::reference().expect("parses");
    let text = serde_yaml_ng::to_string(spec.file()).expect("serializes");
    let back = ProtocolSpec::parse(Path::new("t.md"), &text, 1).expect("reads back");
    assert_eq!(back.file(), spec.file());
    assert!(matches!(
        back.file().dependencies[0].check,
        DependencyCheck::Exec { ref command, .. } if command == &["redis-cli", "ping"]
    ));
}

#[test]
fn a_minimal_block_gets_the_defaults() {
    let spec = spec_of(CONFIG, BLOCK).expect("valid");
    assert_eq!(spec.file().apps[0].http[0].status, 200);
    assert_eq!(spec.file().instances, 2);
    assert!(spec.file().keys.is_empty() && spec.file().restart.recover.is_empty());
}

#[test]
fn a_task_without_a_block_gets_the_reference_unchecked() {
    let text = "- **Success/Failure Ratio**: 0:0\n- **Last Updated**: x\n- **Last UUID**: `None`\n- **Evolution History**:\n  | Version | Change & Reason | Result | UUID |\n  | :------ | :-------------- | :----- | :--- |\n```yaml\nservices:\n  web:\n    image: nginx\n```\n";
    let prompt = Prompt::parse(PathBuf::from("t.md"), text.into()).expect("parses");
    let spec = ProtocolSpec::of_prompt(&prompt, &own(&prompt)).expect("fallback");
    assert!(!spec.declared());
    assert_eq!(spec.file().apps[0].http[0].port, 8000);
}

#[test]
fn an_unknown_key_is_named_at_its_line() {
    let block = BLOCK.replace("    websocket:", "    websockets:");
    let text = message_at(&block, "websockets:");
    let line = error_at(&block, "websockets:").1;
    assert!(text.starts_with(&format!("tasks/t.md:{line}: ")), "{text}");
    assert!(
        text.contains("unknown field `websockets`") && text.contains("README"),
        "{text}"
    );
}

#[test]
fn broken_yaml_is_named_at_its_line() {
    let block = BLOCK.replace("{port: 9000, path: /ws}", "{port: 9000, path: /ws");
    let (err, line) = error_at(&block, "/ws");
    assert!(
        matches!(err.problem, SpecProblem::Malformed { .. }),
        "{err}"
    );
    assert!(err.line >= line, "{err}");
}

#[test]
fn a_block_without_endpoints_says_what_to_add() {
    let block = "apps:\n  - service: app\n    websocket:\n      - {port: 8000, path: /ws}\n";
    let (err, line) = error_at(block, "apps:");
    assert_eq!((err.line, &err.problem), (line, &SpecProblem::NoEndpoints));
    assert!(err.to_string().contains("add one under `apps[0]`"), "{err}");
    let http_only = "apps:\n  - service: app\n    http:\n      - {port: 8000, path: /health}\n";
    let spec = spec_of(CONFIG, http_only).expect("a WebSocket endpoint is optional");
    assert!(spec.file().apps[0].websocket.is_empty());
}

#[test]
fn a_service_the_file_lacks_is_named_with_the_ones_it_has() {
    let block = format!("{BLOCK}restart:\n  recover: [app, worker]\n");
    let text = message_at(&block, "recover:");
    assert!(
        text.contains("`restart.recover[1]` names service `worker`"),
        "{text}"
    );
    assert!(text.contains("name one of its services: app, db"), "{text}");

    let block = BLOCK.replace("service: app", "service: api");
    let text = message_at(&block, "service: api");
    assert!(
        text.contains("`apps[0].service` names service `api`"),
        "{text}"
    );
}

#[test]
fn a_port_the_service_does_not_publish_is_named_with_the_fix() {
    let block = BLOCK.replace("port: 9000", "port: 8003");
    let text = message_at(&block, "port: 8003");
    assert!(
        text.contains(
            "`apps[0].websocket[0].port`: service `app` publishes no container port 8003"
        ),
        "{text}"
    );
    assert!(
        text.contains("\"127.0.0.1::8003\"") && text.contains("(8000, 9000)"),
        "{text}"
    );

    let block = format!(
        "{BLOCK}persistence:\n  - service: db\n    through: {{service: db, port: 8000, path: /kv}}\n"
    );
    let text = message_at(&block, "through:");
    assert!(text.contains("`persistence[0].through.port`"), "{text}");
    let (err, _) = error_at(&block, "persistence:");
    assert!(err.to_string().contains("service `db` publishes no container port 8000 — add a `ports:` entry for it (e.g. `\"127.0.0.1::8000\"`), or name a port the service publishes (it publishes none)"), "{err}");
}

#[test]
fn persistence_is_through_an_app_or_by_exec_never_both() {
    let block = format!(
        "{BLOCK}persistence:\n  - service: db\n    exec:\n      write: [redis-cli, SET, \"{{key}}\", \"{{value}}\"]\n      read: [redis-cli, GET, \"{{key}}\"]\n"
    );
    let spec = spec_of(CONFIG, &block).expect("exec in the store is valid");
    let exec = spec.file().persistence[0].exec.as_ref().expect("exec");
    assert_eq!(
        PersistExec::fill(&exec.write, "k", "v"),
        ["redis-cli", "SET", "k", "v"]
    );

    let both = format!(
        "{BLOCK}persistence:\n  - service: db\n    through: {{service: app, port: 8000, path: /kv}}\n    exec: {{write: [w, \"{{value}}\"], read: [r, \"{{key}}\"]}}\n"
    );
    let text = message_at(&both, "- service: db");
    assert!(
        text.contains("`persistence[0]` needs exactly one of `through:")
            && text.ends_with("it has both"),
        "{text}"
    );
    let neither = format!("{BLOCK}persistence:\n  - service: db\n");
    assert!(message_at(&neither, "- service: db").ends_with("it has neither"));

    let no_value = format!(
        "{BLOCK}persistence:\n  - service: db\n    exec:\n      write: [redis-cli, SET, \"{{key}}\", x]\n      read: [redis-cli, GET, \"{{key}}\"]\n"
    );
    let text = message_at(&no_value, "write:");
    assert!(
        text.contains("`persistence[0].exec.write` never mentions `{value}`"),
        "{text}"
    );
}

#[test]
fn a_reported_port_no_app_publishes_names_the_apps_and_their_ports() {
    let block = format!(
        "{BLOCK}keys:\n  - env: K\n    reported: {{port: 7000, path: /health, pointer: /k}}\n"
    );
    let text = message_at(&block, "reported:");
    assert!(
        text.contains("`keys[0].reported.port`: no app publishes container port 7000")
            && text.contains("(app publishes 8000, 9000)"),
        "{text}"
    );
    let block = format!(
        "{BLOCK}dependencies:\n  - service: db\n    check: {{tcp: {{port: 5432}}}}\n    reported: {{port: 9000, path: /health, pointer: /db/ok}}\n"
    );
    spec_of(CONFIG, &block).expect("9000 is published by app");
}
