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
    let out = ws
        .harness()
        // The key's absence is part of what is checked; the caller's key must not leak in.
        .env_remove("ANTHROPIC_API_KEY")
        .args([
            "--json",
            "run",
            "--timeout",
            "60",
            "--config",
            &config,
            "--task",
        ])
        .arg(ws.task())
        .output()
        .expect("spawn harness");
    let run: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{name}: stdout is not JSON ({e}): {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    Some((ws, run))
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

fn check(name: &str, expected: &[(&str, &str)]) {
    check_allowing(name, expected, &[]);
}

/// Like `check`, but the steps in `also` may fail too, with exactly that signature: what
/// another harness running at the same time can legitimately cause.
fn check_allowing(name: &str, expected: &[(&str, &str)], also: &[(&str, &str)]) {
    let Some((ws, run)) = run_fixture(name) else {
        return;
    };
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
    check("redis_no_volume", &[("persistence", "data_lost")]);
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
