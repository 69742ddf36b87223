use std::path::{Path, PathBuf};

use super::*;
use crate::compose::ComposeFile;
use crate::task::Prompt;

const HISTORY: &str = "- **Evolution History**:\n  | Version | Change & Reason | Result | UUID |\n  | :------ | :-------------- | :----- | :--- |\n";
const TASK: &str = "prompts/docker_compose_dynamic.md";
/// harness.toml's `protocol`: the block for this project's prompts without one.
const DEFAULT: &str = "docker/protocol.yml";

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
    ProtocolSpec::of_prompt(&prompt, &own(&prompt), None)
}

const CONFIG: &str = "services:\n  app:\n    image: a\n    ports: [\"127.0.0.1::8000\", \"127.0.0.1::9000/tcp\"]\n  db:\n    image: b\n";
const BLOCK: &str = "apps:\n  - service: app\n    http:\n      - {port: 8000, path: /health}\n    websocket:\n      - {port: 9000, path: /ws}\n";

/// The error, its line, and the line it should name (first line of `needle` in `block`).
fn error_at(block: &str, needle: &str) -> (SpecError, usize) {
    let (prompt, first) = prompt_with(CONFIG, block);
    let err = ProtocolSpec::of_prompt(&prompt, &own(&prompt), None).expect_err("rejected");
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

/// The shipped task's text with its protocol block cut out.
fn without_block(text: &str) -> String {
    let start = text.find("```harness-protocol\n").expect("block");
    let end = start + text[start..].find("\n```\n").expect("closed") + "\n```\n".len();
    format!("{}{}", &text[..start], &text[end..])
}

#[test]
fn the_project_s_default_block_is_the_shipped_task_s() {
    let prompt = Prompt::load(Path::new(TASK)).expect("shipped task loads");
    let spec = ProtocolSpec::of_prompt(&prompt, &own(&prompt), None).expect("valid");
    let bare = Prompt::parse(PathBuf::from(TASK), without_block(prompt.text())).expect("parses");
    assert!(bare.protocol_block().is_none());
    let default = ProtocolSpec::of_prompt(&bare, &own(&bare), Some(Path::new(DEFAULT)))
        .expect("the project's default fits the shipped config");
    assert_eq!(spec.from_project(), None);
    assert_eq!(default.from_project(), Some(Path::new(DEFAULT)));
    assert_eq!(spec.file(), default.file());
}

#[test]
fn the_schema_round_trips_through_yaml() {
    let prompt = Prompt::load(Path::new(TASK)).expect("shipped task loads");
    let spec = ProtocolSpec::of_prompt(&prompt, &own(&prompt), None).expect("valid");
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
fn a_prompt_without_a_block_gets_the_project_s_default_checked_or_a_way_to_get_one() {
    let text = without_block(prompt_with(CONFIG, BLOCK).0.text());
    let prompt = Prompt::parse(PathBuf::from("tasks/t.md"), text).expect("parses");
    let dir = tempfile::tempdir().expect("tempdir");
    let default = dir.path().join("protocol.yml");

    let none = ProtocolSpec::of_prompt(&prompt, &own(&prompt), None).expect_err("no block");
    assert_eq!(
        (none.path.as_path(), none.line),
        (Path::new("tasks/t.md"), prompt.config_line())
    );
    let said = none.to_string();
    assert!(
        said.contains("harness init") && said.contains("protocol = "),
        "{said}"
    );

    let missing = ProtocolSpec::of_prompt(&prompt, &own(&prompt), Some(&default));
    let said = missing.expect_err("no file").to_string();
    assert!(
        said.starts_with(&format!("{}:1: ", default.display())),
        "{said}"
    );
    assert!(said.contains("harness.toml"), "{said}");

    std::fs::write(&default, format!("# the project's\n{BLOCK}")).expect("write");
    let spec = ProtocolSpec::of_prompt(&prompt, &own(&prompt), Some(&default)).expect("fits");
    assert_eq!(spec.from_project(), Some(default.as_path()));
    assert_eq!(spec.file().apps[0].service, "app");

    // A default written for another stack is named at its own line, like a block.
    std::fs::write(
        &default,
        format!("# the project's\n{}", BLOCK.replace("app\n", "web\n")),
    )
    .expect("write");
    let err = ProtocolSpec::of_prompt(&prompt, &own(&prompt), Some(&default)).expect_err("web");
    assert_eq!(
        (err.path.as_path(), err.line),
        (default.as_path(), 3),
        "{err}"
    );
    assert!(err.to_string().contains("`web`"), "{err}");
}

#[test]
fn instances_are_one_to_sixteen_named_at_their_line() {
    for n in [0, 17, 100_000] {
        let block = format!("{BLOCK}instances: {n}\n");
        let text = message_at(&block, "instances:");
        assert!(
            text.contains(&format!("`instances: {n}`")) && text.contains("1 to 16"),
            "{text}"
        );
    }
    assert_eq!(
        spec_of(CONFIG, &format!("{BLOCK}instances: 16\n"))
            .expect("16")
            .file()
            .instances,
        16
    );
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

#[test]
fn lint_errors_raise_a_rule_for_the_gate_and_an_unknown_one_is_named_at_its_line() {
    let config = "services:\n  app:\n    image: a\n    ports: [\"127.0.0.1::8000\", \"127.0.0.1::9000/tcp\"]\n    healthcheck:\n      test: [CMD, check]\n      interval: 30s\n";
    let findings = |spec: &ProtocolSpec| {
        let file = ComposeFile::parse("t", config, 1).expect("parses");
        crate::lint::gate(&file, &spec.file().gate())
            .into_iter()
            .filter(|f| f.rule == "slow-healthcheck")
            .map(|f| f.level)
            .collect::<Vec<_>>()
    };
    let plain = spec_of(config, BLOCK).expect("valid");
    assert_eq!(findings(&plain), vec![crate::lint::Level::Warn]);
    let raised = spec_of(
        config,
        &format!("{BLOCK}lint:\n  errors: [slow-healthcheck]\n"),
    )
    .expect("valid");
    assert_eq!(findings(&raised), vec![crate::lint::Level::Error]);
    // Written back (init, export) only when it says something.
    let text = serde_yaml_ng::to_string(plain.file()).expect("serializes");
    assert!(!text.contains("lint"), "{text}");

    let block =
        format!("{BLOCK}lint:\n  errors:\n    - slow-healthcheck\n    - slow-healthchecks\n");
    let text = message_at(&block, "slow-healthchecks");
    assert!(
        text.contains("`slow-healthchecks`") && text.contains("harness lint --rules"),
        "{text}"
    );
    let text = message_at(&format!("{BLOCK}lint:\n  warn: [x]\n"), "warn:");
    assert!(text.contains("unknown field `warn`"), "{text}");
}
