use std::path::Path;

use serde_json::json;
use uuid::Uuid;

use super::*;
use crate::run::record::{self, DeploymentRecord, EngineRecord, Metrics, RunRecord, RunStatus};
use crate::run::{Outcome, RunDir, Signature, Skip, Step};
use crate::store::{NewRun, NewVersion, Store};

const NASTY: &str = r#"<script>alert("x")</script> & 'quotes'"#;

fn step(name: &str, outcome: Outcome, evidence: serde_json::Value) -> Step {
    Step {
        name: name.into(),
        outcome,
        duration_ms: 1250,
        evidence: crate::run::Evidence::read(name, evidence),
    }
}

fn run(task: &str, version: &str, minute: u32, steps: Vec<Step>, error: Option<&str>) -> RunRecord {
    let success = error.is_none() && steps.iter().all(|s| !s.failed());
    RunRecord {
        timestamp: format!("2026-11-23T14:{minute:02}:00.000Z"),
        task: task.into(),
        version: version.into(),
        config_hash: "ab12".into(),
        deployment: DeploymentRecord {
            api_port: Some(49153),
            websocket_port: None,
            instance_id: "h-t-12345678-0".into(),
            services_healthy: success,
        },
        metrics: Metrics {
            startup_duration: 1.5,
            success,
            duration_ms: 3000,
            status: Some(if success {
                RunStatus::Success
            } else {
                RunStatus::Failure
            }),
        },
        steps,
        engine: EngineRecord {
            compose: "docker compose 2.29".into(),
            docker: "27.1".into(),
            api_version: "1.46".into(),
        },
        partial: Vec::new(),
        error: error.map(str::to_string),
        execution_uuid: Uuid::new_v4(),
    }
}

fn passing() -> RunRecord {
    run(
        "web",
        "v1",
        0,
        vec![
            step("lint", Outcome::Pass, json!({})),
            step("deploy", Outcome::Pass, json!({"summary": "up"})),
        ],
        None,
    )
}

fn failing() -> RunRecord {
    run(
        "web",
        "v2",
        1,
        vec![
            step("lint", Outcome::Pass, json!({})),
            step(
                "deploy",
                Outcome::Fail(Signature::PortConflict),
                json!({"up": {"summary": format!("port 8080 taken\nby {NASTY}"), "stderr": NASTY}}),
            ),
            step(
                "api_probe",
                Outcome::Skip(Skip::AfterFailure),
                json!({"reason": "deploy failed"}),
            ),
        ],
        None,
    )
}

fn attr<'a>(node: roxmltree::Node<'a, '_>, name: &str) -> &'a str {
    node.attribute(name)
        .unwrap_or_else(|| panic!("<{}> has no {name}", node.tag_name().name()))
}

#[test]
fn junit_has_one_suite_per_run_and_one_case_per_step() {
    let runs = [passing(), failing()];
    let xml = junit(&runs).unwrap();
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "testsuites");
    assert_eq!(attr(root, "tests"), "5");
    assert_eq!(attr(root, "failures"), "1");
    assert_eq!(attr(root, "skipped"), "1");
    let suites: Vec<_> = root
        .children()
        .filter(|n| n.has_tag_name("testsuite"))
        .collect();
    assert_eq!(suites.len(), 2);

    let expect = [(&runs[0], "2", "0", "0"), (&runs[1], "3", "1", "1")];
    for (suite, (run, tests, failures, skipped)) in suites.iter().zip(expect) {
        let uuid = run.execution_uuid.to_string();
        assert_eq!(
            attr(*suite, "name"),
            format!("{} {} {uuid}", run.task, run.version)
        );
        assert_eq!(attr(*suite, "tests"), tests);
        assert_eq!(attr(*suite, "failures"), failures);
        assert_eq!(attr(*suite, "skipped"), skipped);
        assert_eq!(attr(*suite, "errors"), "0");
        let props: Vec<(&str, &str)> = suite
            .descendants()
            .filter(|n| n.has_tag_name("property"))
            .map(|n| (attr(n, "name"), attr(n, "value")))
            .collect();
        assert!(props.contains(&("execution_uuid", uuid.as_str())));
        assert!(props.contains(&("config_hash", "ab12")));
        assert!(props.contains(&("engine.docker", "27.1")));
        assert!(props.contains(&("engine.compose", "docker compose 2.29")));
        assert!(props.contains(&("engine.api_version", "1.46")));
        for case in suite.children().filter(|n| n.has_tag_name("testcase")) {
            assert_eq!(attr(case, "classname"), format!("web.{}", run.version));
            assert_eq!(attr(case, "time"), "1.250");
        }
    }

    let failure = doc
        .descendants()
        .find(|n| n.has_tag_name("failure"))
        .unwrap();
    assert_eq!(attr(failure.parent().unwrap(), "name"), "deploy");
    assert_eq!(attr(failure, "type"), "port_conflict");
    // The summary, found depth-first, on one line; quotes and markup survive escaping.
    assert_eq!(
        attr(failure, "message"),
        format!("port 8080 taken by {NASTY}")
    );
    let text = failure.text().unwrap();
    let evidence: serde_json::Value = serde_json::from_str(text).unwrap();
    assert_eq!(evidence["up"]["stderr"], NASTY);
    assert!(
        !xml.contains("<script>"),
        "evidence must be escaped:\n{xml}"
    );
    assert!(xml.contains("&lt;script&gt;"));

    let skipped = doc
        .descendants()
        .find(|n| n.has_tag_name("skipped"))
        .unwrap();
    assert_eq!(attr(skipped.parent().unwrap(), "name"), "api_probe");
    assert_eq!(attr(skipped, "message"), "deploy failed");
}

