//! Tamper tests against a real scoreboard, runs directory and prompt, built with the
//! project's own writers.

use std::path::PathBuf;

use rusqlite::Connection;
use uuid::Uuid;

use super::{AuditError, AuditOptions, AuditReport, FindingKind, audit, show};
use crate::run::record::{self, DeploymentRecord, EngineRecord, Metrics, RunRecord, RunStatus};
use crate::run::{Evidence, Outcome, RunDir, RunId, Signature, Step, StepKind};
use crate::store::{NewRun, NewVersion, Store, VersionRow};
use crate::task::{HistoryRow, Prompt, RunUpdate};

const SEED: &str = include_str!("../task/testdata/docker_compose_dynamic.md");
const TASK: &str = "docker_compose_dynamic";

struct Fixture {
    _dir: tempfile::TempDir,
    store_path: PathBuf,
    runs: PathBuf,
    prompt: PathBuf,
    store: Store,
    task_id: i64,
    versions: Vec<VersionRow>,
    uuids: Vec<Uuid>,
    files: Vec<PathBuf>,
    tally: (u64, u64),
}

fn v4_with_prefix(prefix: [u8; 4]) -> Uuid {
    let mut bytes = *Uuid::new_v4().as_bytes();
    bytes[..4].copy_from_slice(&prefix);
    uuid::Builder::from_random_bytes(bytes).into_uuid()
}

