//! Captured evidence: run files written by the harness before evidence was typed
//! (`tests/fixtures/runs/`), read into their typed shapes and written back byte for byte.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use super::*;
use crate::run::record::RunRecord;

/// Every captured run file: its name and its bytes.
fn captured() -> Vec<(String, String)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/runs");
    let mut files: Vec<(String, String)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read_to_string(&p).unwrap())
        })
        .collect();
    files.sort();
    assert!(files.len() >= 5, "captured run files in {}", dir.display());
    files
}

/// Every captured step: (file, step name, status, its evidence as written).
fn captured_steps() -> Vec<(String, String, String, Value)> {
    let mut steps = Vec::new();
    for (name, text) in captured() {
        let value: Value = serde_json::from_str(&text).unwrap();
        for step in value["steps"].as_array().unwrap() {
            steps.push((
                name.clone(),
                step["name"].as_str().unwrap().to_string(),
                step["status"].as_str().unwrap().to_string(),
                step["evidence"].clone(),
            ));
        }
    }
    steps
}

fn kind_of(e: &Evidence) -> Option<StepKind> {
    Some(match e {
        Evidence::Lint(_) => StepKind::Lint,
        Evidence::Deploy(_) => StepKind::Deploy,
        Evidence::PortDiscovery(_) => StepKind::PortDiscovery,
        Evidence::ApiProbe(_) => StepKind::ApiProbe,
        Evidence::WsProbe(_) => StepKind::WsProbe,
        Evidence::Redis(_) => StepKind::Redis,
        Evidence::MissingKey(_) => StepKind::MissingKey,
        Evidence::MultiInstance(_) => StepKind::MultiInstance,
        Evidence::Restart(_) => StepKind::Restart,
        Evidence::Persistence(_) => StepKind::Persistence,
        Evidence::Shutdown(_) => StepKind::Shutdown,
        Evidence::Reason(_) | Evidence::Raw(_) => return None,
    })
}

#[test]
fn every_captured_step_reads_into_its_kind_and_writes_back_byte_identical() {
    let mut typed: BTreeSet<(&'static str, String)> = BTreeSet::new();
    for (file, step, status, value) in captured_steps() {
        let evidence = Evidence::read(&step, value.clone());
        let kind = StepKind::from_name(&step).unwrap();
        match &evidence {
            Evidence::Reason(_) => {}
            other => assert_eq!(
                kind_of(other),
                Some(kind),
                "{file}: `{step}` ({status}) read as {other:?}"
            ),
        }
        assert_eq!(
            serde_json::to_string(&evidence).unwrap(),
            serde_json::to_string(&value).unwrap(),
            "{file}: `{step}`"
        );
        assert_eq!(
            serde_json::to_string_pretty(&evidence).unwrap(),
            serde_json::to_string_pretty(&value).unwrap()
        );
        typed.insert((kind.name(), status));
    }
    for kind in StepKind::ALL {
        assert!(
            typed.iter().any(|(k, s)| *k == kind.name() && s != "skip"),
            "no captured evidence of `{}` that ran: {typed:?}",
            kind.name()
        );
    }
}

#[test]
fn a_captured_run_file_reads_and_writes_back_byte_identical() {
    for (name, text) in captured() {
        let record: RunRecord = serde_json::from_str(&text).unwrap();
        assert_eq!(record.to_json(), text, "{name}");
    }
}

/// The printer's old headline: the first non-empty `summary` anywhere, else `error`, else
/// the top-level `reason`.
fn searched_headline(v: &Value) -> Option<String> {
    fn find(v: &Value, key: &str) -> Option<String> {
        match v {
            Value::Object(map) => map
                .get(key)
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .or_else(|| map.values().find_map(|v| find(v, key))),
            Value::Array(items) => items.iter().find_map(|v| find(v, key)),
            _ => None,
        }
    }
    find(v, "summary")
        .or_else(|| find(v, "error"))
        .or_else(|| v["reason"].as_str().map(str::to_string))
}

#[test]
fn the_typed_message_is_the_headline_the_printer_searched_for() {
    for (file, step, _, value) in captured_steps() {
        let evidence = Evidence::read(&step, value.clone());
        assert_eq!(
            evidence.message().map(str::to_string),
            searched_headline(&value),
            "{file}: `{step}`"
        );
    }
}

#[test]
fn each_kind_reads_the_shapes_its_step_writes() {
    let shapes = [
        (
            "deploy",
            json!({"summary": "s", "exposed": ["api: 0.0.0.0:1->2"], "deploy": {"up": {}}}),
        ),
        (
            "deploy",
            json!({"summary": "s", "missing": [{"service": "a", "image": "b"}], "fix": "f"}),
        ),
        ("deploy", json!({"up": {"stderr": "x"}, "error": "engine"})),
        (
            "port_discovery",
            json!({"summary": "s", "held": [], "engine": null}),
        ),
        (
            "port_discovery",
            json!({"summary": "", "held": [], "assigned": {"api": 1, "websocket": null}, "problems": []}),
        ),
        (
            "api_probe",
            json!({"port": 1, "status": 500, "body": {}, "error": "expected 200"}),
        ),
        ("ws_probe", json!({"port": 1, "error": "closed"})),
        (
            "redis",
            json!({"service_reports": {"connected": true}, "exec": {"container": "r", "exit_code": 1, "output": ""}}),
        ),
        (
            "restart",
            json!({"summary": "s", "killed": {"container": "a", "pid": 1, "signal": "SIGKILL", "restart_count_before": 0, "policy": "no"}, "state": "exited", "policy": "", "exit_code": 137}),
        ),
        ("restart", json!({"error": "EPERM", "pid": 7})),
        (
            "persistence",
            json!({"key": "k", "written": "v", "down": {"duration_ms": 1}, "read_back": null, "anonymous_volumes_dropped": [], "summary": "gone"}),
        ),
        (
            "persistence",
            json!({"write": "500", "service_reports_redis": {"connected": false}}),
        ),
        ("persistence", json!({"down": {}, "error": "no API port"})),
        ("shutdown", json!({"logs": [], "error": "compose"})),
        ("multi_instance", json!({"failure": {}, "teardown": []})),
    ];
    for (step, value) in shapes {
        let evidence = Evidence::read(step, value.clone());
        assert!(!matches!(evidence, Evidence::Raw(_)), "{step}: {value}");
        assert_eq!(evidence.to_string(), value.to_string(), "{step}");
    }
}

#[test]
fn evidence_that_fits_no_shape_is_kept_as_read() {
    // An unknown key, a key out of the order the step writes, a null where a string goes,
    // a step this harness does not have.
    let old = [
        ("deploy", json!({"stderr": "port is already allocated"})),
        ("deploy", json!({"up": {}, "summary": "s"})),
        ("restart", json!({"summary": null})),
        ("migrate", json!({"summary": "s"})),
    ];
    for (step, value) in old {
        let evidence = Evidence::read(step, value.clone());
        assert_eq!(evidence, Evidence::Raw(value.clone()), "{step}");
        assert_eq!(evidence.to_string(), value.to_string());
    }
    assert_eq!(
        Evidence::read("deploy", json!({"stderr": "x", "summary": "why"})).summary(),
        Some("why")
    );
}

#[test]
fn a_reason_is_any_steps_and_says_why_it_did_not_run() {
    let e = Evidence::read("restart", json!({"reason": "remote engine"}));
    assert_eq!(e, Evidence::reason("remote engine"));
    assert_eq!(e.skip_reason(), Some("remote engine"));
    assert_eq!(e.message(), Some("remote engine"));
}