#[test]
fn junit_cuts_long_evidence_and_reports_runs_that_failed_without_a_failing_step() {
    let big = "x".repeat(20_000);
    let long = run(
        "web",
        "v1",
        2,
        vec![step(
            "logs",
            Outcome::Fail(Signature::CrashLoop),
            json!({"error": "restarting", "log": big}),
        )],
        None,
    );
    let stopped = run(
        "web",
        "v1",
        3,
        vec![],
        Some("engine went away\nwhile deploying"),
    );
    let xml = junit(&[long, stopped]).unwrap();
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let failure = doc
        .descendants()
        .find(|n| n.has_tag_name("failure"))
        .unwrap();
    assert_eq!(attr(failure, "message"), "restarting");
    let text = failure.text().unwrap();
    assert!(text.len() < 4_400, "{} bytes", text.len());
    assert!(text.contains("full evidence is in the run file"));
    let error = doc.descendants().find(|n| n.has_tag_name("error")).unwrap();
    assert_eq!(attr(error, "type"), "run_error");
    assert_eq!(attr(error, "message"), "engine went away while deploying");
    assert_eq!(attr(error.parent().unwrap(), "name"), "run");
}

/// A scoreboard and runs/ written by the project's own code.
fn history(root: &Path) -> (std::path::PathBuf, std::path::PathBuf, Vec<RunRecord>) {
    let db = root.join("scoreboard.db");
    let runs_dir = root.join("runs");
    let mut store = Store::open(&db).unwrap();
    let task = store.task_id(NASTY, "prompts/web.md").unwrap();
    let v1 = store
        .version(
            task,
            &NewVersion {
                hash: "h1",
                config: "services: {}",
                parent: None,
                mutation: "seed",
                reason: "the task's compose file",
            },
        )
        .unwrap();
    let v2 = store
        .version(
            task,
            &NewVersion {
                hash: "h2",
                config: "services: {}",
                parent: Some(v1.id),
                mutation: "remap_port",
                reason: NASTY,
            },
        )
        .unwrap();
    let mut records = Vec::new();
    let plan = [
        (&v1, failing()),
        (&v1, passing()),
        (&v1, run("web", "v1", 5, vec![], Some(NASTY))),
        (&v2, passing()),
    ];
    for (i, (version, mut record)) in plan.into_iter().enumerate() {
        record.task = NASTY.into();
        record.version = version.label();
        record.timestamp = format!("2026-11-23T14:0{i}:00.000Z");
        let file = record::write(&runs_dir, &record, &format!("20261123T140{i}00Z")).unwrap();
        store
            .insert_run(
                task,
                &NewRun {
                    uuid: &record.execution_uuid.to_string(),
                    version_id: version.id,
                    started_at: &record.timestamp,
                    status: record.status(),
                    duration_ms: record.metrics.duration_ms,
                    file: &file.to_string_lossy(),
                    json: &record.to_json(),
                    steps: &record.steps,
                },
            )
            .unwrap();
        records.push(record);
    }
    (db, runs_dir, records)
}