impl Fixture {
    /// A store, runs dir and prompt with `n` runs: v1 for all but the last, which is v2.
    fn new(n: usize) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let store_path = dir.path().join("scoreboard.db");
        let runs = dir.path().join("runs");
        let prompts = dir.path().join("prompts");
        std::fs::create_dir_all(&prompts).unwrap();
        let prompt = prompts.join(format!("{TASK}.md"));
        std::fs::write(&prompt, SEED).unwrap();
        let mut store = Store::open(&store_path).unwrap();
        let task_id = store.task_id(TASK, &prompt.to_string_lossy()).unwrap();
        let versions = ["h1", "h2"]
            .iter()
            .map(|h| {
                store
                    .version(
                        task_id,
                        &NewVersion {
                            hash: h,
                            config: "services: {}",
                            parent: None,
                            mutation: "seed",
                            reason: "seed",
                        },
                    )
                    .unwrap()
            })
            .collect();
        let mut f = Fixture {
            _dir: dir,
            store_path,
            runs,
            prompt,
            store,
            task_id,
            versions,
            uuids: Vec::new(),
            files: Vec::new(),
            tally: (0, 0),
        };
        for i in 0..n {
            let version = usize::from(i + 1 == n && n > 1);
            f.add_run(Uuid::new_v4(), version, i % 3 != 2, |r| r.to_json());
        }
        f
    }

    fn record(&self, uuid: Uuid, version: usize, success: bool) -> RunRecord {
        let i = self.uuids.len();
        // The whole protocol, as a real run records it: a success lists every step.
        let steps = StepKind::ALL
            .iter()
            .map(|k| Step {
                name: k.name().into(),
                outcome: match (k.name(), success) {
                    ("api_probe", false) => Outcome::Fail(Signature::ApiProbe),
                    _ => Outcome::Pass,
                },
                duration_ms: 20,
                evidence: Evidence::read(k.name(), serde_json::json!({"status": 200})),
            })
            .collect();
        RunRecord {
            timestamp: format!("2026-11-23T14:00:{i:02}.000Z"),
            task: TASK.into(),
            version: self.versions[version].label(),
            config_hash: self.versions[version].hash.clone(),
            deployment: DeploymentRecord {
                api_port: Some(49153),
                websocket_port: Some(49154),
                instance_id: RunId::from(uuid).project("t", 0),
                services_healthy: true,
            },
            metrics: Metrics {
                startup_duration: 1.5,
                success,
                duration_ms: 3000 + i as u64,
                status: Some(if success {
                    RunStatus::Success
                } else {
                    RunStatus::Failure
                }),
            },
            steps,
            engine: EngineRecord {
                compose: "2.29.0".into(),
                docker: "27.0".into(),
                api_version: "1.46".into(),
            },
            partial: Vec::new(),
            error: None,
            execution_uuid: uuid,
        }
    }

    /// Records one run in its three places, as the recorder does, with the file's bytes
    /// produced by `json` (normally `RunRecord::to_json`), plus its evidence.
    fn add_run(
        &mut self,
        uuid: Uuid,
        version: usize,
        success: bool,
        json: impl Fn(&RunRecord) -> String,
    ) {
        let rec = self.record(uuid, version, success);
        let text = json(&rec);
        self.file_run(&rec, &text, version);
    }

    /// Files a run whose file an older harness wrote, its bytes kept: under its own
    /// version number (created, with every number before it, if the store lacks it).
    fn add_old_file(&mut self, text: &str) {
        let rec: RunRecord = serde_json::from_str(text).unwrap();
        let number: i64 = rec.version.trim_start_matches('v').parse().unwrap();
        while self.versions.iter().all(|v| v.number < number) {
            let hash = format!("old{}", self.versions.len() + 1);
            let version = self
                .store
                .version(
                    self.task_id,
                    &NewVersion {
                        hash: &hash,
                        config: "services: {}",
                        parent: None,
                        mutation: "seed",
                        reason: "seed",
                    },
                )
                .unwrap();
            self.versions.push(version);
        }
        let version = self
            .versions
            .iter()
            .position(|v| v.number == number)
            .unwrap();
        self.file_run(&rec, text, version);
    }

    /// Records one run in its three places, as the recorder does: the file (`text`), the
    /// scoreboard's row and the prompt's history, plus its evidence directory.
    fn file_run(&mut self, rec: &RunRecord, text: &str, version: usize) {
        let uuid = rec.execution_uuid;
        let success = rec.metrics.success;
        let i = self.uuids.len();
        let stamp = format!("20261123T1400{i:02}Z");
        let file = self.runs.join(RunId::from(uuid).file_name(&stamp));
        std::fs::create_dir_all(&self.runs).unwrap();
        std::fs::write(&file, text).unwrap();
        self.store
            .insert_run(
                self.task_id,
                &NewRun {
                    uuid: &uuid.to_string(),
                    version_id: self.versions[version].id,
                    started_at: &rec.timestamp,
                    status: rec.status(),
                    duration_ms: rec.metrics.duration_ms,
                    file: &file.to_string_lossy(),
                    json: text,
                    steps: &rec.steps,
                },
            )
            .unwrap();
        let evidence = RunDir::new(&self.runs, uuid.into());
        std::fs::create_dir_all(evidence.logs()).unwrap();
        std::fs::create_dir_all(evidence.compose()).unwrap();
        std::fs::write(
            evidence.log("h-web-1"),
            format!("starting\nexecution_uuid={uuid}\nready\n"),
        )
        .unwrap();
        std::fs::write(evidence.log("h-redis-1"), "Ready to accept\n").unwrap();
        std::fs::write(
            evidence.override_file(),
            format!(
                "services:\n  web:\n    labels:\n      dev.harness.run: {uuid}\n      dev.harness.task: {TASK}\n    environment:\n      EXECUTION_UUID: {uuid}\nnetworks:\n  default:\n    labels:\n      dev.harness.run: {uuid}\n"
            ),
        )
        .unwrap();
        if success {
            self.tally.0 += 1;
        } else {
            self.tally.1 += 1;
        }
        let prompt = Prompt::load(&self.prompt).unwrap();
        let text = prompt
            .record_run(&RunUpdate {
                successes: self.tally.0,
                failures: self.tally.1,
                last_updated: "2026-11-23 14:00:00".into(),
                last_uuid: uuid.to_string(),
                row: HistoryRow::new(
                    self.versions[version].label(),
                    "change",
                    if success { "✅ Success" } else { "❌ Failed" },
                    uuid.to_string(),
                ),
            })
            .unwrap();
        Prompt::save(&self.prompt, &text).unwrap();
        self.uuids.push(uuid);
        self.files.push(file);
    }

    fn opts(&self) -> AuditOptions {
        AuditOptions {
            task: None,
            runs_dir: self.runs.clone(),
            prompts: vec![self.prompt.clone()],
            cache: None,
        }
    }

    fn audit(&self) -> AuditReport {
        audit(&self.store_path, &self.opts()).unwrap()
    }

    fn sql(&self, sql: &str, uuid: Uuid) {
        let conn = Connection::open(&self.store_path).unwrap();
        conn.execute(sql, [uuid.to_string()]).unwrap();
    }

    fn u(&self, i: usize) -> String {
        self.uuids[i].to_string()
    }
}

