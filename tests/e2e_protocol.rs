//! The protocol against a matrix of configs with one problem each: every fixture must
//! fail exactly the steps its problem should fail, with the signature that names it.

mod common;

use common::{Workspace, engine_available, ensure_images};
use serde_json::Value;

/// Runs a fixture from tests/fixtures/protocol/ and returns the run record.
fn run_fixture(name: &str) -> Option<(Workspace, Value)> {
    if !engine_available(name) {
        return None;
    }
    ensure_images();
    let ws = Workspace::new(&format!("fx_{name}"));
    let config = format!("tests/fixtures/protocol/{name}.yml");
    let run = run_task(&ws, name, &["--config", &config]);
    Some((ws, run))
}

/// The step `name` of `run`'s record.
fn step_of(run: &Value, name: &str) -> Value {
    run["steps"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["name"] == name))
        .cloned()
        .unwrap_or_else(|| panic!("no step {name}: {run:#}"))
}

/// `harness --json run` of the workspace's task with `extra` arguments: the run record.
fn run_task(ws: &Workspace, name: &str, extra: &[&str]) -> Value {
    run_task_keyed(ws, name, extra, None)
}

/// [`run_task`] with the task's optional key set in the harness's environment to `key`.
fn run_task_keyed(ws: &Workspace, name: &str, extra: &[&str], key: Option<&str>) -> Value {
    let mut cmd = ws.harness();
    // The key's absence is part of what is checked; the caller's key must not leak in.
    cmd.env_remove("ANTHROPIC_API_KEY");
    if let Some(key) = key {
        cmd.env("ANTHROPIC_API_KEY", key);
    }
    let out = cmd
        .args(["--json", "run", "--timeout", "60"])
        .args(extra)
        .arg("--task")
        .arg(ws.task())
        .output()
        .expect("spawn harness");
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{name}: stdout is not JSON ({e}): {}",
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// `(step, signature)` of every failing step.
fn failures(run: &Value) -> Vec<(String, String)> {
    run["steps"]
        .as_array()
        .map(|steps| {
            steps
                .iter()
                .filter(|s| s["status"] == "fail")
                .map(|s| {
                    (
                        s["name"].as_str().unwrap_or("").to_string(),
                        s["signature"].as_str().unwrap_or("").to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The fixture's run, once it failed exactly the `expected` steps; `None` when skipped.
fn check(name: &str, expected: &[(&str, &str)]) -> Option<Value> {
    check_allowing(name, expected, &[])
}

/// Like `check`, but the steps in `also` may fail too, with exactly that signature: what
/// another harness running at the same time can legitimately cause.
fn check_allowing(name: &str, expected: &[(&str, &str)], also: &[(&str, &str)]) -> Option<Value> {
    let (ws, run) = run_fixture(name)?;
    let expected: Vec<(String, String)> = expected
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    let found: Vec<(String, String)> = failures(&run)
        .into_iter()
        .filter(|(step, sig)| !also.iter().any(|(a, b)| a == step && b == sig))
        .collect();
    assert_eq!(
        found, expected,
        "{name}: failing steps differ; the run:\n{run:#}"
    );
    assert_eq!(run["metrics"]["success"], expected.is_empty());
    assert_eq!(
        run["steps"].as_array().map(Vec::len),
        Some(11),
        "{name}: all eleven steps reported"
    );
    let shutdown = run["steps"]
        .as_array()
        .and_then(|s| s.last())
        .expect("shutdown");
    assert_eq!(shutdown["name"], "shutdown");
    assert_eq!(
        shutdown["status"], "pass",
        "{name}: shutdown left something: {shutdown:#}"
    );
    assert!(
        ws.leftovers().is_empty(),
        "{name}: left behind {:?}",
        ws.leftovers()
    );
    Some(run)
}

#[test]
fn good_config_passes_all_eleven_steps() {
    check("good", &[]);
}

#[test]
fn hardcoded_port_conflicts_with_the_held_default() {
    // The extra instance of multi_instance binds 8001 again, which fails while another
    // harness (a parallel test) holds the default ports; alone, the step is skipped.
    check_allowing(
        "hardcoded_port",
        &[
            ("lint", "lint_error"),
            ("deploy", "port_conflict"),
            ("port_discovery", "port_conflict"),
            ("missing_key", "port_conflict"),
        ],
        &[("multi_instance", "port_conflict")],
    );
}

#[test]
fn fixed_container_name_blocks_a_second_instance() {
    check(
        "container_name",
        &[
            ("lint", "lint_error"),
            ("missing_key", "name_conflict"),
            ("multi_instance", "name_conflict"),
        ],
    );
}

#[test]
fn fixed_network_name_is_shared_between_instances() {
    check(
        "network_name",
        &[
            ("lint", "lint_error"),
            ("multi_instance", "network_conflict"),
        ],
    );
}

#[test]
fn redis_on_localhost_is_named_as_such() {
    check(
        "redis_localhost",
        &[
            ("lint", "lint_error"),
            ("redis", "redis_localhost"),
            ("persistence", "redis_localhost"),
        ],
    );
}

#[test]
fn a_mandatory_key_stops_compose_without_it() {
    check(
        "required_key",
        &[
            ("lint", "lint_error"),
            ("deploy", "missing_env_fatal"),
            ("missing_key", "missing_env_fatal"),
            ("multi_instance", "missing_env_fatal"),
        ],
    );
}

#[test]
fn a_curl_healthcheck_in_a_scratch_image_is_broken() {
    check(
        "curl_healthcheck",
        &[
            ("deploy", "healthcheck_broken"),
            ("missing_key", "healthcheck_broken"),
            ("multi_instance", "healthcheck_broken"),
        ],
    );
}

#[test]
fn depends_on_without_condition_is_only_a_warning() {
    let Some((_ws, run)) = run_fixture("depends_on_plain") else {
        return;
    };
    assert!(failures(&run).is_empty(), "{run:#}");
    let findings = run["steps"][0]["evidence"]["findings"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(
        findings
            .iter()
            .any(|f| f["rule"] == "depends-on-not-healthy" && f["level"] == "warn"),
        "{findings:#?}"
    );
}

#[test]
fn restart_no_leaves_a_crashed_app_down() {
    check("restart_no", &[("restart", "no_restart")]);
}

#[test]
fn redis_without_a_volume_loses_its_data() {
    let Some(run) = check("redis_no_volume", &[("persistence", "data_lost")]) else {
        return;
    };
    // Misses while the instance was starting again prove nothing: the loss is the read
    // made once every service was ready.
    let again = step_of(&run, "persistence")["evidence"]["up_again"].clone();
    assert_eq!(again["read_first"], false, "{again:#}");
}

#[test]
fn websocket_on_the_wrong_container_port_fails_the_stream() {
    check(
        "ws_wrong_port",
        &[
            ("ws_probe", "ws_protocol"),
            ("multi_instance", "ws_protocol"),
            ("restart", "ws_protocol"),
        ],
    );
}

/// The reference executor on another port, with a task that declares only part of the
/// protocol: what it declares passes, what it does not is skipped as not declared, and
/// the run counts as a success.
#[test]
fn a_task_on_other_ports_passes_what_it_declares() {
    let test = "a_task_on_other_ports_passes_what_it_declares";
    if !engine_available(test) {
        return;
    }
    ensure_images();
    let ws = Workspace::new("fx_other_ports");
    let good = std::fs::read_to_string("tests/fixtures/protocol/good.yml").expect("good.yml");
    let config = good
        .replace("API_PORT: \"8000\"", "API_PORT: \"9000\"")
        .replace("\"127.0.0.1::8000\"", "\"127.0.0.1::9000\"");
    let block = "apps:\n  - service: cc_execute\n    http:\n      - {port: 9000, path: /health, json: [{pointer: /redis/connected, equals: true}]}\n    websocket:\n      - port: 8003\n        path: /ws/mcp\n        request: {method: execute, params: {command: probe, chunks: 3, delay_ms: 1}}\n        complete: {notification: output, chunks: 3}\ndependencies:\n  - service: redis\n    check: {exec: {command: [redis-cli, ping], expect: PONG}}\n    reported: {port: 9000, path: /health, pointer: /redis/connected}\npersistence:\n  - service: redis\n    exec:\n      write: [redis-cli, SET, \"{key}\", \"{value}\"]\n      read: [redis-cli, GET, \"{key}\"]\n";
    let prompt = std::fs::read_to_string(ws.task()).expect("task");
    let (config_at, block_at) = (
        prompt.find("```yaml\n").expect("config") + "```yaml\n".len(),
        prompt.find("```harness-protocol\n").expect("block") + "```harness-protocol\n".len(),
    );
    let config_end = config_at + prompt[config_at..].find("```").expect("end");
    let block_end = block_at + prompt[block_at..].find("```").expect("end");
    let task = format!(
        "{}{config}{}{block}{}",
        &prompt[..config_at],
        &prompt[config_end..block_at],
        &prompt[block_end..]
    );
    std::fs::write(ws.task(), task).expect("write task");
    let run = run_task(&ws, test, &["--no-reaper"]);
    let status = |name: &str| {
        let step = run["steps"]
            .as_array()
            .and_then(|s| s.iter().find(|s| s["name"] == name));
        step.map(|s| (s["status"].clone(), s["skip"].clone()))
            .unwrap_or_default()
    };
    for name in ["missing_key", "restart"] {
        assert_eq!(
            status(name),
            ("skip".into(), "not_declared".into()),
            "{name}: {run:#}"
        );
    }
    for name in [
        "deploy",
        "api_probe",
        "ws_probe",
        "redis",
        "multi_instance",
        "persistence",
        "shutdown",
    ] {
        assert_eq!(status(name).0, "pass", "{name}: {run:#}");
    }
    assert_eq!(run["metrics"]["success"], true, "{run:#}");
    assert!(
        run["partial"].as_array().is_none_or(Vec::is_empty),
        "{run:#}"
    );
    let port = run["deployment"]["api_port"].as_u64().expect("api port");
    let url = &run["steps"][3]["evidence"]["url"];
    assert_eq!(url, &Value::from(format!("http://127.0.0.1:{port}/health")));
    assert!(
        ws.leftovers().is_empty(),
        "left behind {:?}",
        ws.leftovers()
    );
}

/// The instances of a run are isolated, so none waits for another: deploy brings up the
/// pair missing_key checks and the extras of multi_instance with the main one, and the
/// extras multi_instance checked go on to persistence and restart instead of the main one.
#[test]
fn a_run_brings_its_instances_up_together_and_hands_extras_on() {
    let Some((ws, run)) = run_fixture("good") else {
        return;
    };
    assert_eq!(failures(&run), vec![], "the good config passes: {run:#}");
    let step = |name: &str| step_of(&run, name);
    let alongside = step("deploy")["evidence"]["alongside"].clone();
    let for_step = |name: &str| {
        alongside
            .as_array()
            .map(|a| a.iter().filter(|i| i["for"] == name).count())
            .unwrap_or(0)
    };
    // Without the key in the harness's environment the main instance is the key-less one.
    assert_eq!(for_step("missing_key"), 1, "{alongside:#}");
    let keys = step("missing_key")["evidence"].clone();
    assert_eq!(
        keys["key_unset"]["project"], run["deployment"]["instance_id"],
        "{keys:#}"
    );
    assert_eq!(keys["key_unset"]["api_key_present"], false, "{keys:#}");
    assert!(keys["teardown"][0]["kept"].is_string(), "{keys:#}");
    let again = step("persistence")["evidence"]["up_again"].clone();
    assert!(
        again["read_first"].is_boolean() && again["up_ms"].is_u64(),
        "{again:#}"
    );
    assert!(for_step("multi_instance") >= 1, "{alongside:#}");
    assert!(
        alongside
            .as_array()
            .is_some_and(|a| a.iter().all(|i| i["startup_ms"].is_u64())),
        "each came up, with its startup time: {alongside:#}"
    );
    let handed: Vec<Value> = step("multi_instance")["evidence"]["handed_on"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(
        !handed.is_empty(),
        "multi_instance hands a checked extra on"
    );
    let main = run["deployment"]["instance_id"].clone();
    let worked_on: Vec<Value> = ["persistence", "restart"]
        .iter()
        .map(|s| step(s)["evidence"]["instance"]["project"].clone())
        .filter(|p| !p.is_null())
        .collect();
    assert_eq!(
        worked_on.len(),
        handed.len(),
        "each extra handed on is used once"
    );
    for project in &worked_on {
        assert!(handed.contains(project), "{project} was handed on");
        assert_ne!(*project, main, "not the main instance");
    }
    // The extra instance is the step's own: removed when the step was done with it.
    let removed = step("persistence")["evidence"]["instance"]["teardown"]["removed"].clone();
    assert!(
        removed["containers"]
            .as_array()
            .is_some_and(|c| !c.is_empty()),
        "persistence removed its instance: {removed:#}"
    );
    // Shutdown stops the main instance while the extras may still be worked on, and checks
    // that nothing is left only once they are gone: it passed, and says how long it waited.
    let shutdown = step("shutdown")["evidence"].clone();
    assert!(shutdown["waited_ms"].is_u64(), "{shutdown:#}");
    assert_eq!(
        shutdown["leftovers"]["by_run_label"]["containers"],
        serde_json::json!([]),
        "{shutdown:#}"
    );
    assert!(ws.leftovers().is_empty(), "left {:?}", ws.leftovers());
}

/// A harness that has the key passes it to the main instance, which then cannot stand
/// for the key-less one: missing_key brings up a copy without it, and the key's value
/// reaches no record.
#[test]
fn with_the_key_in_the_harness_s_environment_missing_key_deploys_its_own_key_less_copy() {
    let name = "good_keyed";
    if !engine_available(name) {
        return;
    }
    ensure_images();
    let ws = Workspace::new(&format!("fx_{name}"));
    let key = "sk-ant-api03-harnesstestkeynotreal0123456789abcdefABCDEF";
    let run = run_task_keyed(
        &ws,
        name,
        &["--config", "tests/fixtures/protocol/good.yml"],
        Some(key),
    );
    assert_eq!(failures(&run), vec![], "{run:#}");
    let keys = step_of(&run, "missing_key")["evidence"].clone();
    let main = run["deployment"]["instance_id"].clone();
    assert_ne!(keys["key_unset"]["project"], main, "{keys:#}");
    assert_eq!(keys["key_unset"]["api_key_present"], false, "{keys:#}");
    assert_eq!(keys["dummy_key_set"]["api_key_present"], true, "{keys:#}");
    let alongside = step_of(&run, "deploy")["evidence"]["alongside"].clone();
    let pair = alongside
        .as_array()
        .map(|a| a.iter().filter(|i| i["for"] == "missing_key").count());
    assert_eq!(pair, Some(2), "{alongside:#}");
    assert!(
        keys["teardown"][0]["removed"]["containers"]
            .as_array()
            .is_some_and(|c| !c.is_empty()),
        "the key-less copy is removed: {keys:#}"
    );
    let records = ws.files_containing(key);
    assert!(records.is_empty(), "the key reached {records:?}");
    for db in [ws.db(), ws.db().with_extension("db-wal")] {
        let bytes = std::fs::read(&db).unwrap_or_default();
        assert!(
            !String::from_utf8_lossy(&bytes).contains(key),
            "the key reached {}",
            db.display()
        );
    }
    assert!(ws.leftovers().is_empty(), "left {:?}", ws.leftovers());
}

#[test]
fn fixed_volume_name_is_shared_between_instances() {
    check(
        "fixed_volume_name",
        &[
            ("lint", "lint_error"),
            ("multi_instance", "volume_conflict"),
        ],
    );
}

/// A volume made outside the harness, as a user's; named like the workspace's objects, so
/// the workspace removes it whatever happens.
fn users_volume(ws: &Workspace, what: &str) -> String {
    let volume = format!("h-{}-{what}", ws.task_name);
    let made = std::process::Command::new("docker")
        .args(["volume", "create", &volume])
        .output()
        .expect("docker volume create");
    assert!(made.status.success());
    volume
}

fn reference_config() -> String {
    std::fs::read_to_string(std::path::Path::new(common::REPO).join("docker/docker-compose.yml"))
        .expect("the reference config")
}

#[test]
fn an_external_volume_in_v1_form_is_the_users_and_outlives_the_run() {
    let test = "an_external_volume_in_v1_form_is_the_users_and_outlives_the_run";
    if !engine_available(test) {
        return;
    }
    ensure_images();
    let ws = Workspace::new("fx_external_volume");
    let volume = users_volume(&ws, "users-data");
    let reference = reference_config();
    let v1_external = format!("  redis_data:\n    external:\n      name: {volume}\n");
    let config = reference.replace("  redis_data:\n", &v1_external);
    assert_ne!(config, reference, "the volume is made external");
    let path = ws.dir.path().join("external.yml");
    std::fs::write(&path, config).expect("write the config");
    let steps = ["--steps", "deploy,persistence,shutdown"];
    let run = run_task(
        &ws,
        test,
        &[&steps[..], &["--config", path.to_str().expect("utf8")]].concat(),
    );
    // Compose v2 refuses labels on an external volume, and the volume is not the run's to
    // remove: neither a deploy failure nor a leftover at shutdown.
    assert_eq!(failures(&run), Vec::<(String, String)>::new(), "{run:#}");
    for step in ["deploy", "persistence", "shutdown"] {
        assert_eq!(step_of(&run, step)["status"], "pass", "{step}: {run:#}");
    }
    let kept = std::process::Command::new("docker")
        .args(["volume", "inspect", &volume])
        .output()
        .expect("docker volume inspect");
    assert!(kept.status.success(), "the user's volume outlives the run");
}

/// A volume every instance only reads (shared assets, `:ro`) may be shared; one they all
/// write is one data directory under two stacks: `volume_conflict`.
#[test]
fn instances_may_share_a_volume_they_only_read_but_not_one_they_write() {
    let test = "instances_may_share_a_volume_they_only_read_but_not_one_they_write";
    if !engine_available(test) {
        return;
    }
    ensure_images();
    let ws = Workspace::new("fx_shared_volume");
    let volume = users_volume(&ws, "assets");
    let reference = reference_config();
    let written = [
        (":ro", vec![]),
        (
            "",
            vec![("multi_instance".to_string(), "volume_conflict".to_string())],
        ),
    ];
    for (mode, expected) in written {
        let mount =
            format!("    stop_grace_period: 10s\n    volumes:\n      - assets:/srv/assets{mode}\n");
        let config = reference.replace("    stop_grace_period: 10s\n", &mount)
            + &format!("  assets:\n    external: true\n    name: {volume}\n");
        assert!(config.contains("/srv/assets"), "the app mounts it");
        let path = ws.dir.path().join("shared.yml");
        std::fs::write(&path, config).expect("write the config");
        let steps = ["--steps", "deploy,multi_instance,shutdown"];
        let run = run_task(
            &ws,
            test,
            &[&steps[..], &["--config", path.to_str().expect("utf8")]].concat(),
        );
        assert_eq!(failures(&run), expected, "`{mode}`: {run:#}");
        assert_eq!(step_of(&run, "deploy")["status"], "pass", "{run:#}");
    }
}