#[test]
fn html_report_has_the_scoreboard_charts_history_and_links_to_run_files() {
    let dir = tempfile::tempdir().unwrap();
    let (db, runs_dir, records) = history(dir.path());
    std::fs::create_dir_all(RunDir::new(&runs_dir, records[0].id()).path()).unwrap();
    let out = dir.path().join("ci/report");
    let page = html(&db, &runs_dir, &out).unwrap();
    assert_eq!(page, out.join("index.html"));
    let text = std::fs::read_to_string(&page).unwrap();
    if let Ok(copy) = std::env::var("HARNESS_REPORT_TEST_COPY") {
        std::fs::write(copy, &text).unwrap();
    }
    assert!(!text.to_lowercase().contains("<script"), "{text}");

    // Well-formed (the page is polyglot XHTML), so escaping held everywhere.
    let options = roxmltree::ParsingOptions {
        allow_dtd: true,
        ..Default::default()
    };
    let doc = roxmltree::Document::parse_with_options(&text, options).unwrap();
    let heading = doc.descendants().find(|n| n.has_tag_name("h2")).unwrap();
    let heading: String = heading
        .descendants()
        .filter(|n| n.is_text())
        .filter_map(|n| n.text())
        .collect();
    assert_eq!(heading, format!("Task {NASTY}"));

    // Scoreboard: v1 1✓ 2✗, v2 1✓; the most frequent failure of v1.
    let rows: Vec<Vec<String>> = doc
        .descendants()
        .filter(|n| n.has_tag_name("table") && n.attribute("class") == Some("scoreboard"))
        .flat_map(|t| t.descendants().filter(|n| n.has_tag_name("tr")).skip(1))
        .map(|tr| {
            tr.children()
                .filter(|n| n.has_tag_name("td"))
                .map(|td| {
                    td.descendants()
                        .filter(|n| n.is_text())
                        .filter_map(|n| n.text())
                        .collect()
                })
                .collect()
        })
        .collect();
    assert_eq!(rows.len(), 2);
    assert_eq!(&rows[0][..7], ["v1", "3", "1", "2", "1:2", "0.061", "no"]);
    assert_eq!(rows[0][7], "2026-11-23 14:02:00 UTC");
    assert_eq!(rows[0][8], "port_conflict ×1");
    assert_eq!(&rows[1][..5], ["v2", "1", "1", "0", "1:0"]);

    // Evolution history: v2's parent and reason, escaped.
    let evolution = doc
        .descendants()
        .find(|n| n.attribute("class") == Some("evolution"))
        .unwrap();
    let cells: Vec<String> = evolution
        .descendants()
        .filter(|n| n.has_tag_name("td"))
        .map(|td| {
            td.descendants()
                .filter(|n| n.is_text())
                .filter_map(|n| n.text())
                .collect()
        })
        .collect();
    assert_eq!(&cells[5..9], ["v2", "v1", "remap_port", NASTY]);

    // One chart per version with runs, one point per run.
    let charts: Vec<_> = doc
        .descendants()
        .filter(|n| n.has_tag_name("svg"))
        .collect();
    assert_eq!(charts.len(), 2);
    let points = |svg: &roxmltree::Node<'_, '_>| {
        svg.descendants()
            .filter(|n| n.has_tag_name("circle"))
            .count()
    };
    assert_eq!((points(&charts[0]), points(&charts[1])), (3, 1));

    // Every UUID, and a link to its run file that resolves from the report's directory.
    for record in &records {
        assert!(text.contains(&record.execution_uuid.to_string()));
    }
    let hrefs: Vec<&str> = doc
        .descendants()
        .filter_map(|n| n.attribute("href"))
        .filter(|h| !h.starts_with('#'))
        .collect();
    let files: Vec<&&str> = hrefs.iter().filter(|h| h.ends_with(".json")).collect();
    assert_eq!(files.len(), records.len());
    for href in &hrefs {
        assert!(href.starts_with("../../runs/"), "{href}");
        assert!(out.join(href).exists(), "{href} does not resolve");
    }
    assert!(
        hrefs
            .iter()
            .any(|h| h.ends_with(&format!("{}/", records[0].id().short())))
    );

    // The failing runs' causes: a failed step with its signature, the run's error.
    assert!(text.contains("deploy (port_conflict)"));
    assert!(text.contains("&lt;script&gt;alert(&quot;x&quot;)"));
}

#[test]
fn html_report_marks_missing_run_files_and_names_a_missing_store() {
    let dir = tempfile::tempdir().unwrap();
    let (db, runs_dir, records) = history(dir.path());
    let gone = std::fs::read_dir(&runs_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().contains(&records[1].id().short()))
        .unwrap();
    std::fs::remove_file(&gone).unwrap();
    let page = html(&db, &runs_dir, dir.path()).unwrap();
    let text = std::fs::read_to_string(page).unwrap();
    assert!(text.contains("(missing)"));
    assert!(text.contains("href=\"runs/"));

    let err = html(&dir.path().join("nope.db"), &runs_dir, dir.path()).unwrap_err();
    assert!(matches!(err, ReportError::NoStore { .. }));
    assert!(err.to_string().contains("nope.db"));
}