/// (kind, uuid) of every finding, sorted.
fn kinds(report: &AuditReport) -> Vec<(FindingKind, String)> {
    let mut k: Vec<_> = report
        .findings
        .iter()
        .map(|f| (f.kind, f.uuid.clone().unwrap_or_default()))
        .collect();
    k.sort_by_key(|(kind, u)| (kind.as_str(), u.clone()));
    k
}

fn sorted(mut v: Vec<(FindingKind, String)>) -> Vec<(FindingKind, String)> {
    v.sort_by_key(|(kind, u)| (kind.as_str(), u.clone()));
    v
}

fn assert_clean(report: &AuditReport) {
    assert!(
        report.is_clean(),
        "expected a clean audit, got:\n{}",
        report
            .findings
            .iter()
            .map(|f| f.to_string())
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn an_untouched_history_audits_clean() {
    let f = Fixture::new(5);
    let before = std::fs::read(&f.store_path).unwrap();
    let report = f.audit();
    assert_clean(&report);
    assert_eq!((report.runs_checked, report.files_checked), (5, 5));
    assert_eq!(std::fs::read(&f.store_path).unwrap(), before, "audit wrote");
    // The report serialises with snake_case kinds for --json.
    let json = serde_json::to_string(&report).unwrap();
    assert!(json.contains(r#""findings":[]"#), "{json}");
}

/// Run files the harness wrote before evidence was typed: every one of them, and its
/// scoreboard row, still audits clean.
#[test]
fn old_run_files_audit_clean() {
    let mut f = Fixture::new(0);
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/runs");
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    for path in &files {
        f.add_old_file(&std::fs::read_to_string(path).unwrap());
    }
    let report = f.audit();
    assert_clean(&report);
    assert_eq!(report.runs_checked, files.len());
}

#[test]
fn an_edited_byte_is_reported_for_its_run_and_file() {
    let f = Fixture::new(4);
    let mut bytes = std::fs::read(&f.files[1]).unwrap();
    let at = bytes.windows(4).position(|w| w == b"1.46").unwrap();
    bytes[at] = b'9';
    std::fs::write(&f.files[1], &bytes).unwrap();
    let report = f.audit();
    assert_eq!(kinds(&report), vec![(FindingKind::Edited, f.u(1))]);
    let finding = &report.findings[0];
    assert_eq!(
        finding.file.as_deref(),
        Some(f.files[1].display().to_string().as_str())
    );
    assert!(finding.message.contains("the file was edited"), "{finding}");
}

#[test]
fn a_removed_run_file_is_reported() {
    let f = Fixture::new(3);
    std::fs::remove_file(&f.files[2]).unwrap();
    let report = f.audit();
    assert_eq!(kinds(&report), vec![(FindingKind::MissingFile, f.u(2))]);
    assert_eq!(report.files_checked, 2);
}

#[test]
fn an_invented_run_file_is_reported() {
    let f = Fixture::new(3);
    let fake = Uuid::new_v4();
    let rec = f.record(fake, 0, true);
    let path = record::write(&f.runs, &rec, "20261124T000000Z").unwrap();
    let report = f.audit();
    assert_eq!(
        kinds(&report),
        vec![(FindingKind::UnknownRun, fake.to_string())]
    );
    assert_eq!(
        report.findings[0].file.as_deref(),
        Some(path.display().to_string().as_str())
    );
    assert_eq!(report.files_checked, 4);

    // A copy of a real run under another name is reported too, naming the original.
    std::fs::remove_file(&path).unwrap();
    let copy = f.runs.join("20261124T000001Z_copy.json");
    std::fs::copy(&f.files[0], &copy).unwrap();
    let report = f.audit();
    assert_eq!(kinds(&report), vec![(FindingKind::UnknownRun, f.u(0))]);
    assert!(
        report.findings[0].message.contains("copy"),
        "{}",
        report.findings[0]
    );
}

#[test]
fn a_changed_row_json_breaks_the_chain_and_the_file_comparison() {
    let f = Fixture::new(5);
    f.sql(
        "UPDATE run SET json = replace(json, '2.29.0', '2.30.0') WHERE uuid = ?1",
        f.uuids[1],
    );
    let report = f.audit();
    assert_eq!(
        kinds(&report),
        sorted(vec![
            (FindingKind::HashMismatch, f.u(1)),
            (FindingKind::Edited, f.u(1)),
            (FindingKind::ChainUnverifiable, f.u(2)),
            (FindingKind::ChainUnverifiable, f.u(3)),
            (FindingKind::ChainUnverifiable, f.u(4)),
        ])
    );
    let edited = report
        .findings
        .iter()
        .find(|x| x.kind == FindingKind::Edited)
        .unwrap();
    assert!(
        edited.message.contains("scoreboard row was edited"),
        "{edited}"
    );
}

#[test]
fn a_changed_success_column_is_reported() {
    let f = Fixture::new(3);
    f.sql(
        "UPDATE run SET success = 1 - success WHERE uuid = ?1",
        f.uuids[2],
    );
    let report = f.audit();
    assert_eq!(kinds(&report), vec![(FindingKind::RowMismatch, f.u(2))]);
    assert!(report.findings[0].message.contains("success"));
}

#[test]
fn a_deleted_row_breaks_the_chain_and_leaves_its_file_and_prompt_row_unknown() {
    let f = Fixture::new(5);
    f.sql("DELETE FROM run WHERE uuid = ?1", f.uuids[1]);
    let report = f.audit();
    assert_eq!(
        kinds(&report),
        sorted(vec![
            (FindingKind::ChainBroken, f.u(2)),
            (FindingKind::ChainUnverifiable, f.u(3)),
            (FindingKind::ChainUnverifiable, f.u(4)),
            (FindingKind::UnknownRun, f.u(1)),
            (FindingKind::PromptRowUnknown, f.u(1)),
        ])
    );
    assert_eq!(report.runs_checked, 4);
}

#[test]
fn a_deleted_last_row_is_caught_by_the_file_and_the_prompt() {
    // Truncating a chain's tail leaves a valid chain: the other places must catch it.
    let f = Fixture::new(3);
    f.sql("DELETE FROM run WHERE uuid = ?1", f.uuids[2]);
    let report = f.audit();
    assert_eq!(
        kinds(&report),
        sorted(vec![
            (FindingKind::UnknownRun, f.u(2)),
            (FindingKind::PromptRowUnknown, f.u(2)),
            (FindingKind::PromptLastUuid, f.u(2)),
        ])
    );
}

#[test]
fn reordered_rows_break_the_chain() {
    let f = Fixture::new(4);
    let conn = Connection::open(&f.store_path).unwrap();
    conn.execute_batch(
        "PRAGMA foreign_keys = OFF;
         UPDATE run SET seq = -1 WHERE seq = 2;
         UPDATE run SET seq = 2 WHERE seq = 3;
         UPDATE run SET seq = 3 WHERE seq = -1;",
    )
    .unwrap();
    drop(conn);
    let report = f.audit();
    let broken: Vec<_> = kinds(&report)
        .into_iter()
        .filter(|(k, _)| *k == FindingKind::ChainBroken)
        .map(|(_, u)| u)
        .collect();
    let mut expected = vec![f.u(1), f.u(2), f.u(3)];
    expected.sort();
    assert_eq!(broken, expected);
}

#[test]
fn a_forged_row_is_reported() {
    let f = Fixture::new(3);
    let forged = Uuid::new_v4();
    let conn = Connection::open(&f.store_path).unwrap();
    conn.execute(
        "INSERT INTO run (uuid, task_id, version_id, started_at, success, duration_ms, file, json, prev_hash, hash)
         SELECT ?1, task_id, version_id, started_at, 1, duration_ms, 'runs/x_forged.json', json, hash, hash
         FROM run ORDER BY seq DESC LIMIT 1",
        [forged.to_string()],
    )
    .unwrap();
    drop(conn);
    let report = f.audit();
    let k = kinds(&report);
    for kind in [
        FindingKind::HashMismatch,
        FindingKind::MissingFile,
        FindingKind::RowMismatch,
        FindingKind::PromptRowMissing,
    ] {
        assert!(k.contains(&(kind, forged.to_string())), "{kind}: {k:?}");
    }
    assert!(
        k.iter()
            .any(|(kind, _)| *kind == FindingKind::PromptLastUuid)
    );
}

#[test]
fn a_prompt_row_pointing_at_nothing_is_reported() {
    let f = Fixture::new(3);
    let text = std::fs::read_to_string(&f.prompt).unwrap();
    let last = f.u(2);
    // The last occurrence is the history row (the first ones are the UUID fields).
    let at = text.rfind(&last).unwrap();
    let line_end = at + text[at..].find('\n').unwrap();
    let ghost = Uuid::new_v4();
    let text = format!(
        "{}\n  | v1 | ghost | ✅ Success | {ghost} |{}",
        &text[..line_end],
        &text[line_end..]
    );
    std::fs::write(&f.prompt, text).unwrap();
    let report = f.audit();
    assert_eq!(
        kinds(&report),
        vec![(FindingKind::PromptRowUnknown, ghost.to_string())]
    );
    assert_eq!(
        report.findings[0].file.as_deref(),
        Some(f.prompt.display().to_string().as_str())
    );
}

#[test]
fn an_edited_last_uuid_is_reported() {
    let f = Fixture::new(3);
    let text = std::fs::read_to_string(&f.prompt).unwrap();
    let last = format!("**Last UUID**: `{}`", f.u(2));
    assert!(text.contains(&last), "{text}");
    let text = text.replace(&last, &format!("**Last UUID**: `{}`", f.u(1)));
    std::fs::write(&f.prompt, text).unwrap();
    let report = f.audit();
    assert_eq!(kinds(&report), vec![(FindingKind::PromptLastUuid, f.u(1))]);
}

/// The record with `execution_uuid` moved to be the first key.
fn uuid_first(r: &RunRecord) -> String {
    let value = serde_json::to_value(r).unwrap();
    let object = value.as_object().unwrap();
    let mut moved = serde_json::Map::new();
    moved.insert("execution_uuid".into(), object["execution_uuid"].clone());
    for (k, v) in object {
        if k != "execution_uuid" {
            moved.insert(k.clone(), v.clone());
        }
    }
    serde_json::to_string_pretty(&moved).unwrap() + "\n"
}

#[test]
fn execution_uuid_must_be_the_last_key() {
    // Recorded that way everywhere: only the key order is wrong.
    let mut f = Fixture::new(2);
    f.add_run(Uuid::new_v4(), 1, true, uuid_first);
    let report = f.audit();
    assert_eq!(kinds(&report), vec![(FindingKind::UuidNotLast, f.u(2))]);

    // Rewritten in the file only: also an edit.
    let f = Fixture::new(2);
    let text = std::fs::read_to_string(&f.files[0]).unwrap();
    let rec: RunRecord = serde_json::from_str(&text).unwrap();
    std::fs::write(&f.files[0], uuid_first(&rec)).unwrap();
    let report = f.audit();
    assert_eq!(
        kinds(&report),
        sorted(vec![
            (FindingKind::Edited, f.u(0)),
            (FindingKind::UuidNotLast, f.u(0))
        ])
    );
}

#[test]
fn step_rows_must_agree_with_the_record() {
    let f = Fixture::new(3);
    f.sql(
        "UPDATE step SET name = 'renamed' WHERE run_seq = (SELECT seq FROM run WHERE uuid = ?1) AND idx = 0",
        f.uuids[0],
    );
    // Run 2 failed its api_probe; the scoreboard now says it passed.
    f.sql(
        "UPDATE step SET status = 'pass', signature = NULL
         WHERE run_seq = (SELECT seq FROM run WHERE uuid = ?1) AND name = 'api_probe'",
        f.uuids[2],
    );
    let report = f.audit();
    assert_eq!(
        kinds(&report),
        sorted(vec![
            (FindingKind::StepMismatch, f.u(0)),
            (FindingKind::StepMismatch, f.u(2)),
        ])
    );
    assert!(
        report
            .findings
            .iter()
            .any(|x| x.message.contains("renamed"))
    );
}

#[test]
fn evidence_must_carry_the_uuid() {
    let f = Fixture::new(2);
    let dir = RunDir::new(&f.runs, f.uuids[0].into());
    std::fs::write(dir.log("h-web-1"), "no uuid here\n").unwrap();
    let other = Uuid::new_v4();
    let dir1 = RunDir::new(&f.runs, f.uuids[1].into());
    let text = std::fs::read_to_string(dir1.override_file()).unwrap();
    let text = text.replacen(&f.u(1), &other.to_string(), 1);
    std::fs::write(dir1.override_file(), text).unwrap();
    let report = f.audit();
    assert_eq!(
        kinds(&report),
        sorted(vec![
            (FindingKind::EvidenceMissingUuid, f.u(0)),
            (FindingKind::OverrideMismatch, f.u(1)),
        ])
    );
    // Runs without captured evidence are not findings.
    std::fs::remove_dir_all(dir).unwrap();
    std::fs::remove_dir_all(dir1).unwrap();
    assert_clean(&f.audit());
}

#[test]
fn an_invalid_uuid_is_reported() {
    let f = Fixture::new(2);
    f.sql(
        "UPDATE run SET uuid = upper(uuid) WHERE uuid = ?1",
        f.uuids[0],
    );
    let report = f.audit();
    let k = kinds(&report);
    assert!(
        k.contains(&(FindingKind::InvalidUuid, f.u(0).to_uppercase())),
        "{k:?}"
    );
}

#[test]
fn the_task_filter_limits_the_audit() {
    let mut f = Fixture::new(2);
    let other = f.store.task_id("other", "prompts/other.md").unwrap();
    let v = f
        .store
        .version(
            other,
            &NewVersion {
                hash: "o1",
                config: "services: {}",
                parent: None,
                mutation: "seed",
                reason: "seed",
            },
        )
        .unwrap();
    let uuid = Uuid::new_v4();
    let mut rec = f.record(uuid, 0, true);
    rec.task = "other".into();
    rec.version = v.label();
    let path = record::write(&f.runs, &rec, "20261125T000000Z").unwrap();
    f.store
        .insert_run(
            other,
            &NewRun {
                uuid: &uuid.to_string(),
                version_id: v.id,
                started_at: &rec.timestamp,
                status: rec.status(),
                duration_ms: rec.metrics.duration_ms,
                file: &path.to_string_lossy(),
                json: &rec.to_json(),
                steps: &rec.steps,
            },
        )
        .unwrap();
    // Tamper with the other task only.
    std::fs::remove_file(&path).unwrap();
    let mut opts = f.opts();
    opts.task = Some(TASK.into());
    let report = audit(&f.store_path, &opts).unwrap();
    assert_clean(&report);
    assert_eq!(report.runs_checked, 2);
    opts.task = Some("other".into());
    let report = audit(&f.store_path, &opts).unwrap();
    assert_eq!(report.runs_checked, 1);
    assert_eq!(
        kinds(&report),
        vec![(FindingKind::MissingFile, uuid.to_string())]
    );
}

#[test]
fn missing_inputs_are_errors_naming_the_file() {
    let f = Fixture::new(1);
    let err = audit(&f.store_path.with_extension("nope"), &f.opts()).unwrap_err();
    assert!(matches!(err, AuditError::NoStore { .. }), "{err}");
    let mut opts = f.opts();
    opts.runs_dir = f.runs.join("nope");
    let err = audit(&f.store_path, &opts).unwrap_err();
    assert!(err.to_string().contains("nope"), "{err}");
    let mut opts = f.opts();
    opts.prompts = vec![f.prompt.with_file_name("missing.md")];
    let err = audit(&f.store_path, &opts).unwrap_err();
    assert!(err.to_string().contains("missing.md"), "{err}");
}

#[test]
fn show_finds_a_run_by_uuid_or_prefix() {
    let mut f = Fixture::new(3);
    let view = show(&f.store_path, &f.runs, &f.u(2)).unwrap();
    assert_eq!(view.uuid, f.u(2));
    assert_eq!(view.version, "v2");
    assert_eq!(view.verdict, super::Verdict::Failure);
    assert_eq!(view.failures, vec!["api_probe api_probe".to_string()]);
    assert_eq!(view.steps.len(), StepKind::ALL.len());
    assert!(view.file_exists && view.file_matches_db);
    assert_eq!(view.file, f.files[2]);
    assert_eq!(view.evidence.logs.len(), 2);
    assert!(view.evidence.override_file.is_some());
    assert_eq!(view.record.as_ref().unwrap().execution_uuid, f.uuids[2]);

    let prefix = RunId::from(f.uuids[0]).short();
    let view = show(&f.store_path, &f.runs, &prefix.to_uppercase()).unwrap();
    assert_eq!(view.uuid, f.u(0));
    assert_eq!(view.verdict, super::Verdict::Success);

    let err = show(&f.store_path, &f.runs, "ffffffff-ffff").unwrap_err();
    assert!(matches!(err, AuditError::UnknownRun { .. }), "{err}");
    let err = show(&f.store_path, &f.runs, "not a uuid").unwrap_err();
    assert!(matches!(err, AuditError::BadPrefix { .. }), "{err}");

    let a = v4_with_prefix([0xab, 0xcd, 0xef, 0x01]);
    let b = v4_with_prefix([0xab, 0xcd, 0xef, 0x02]);
    f.add_run(a, 0, true, |r| r.to_json());
    f.add_run(b, 0, true, |r| r.to_json());
    match show(&f.store_path, &f.runs, "abcdef0").unwrap_err() {
        AuditError::Ambiguous {
            count, candidates, ..
        } => {
            assert_eq!(count, 2);
            assert!(candidates.contains(&a.to_string()) && candidates.contains(&b.to_string()));
        }
        other => panic!("expected ambiguous, got {other}"),
    }
    assert_eq!(
        show(&f.store_path, &f.runs, "abcdef02").unwrap().uuid,
        b.to_string()
    );
    assert_clean(&f.audit());
}

#[test]
fn show_points_at_run_files_without_a_row() {
    let f = Fixture::new(1);
    let fake = v4_with_prefix([0x12, 0x34, 0x56, 0x78]);
    record::write(&f.runs, &f.record(fake, 0, true), "20261124T000000Z").unwrap();
    let err = show(&f.store_path, &f.runs, "12345678").unwrap_err();
    assert!(err.to_string().contains("_12345678.json"), "{err}");
}

/// `HARNESS_AUDIT_BENCH=100000 cargo test --release --lib audit::tests::bench -- --ignored --nocapture`
#[test]
#[ignore]
fn bench() {
    let n: usize = std::env::var("HARNESS_AUDIT_BENCH")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let mut f = Fixture::new(1);
    let started = std::time::Instant::now();
    bulk(&mut f, n);
    eprintln!("built {n} runs in {:?}", started.elapsed());
    let started = std::time::Instant::now();
    let mut opts = f.opts();
    opts.prompts.clear();
    let report = audit(&f.store_path, &opts).unwrap();
    eprintln!(
        "audited {} runs / {} files in {:?}, {} findings",
        report.runs_checked,
        report.files_checked,
        started.elapsed(),
        report.findings.len()
    );
    for finding in report.findings.iter().take(10) {
        eprintln!("{finding}");
    }
    assert_eq!(report.runs_checked, n + 1);
}

/// Many runs quickly: one transaction, no prompt rows (the prompt is left out of the bench).
fn bulk(f: &mut Fixture, n: usize) {
    let conn = Connection::open(&f.store_path).unwrap();
    conn.execute_batch("BEGIN").unwrap();
    let mut prev: String = conn
        .query_row("SELECT hash FROM run ORDER BY seq DESC LIMIT 1", [], |r| {
            r.get(0)
        })
        .unwrap();
    for i in 0..n {
        let uuid = Uuid::new_v4();
        let rec = f.record(uuid, 0, true);
        let json = rec.to_json();
        let file = f
            .runs
            .join(RunId::from(uuid).file_name(&format!("20261201T{i:06}Z")));
        std::fs::write(&file, &json).unwrap();
        let dir = RunDir::new(&f.runs, uuid.into()).logs();
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("a.log"), format!("execution_uuid={uuid}\n")).unwrap();
        let hash = super::db::chain_hash(&prev, json.as_bytes());
        conn.execute(
            "INSERT INTO run (uuid, task_id, version_id, started_at, success, duration_ms, file, json, prev_hash, hash)
             VALUES (?1, ?2, ?3, ?4, 1, ?5, ?6, ?7, ?8, ?9)",
            rusqlite::params![uuid.to_string(), f.task_id, f.versions[0].id, rec.timestamp,
                rec.metrics.duration_ms as i64, file.to_string_lossy(), json, prev, hash],
        )
        .unwrap();
        let seq = conn.last_insert_rowid();
        for (idx, s) in rec.steps.iter().enumerate() {
            conn.execute(
                "INSERT INTO step (run_seq, idx, name, status, duration_ms, signature, evidence) VALUES (?1, ?2, ?3, ?4, 0, ?5, '{}')",
                rusqlite::params![seq, idx as i64, s.name, s.status(), s.signature().map(|g| g.as_str())],
            )
            .unwrap();
        }
        prev = hash;
    }
    conn.execute_batch("COMMIT").unwrap();
}

/// An audit that keeps its verdicts, started once the fixture's files have settled.
fn cached_audit(f: &Fixture) -> AuditReport {
    let mut opts = f.opts();
    opts.cache = Some(super::audit_cache_path(&f.store_path));
    let later = std::time::SystemTime::now() + super::cache::SETTLE * 2;
    super::check::audit_as_of(&f.store_path, &opts, later).unwrap()
}

#[test]
fn a_cached_audit_reads_again_only_what_changed() {
    let f = Fixture::new(4);
    // Files changed within SETTLE of an audit are read, and not kept for the next.
    let mut opts = f.opts();
    opts.cache = Some(super::audit_cache_path(&f.store_path));
    for _ in 0..2 {
        let report = audit(&f.store_path, &opts).unwrap();
        assert_clean(&report);
        assert_eq!(report.runs_unchanged, 0);
    }
    let first = cached_audit(&f);
    assert_clean(&first);
    assert_eq!((first.files_checked, first.runs_unchanged), (4, 0));
    let second = cached_audit(&f);
    assert_clean(&second);
    assert_eq!((second.files_checked, second.runs_unchanged), (4, 4));

    // A byte edited with size and mtime kept: the change time gives it away.
    let mtime = std::fs::metadata(&f.files[1]).unwrap().modified().unwrap();
    let mut bytes = std::fs::read(&f.files[1]).unwrap();
    let at = bytes.windows(4).position(|w| w == b"1.46").unwrap();
    bytes[at] = b'9';
    std::fs::write(&f.files[1], &bytes).unwrap();
    let file = std::fs::File::options()
        .write(true)
        .open(&f.files[1])
        .unwrap();
    file.set_modified(mtime).unwrap();
    // A captured log replaced, a column and a step row changed outside the hash.
    let logs = RunDir::new(&f.runs, f.uuids[2].into()).log("h-web-1");
    std::fs::write(logs, "no uuid here\n").unwrap();
    f.sql(
        "UPDATE run SET success = 1 - success WHERE uuid = ?1",
        f.uuids[3],
    );
    f.sql(
        "UPDATE step SET status = 'skip' WHERE idx = 0 AND run_seq = (SELECT seq FROM run WHERE uuid = ?1)",
        f.uuids[0],
    );
    let expected = sorted(vec![
        (FindingKind::StepMismatch, f.u(0)),
        (FindingKind::Edited, f.u(1)),
        (FindingKind::EvidenceMissingUuid, f.u(2)),
        (FindingKind::RowMismatch, f.u(3)),
    ]);
    let third = cached_audit(&f);
    assert_eq!(kinds(&third), expected);
    assert_eq!(third.runs_unchanged, 0);
    // The same findings with no cache at all: the cache only skips what a full audit passes.
    assert_eq!(kinds(&f.audit()), expected);
}

#[test]
fn an_unreadable_cache_costs_only_speed() {
    let f = Fixture::new(2);
    std::fs::write(super::audit_cache_path(&f.store_path), "not a database").unwrap();
    let report = cached_audit(&f);
    assert_clean(&report);
    assert_eq!((report.files_checked, report.runs_unchanged), (2, 0));
    // Replaced by a new cache.
    let report = cached_audit(&f);
    assert_clean(&report);
    assert_eq!((report.files_checked, report.runs_unchanged), (2, 2));
}
