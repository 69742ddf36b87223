//! `harness export --jsonl` and `harness import` between real scoreboards on disk, and the
//! scoreboard's durability: a `kill -9` in the middle of an import, four imports at once.
//! No engine needed: the source scoreboards are recorded through the library, as `harness
//! run` records (run file first, then the chained row).

use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use harness::run::record::{self, DeploymentRecord, EngineRecord, Metrics, RunRecord, RunStatus};
use harness::run::{Signature, StepKind};
use harness::store::{NewRun, NewVersion, Store};
use serde_json::{Value, json};
use uuid::Uuid;

#[path = "support/records.rs"]
mod records;

/// `harness` run from `dir` (so no prompts/ of the repository is audited), on `db` and `runs`.
fn harness(dir: &Path, db: &Path, runs: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_harness"));
    cmd.current_dir(dir)
        .env_remove("HARNESS_DB")
        .env_remove("HARNESS_RUNS_DIR")
        .arg("--db")
        .arg(db)
        .arg("--runs-dir")
        .arg(runs);
    cmd
}

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A scoreboard and runs dir in a temp dir.
struct Board {
    dir: tempfile::TempDir,
}

impl Board {
    fn new() -> Board {
        Board {
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }
    fn db(&self) -> PathBuf {
        self.dir.path().join("scoreboard.db")
    }
    fn runs(&self) -> PathBuf {
        self.dir.path().join("runs")
    }
    fn cmd(&self) -> Command {
        harness(self.dir.path(), &self.db(), &self.runs())
    }

    /// Records `n` runs of `task` under two versions (v2 a mutation of v1); with `files`,
    /// each run's file too. `uuids` overrides the first UUIDs; `salt` changes the bytes.
    fn record(&self, task: &str, n: usize, files: bool, uuids: &[Uuid], salt: u64) -> Vec<Uuid> {
        let mut store = Store::open(&self.db()).expect("open");
        let task_id = store
            .task_id(task, &format!("prompts/{task}.md"))
            .expect("task");
        let v1 = store
            .version(
                task_id,
                &NewVersion {
                    hash: "a1a1a1a1a1a1a1a1a1a1a1a1",
                    config: "services:\n  app:\n    image: x\n",
                    parent: None,
                    mutation: "seed",
                    reason: "the seed's config",
                },
            )
            .expect("v1");
        let v2 = store
            .version(
                task_id,
                &NewVersion {
                    hash: "b2b2b2b2b2b2b2b2b2b2b2b2",
                    config: "services:\n  app:\n    image: x\n    restart: always\n",
                    parent: Some(v1.id),
                    mutation: "restart-policy",
                    reason: "the app did not come back",
                },
            )
            .expect("v2");
        store
            .record_provenance(v2.id, "catalog", r#"{"proposer":"catalog","latency_ms":3}"#)
            .expect("provenance");
        let mut made = Vec::new();
        for i in 0..n {
            let uuid = uuids.get(i).copied().unwrap_or_else(Uuid::new_v4);
            let version = if i < n / 2 { &v1 } else { &v2 };
            let started = chrono::DateTime::parse_from_rfc3339("2026-11-23T10:00:00Z")
                .expect("time")
                .to_utc()
                + chrono::Duration::seconds(i as i64);
            let success = i % 4 != 1;
            let rec = RunRecord {
                timestamp: started.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                task: task.to_string(),
                version: version.label(),
                config_hash: version.hash.clone(),
                deployment: DeploymentRecord {
                    api_port: Some(40000 + i as u16),
                    websocket_port: Some(41000 + i as u16),
                    instance_id: harness::run::RunId::from(uuid).project(task, 0),
                    services_healthy: success,
                },
                metrics: Metrics {
                    startup_duration: 1.5,
                    success,
                    duration_ms: 1000 + i as u64 + salt,
                    status: Some(if success {
                        RunStatus::Success
                    } else {
                        RunStatus::Failure
                    }),
                },
                steps: {
                    let failing = (!success).then_some((StepKind::Deploy, Signature::PortConflict));
                    let mut steps = records::whole_protocol(failing);
                    steps[1].evidence = harness::run::Evidence::read(
                        "deploy",
                        json!({"stderr": "line one\n\"quoted\" ✓", "i": i}),
                    );
                    steps
                },
                engine: EngineRecord {
                    compose: "docker-compose 1.29.2".into(),
                    docker: "20.10.24".into(),
                    api_version: "1.41".into(),
                },
                partial: Vec::new(),
                error: None,
                execution_uuid: uuid,
            };
            let stamp = started.format("%Y%m%dT%H%M%SZ").to_string();
            let file = if files {
                record::write(&self.runs(), &rec, &stamp).expect("write run file")
            } else {
                self.runs().join(rec.id().file_name(&stamp))
            };
            store
                .insert_run(
                    task_id,
                    &NewRun {
                        uuid: &uuid.to_string(),
                        version_id: version.id,
                        started_at: &rec.timestamp,
                        status: rec.status(),
                        duration_ms: rec.metrics.duration_ms,
                        file: &file.to_string_lossy(),
                        json: &rec.to_json(),
                        steps: &rec.steps,
                    },
                )
                .expect("insert run");
            made.push(uuid);
        }
        made
    }

    fn export(&self) -> String {
        let out = self
            .cmd()
            .args(["export", "--jsonl"])
            .output()
            .expect("spawn");
        let (stdout, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(0), "export: {stderr}");
        stdout
    }

    fn import(&self, stream: &Path) -> Output {
        self.cmd()
            .arg("import")
            .arg(stream)
            .output()
            .expect("spawn")
    }

    /// `harness audit --json`: exit code and findings.
    fn audit(&self) -> (i32, Vec<Value>) {
        let out = self
            .cmd()
            .args(["--json", "audit"])
            .output()
            .expect("spawn");
        let (stdout, stderr) = text(&out);
        let report: Value = serde_json::from_str(&stdout)
            .unwrap_or_else(|e| panic!("audit --json: {e}: {stdout} {stderr}"));
        let findings = report["findings"].as_array().cloned().unwrap_or_default();
        (out.status.code().unwrap_or(-1), findings)
    }

    fn assert_audits_clean(&self) {
        let (code, findings) = self.audit();
        assert_eq!((code, findings.len()), (0, 0), "{findings:#?}");
    }

    fn uuids_in_db(&self) -> Vec<String> {
        let conn = rusqlite::Connection::open(self.db()).expect("open");
        let mut stmt = conn
            .prepare("SELECT uuid FROM run ORDER BY seq")
            .expect("prepare");
        stmt.query_map([], |r| r.get(0))
            .expect("query")
            .collect::<Result<_, _>>()
            .expect("rows")
    }

    fn write_stream(&self, name: &str, stream: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, stream).expect("write stream");
        path
    }
}

#[test]
fn a_round_trip_into_a_fresh_scoreboard_audits_clean_and_exports_the_same_bytes() {
    let src = Board::new();
    src.record("alpha", 8, true, &[], 0);
    src.record("beta", 5, true, &[], 0);
    src.assert_audits_clean();
    let stream = src.export();
    assert_eq!(stream.lines().count(), 13);
    let first: Value = serde_json::from_str(stream.lines().next().expect("a line")).expect("json");
    for key in ["task", "version", "run"] {
        assert!(first.get(key).is_some(), "no `{key}` in {first}");
    }
    assert!(
        first["run"]["json"]
            .as_str()
            .is_some_and(|j| j.contains("execution_uuid"))
    );
    assert!(first["version"]["config"].as_str().is_some());
    // Who proposed v2 travels with it; the seed has no proposer.
    let provenance: Vec<Value> = stream
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).expect("json")["version"]["provenance"].clone())
        .collect();
    assert!(provenance.contains(&serde_json::json!({"proposer": "catalog", "latency_ms": 3})));
    assert!(provenance.contains(&Value::Null));

    let dst = Board::new();
    let path = dst.write_stream("runs.jsonl", &stream);
    let out = dst.import(&path);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    assert!(
        stdout.contains("13 imported, 0 already present, 0 conflict(s)"),
        "{stdout}"
    );
    dst.assert_audits_clean();
    // Same rows, same run files, same chain: the fresh scoreboard exports the same bytes.
    assert_eq!(dst.export(), stream);

    // From stdin too, into another fresh scoreboard.
    let third = Board::new();
    let mut child = third
        .cmd()
        .args(["import", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn");
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().expect("stdin");
        stdin.write_all(stream.as_bytes()).expect("feed");
    }
    let out = child.wait_with_output().expect("wait");
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    third.assert_audits_clean();
}

#[test]
fn duplicates_are_skipped_and_a_missing_run_file_comes_back() {
    let src = Board::new();
    src.record("alpha", 6, true, &[], 0);
    let stream = src.export();

    // Into the scoreboard it came from: every run is already there.
    let path = src.write_stream("runs.jsonl", &stream);
    let out = src.import(&path);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    assert!(
        stdout.contains("0 imported, 6 already present, 0 conflict(s)"),
        "{stdout}"
    );
    assert_eq!(src.uuids_in_db().len(), 6);
    src.assert_audits_clean();

    // Twice into a fresh one; the second time, one run file had been deleted.
    let dst = Board::new();
    let path = dst.write_stream("runs.jsonl", &stream);
    assert_eq!(dst.import(&path).status.code(), Some(0));
    let victim = std::fs::read_dir(dst.runs())
        .expect("runs")
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "json"))
        .expect("a run file");
    std::fs::remove_file(&victim).expect("rm");
    let out = dst.import(&path);
    let (stdout, _) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("0 imported, 6 already present"), "{stdout}");
    assert!(stdout.contains("its missing run file restored"), "{stdout}");
    assert!(victim.is_file());
    assert_eq!(dst.uuids_in_db().len(), 6);
    dst.assert_audits_clean();
}

#[test]
fn a_conflict_is_reported_and_the_scoreboard_keeps_its_own_run() {
    let shared = Uuid::new_v4();
    let a = Board::new();
    a.record("alpha", 4, true, &[shared], 0);
    // Another scoreboard holds a different run under the same UUID.
    let b = Board::new();
    let b_uuids = b.record("alpha", 4, true, &[shared], 7);
    let row_before = a.export();

    let path = a.write_stream("b.jsonl", &b.export());
    let out = a.import(&path);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    let conflict = stdout
        .lines()
        .find(|l| l.starts_with("conflict"))
        .unwrap_or_else(|| panic!("no conflict line: {stdout}"));
    assert!(conflict.contains(&shared.to_string()), "{conflict}");
    assert!(
        conflict.contains("line 1") && conflict.contains("different content"),
        "{conflict}"
    );
    assert!(
        stdout.contains("3 imported, 0 already present, 1 conflict(s)"),
        "{stdout}"
    );

    // A's run is untouched, B's other runs were added, and the chain still verifies.
    let after = a.export();
    assert!(after.starts_with(&row_before), "the existing rows changed");
    let in_db: HashSet<String> = a.uuids_in_db().into_iter().collect();
    for u in &b_uuids[1..] {
        assert!(in_db.contains(&u.to_string()));
    }
    a.assert_audits_clean();

    // --json names the conflict by line and UUID.
    let out = a
        .cmd()
        .arg("--json")
        .arg("import")
        .arg(&path)
        .output()
        .expect("spawn");
    let summary: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(summary["conflicts"][0]["line"], 1);
    assert_eq!(summary["conflicts"][0]["uuid"], shared.to_string());
    assert_eq!(summary["duplicates"], 3);
}

/// Edits line `n` (1-based) of `stream` through `f` on its parsed JSON.
fn edit_line(stream: &str, n: usize, f: impl FnOnce(&mut Value)) -> String {
    let mut lines: Vec<String> = stream.lines().map(str::to_string).collect();
    let mut v: Value = serde_json::from_str(&lines[n - 1]).expect("json");
    f(&mut v);
    lines[n - 1] = serde_json::to_string(&v).expect("ser");
    lines.join("\n") + "\n"
}

#[test]
fn a_tampered_stream_is_rejected_by_line_number_and_nothing_is_written() {
    let src = Board::new();
    src.record("alpha", 6, true, &[], 0);
    let stream = src.export();
    let dst = Board::new();

    let flip = |v: &mut Value| {
        let json = v["run"]["json"].as_str().expect("json").to_string();
        v["run"]["json"] = json!(json.replacen("\"duration_ms\": 100", "\"duration_ms\": 900", 1));
    };
    let cases: Vec<(&str, String, &[&str])> = vec![
        (
            "one byte of a run's json",
            edit_line(&stream, 3, flip),
            &[":3:", "edited"],
        ),
        (
            "the json edited and its hash recomputed",
            edit_line(&stream, 3, |v| {
                let json = v["run"]["json"].as_str().expect("json").to_string();
                v["run"]["json"] =
                    json!(json.replacen("\"api_port\": 4000", "\"api_port\": 5000", 1));
                let prev = v["run"]["prev_hash"].as_str().expect("prev").to_string();
                let json = v["run"]["json"].as_str().expect("json").to_string();
                v["run"]["hash"] = json!(harness::store::chain_hash(&prev, json.as_bytes()));
            }),
            &[":4:", "chain broken", "line 3"],
        ),
        (
            "a line removed",
            stream
                .lines()
                .enumerate()
                .filter(|(i, _)| *i != 1)
                .map(|(_, l)| format!("{l}\n"))
                .collect(),
            &[":2:", "chain broken", "line 1"],
        ),
        (
            "a column that disagrees with the json",
            edit_line(&stream, 5, |v| {
                v["run"]["success"] = json!(!v["run"]["success"].as_bool().unwrap_or(false))
            }),
            &[":5:", "success"],
        ),
        (
            "a file name that leaves runs/",
            edit_line(&stream, 2, |v| {
                let f = v["run"]["file"].as_str().expect("file").to_string();
                v["run"]["file"] = json!(format!("../{f}"));
            }),
            &[":2:", "not a run file name"],
        ),
        (
            "not JSON",
            stream.replacen('{', "[", 1),
            &[":1:", "not a `harness export --jsonl` line"],
        ),
    ];
    for (what, tampered, needles) in cases {
        assert_ne!(tampered, stream, "{what}: the edit did nothing");
        let path = dst.write_stream("tampered.jsonl", &tampered);
        let out = dst.import(&path);
        let (stdout, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(2), "{what}: {stdout}{stderr}");
        assert!(stderr.contains("tampered.jsonl:"), "{what}: {stderr}");
        for needle in needles {
            assert!(
                stderr.contains(needle),
                "{what}: `{needle}` not in {stderr}"
            );
        }
        assert!(stderr.contains("nothing was imported"), "{what}: {stderr}");
        assert!(!dst.db().exists(), "{what}: a scoreboard was created");
        assert!(!dst.runs().exists(), "{what}: run files were written");
    }
}

#[test]
fn kill_9_in_the_middle_of_an_import_loses_no_committed_run() {
    let src = Board::new();
    let total = 1200;
    let made = src.record("alpha", total, false, &[], 0);
    let stream = src.export();
    let dst = Board::new();
    let path = dst.write_stream("big.jsonl", &stream);

    let mut child = dst
        .cmd()
        .arg("import")
        .arg(&path)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let mut printed = Vec::new();
    while printed.len() < 200 {
        match lines.next() {
            Some(Ok(l)) => printed.push(l),
            _ => break,
        }
    }
    child.kill().expect("SIGKILL");
    let status = child.wait().expect("wait");
    assert_eq!(
        status.code(),
        None,
        "the import finished before the kill: make the stream bigger"
    );
    printed.extend(lines.map_while(Result::ok));
    assert!(printed.len() >= 200, "{printed:?}");

    // The scoreboard opens and is intact.
    let conn = rusqlite::Connection::open(dst.db()).expect("open after kill -9");
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .expect("integrity_check");
    assert_eq!(check, "ok");
    // Every run the import reported is there, with its steps; the rows are a prefix of the stream.
    let in_db = dst.uuids_in_db();
    let expected: Vec<String> = made.iter().take(in_db.len()).map(Uuid::to_string).collect();
    assert_eq!(in_db, expected);
    assert!(in_db.len() < total);
    for l in &printed {
        let uuid = l.split_whitespace().nth(1).expect("uuid");
        assert!(in_db.iter().any(|u| u == uuid), "reported {uuid} is lost");
    }
    let steps: i64 = conn
        .query_row("SELECT COUNT(*) FROM step", [], |r| r.get(0))
        .expect("steps");
    let each = StepKind::ALL.len() as i64;
    assert_eq!(
        steps,
        each * in_db.len() as i64,
        "a run without all its steps"
    );
    drop(conn);

    // The audit finds the committed runs clean; the only thing it may see is the run file of
    // the one run in flight, written before its row (the order a run is always recorded in).
    let (_, findings) = dst.audit();
    let in_db: HashSet<&String> = in_db.iter().collect();
    let unexpected: Vec<&Value> = findings
        .iter()
        .filter(|f| {
            f["kind"] != "unknown_run"
                || f["uuid"]
                    .as_str()
                    .is_some_and(|u| in_db.contains(&u.to_string()))
        })
        .collect();
    assert!(unexpected.is_empty(), "{unexpected:#?}");
    assert!(findings.len() <= 1, "{findings:#?}");

    // Importing again finishes the job: nothing twice, nothing lost, a clean audit.
    let out = dst.import(&path);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let summary = stdout.lines().last().expect("summary");
    assert!(
        summary.contains(&format!(
            "{} imported, {} already present",
            total - in_db.len(),
            in_db.len()
        )),
        "{summary}"
    );
    assert_eq!(dst.uuids_in_db().len(), total);
    dst.assert_audits_clean();
}

#[test]
fn four_imports_at_once_into_one_new_scoreboard_keep_every_row_and_the_chain() {
    let sources: Vec<Board> = (0..4).map(|_| Board::new()).collect();
    let mut all = HashSet::new();
    for s in &sources {
        // One task for all four: their rows interleave on one chain.
        all.extend(
            s.record("shared", 150, true, &[], 0)
                .iter()
                .map(Uuid::to_string),
        );
    }
    let dst = Board::new();
    let streams: Vec<PathBuf> = sources
        .iter()
        .enumerate()
        .map(|(i, s)| dst.write_stream(&format!("s{i}.jsonl"), &s.export()))
        .collect();
    // The scoreboard does not exist yet: the four race to create and migrate it too.
    let children: Vec<_> = streams
        .iter()
        .map(|p| {
            dst.cmd()
                .arg("import")
                .arg(p)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn")
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().expect("wait");
        let (stdout, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
        assert!(
            !stderr.contains("locked") && !stderr.contains("busy"),
            "{stderr}"
        );
        assert!(stdout.contains("150 imported"), "{stdout}");
    }
    let in_db: HashSet<String> = dst.uuids_in_db().into_iter().collect();
    assert_eq!(in_db, all);
    dst.assert_audits_clean();
}

#[test]
fn versions_numbered_differently_here_are_conflicts_and_task_exports_stand_alone() {
    let src = Board::new();
    src.record("alpha", 4, true, &[], 0);
    src.record("beta", 3, true, &[], 0);

    // --task: one task's chain, verifiable on its own.
    let out = src
        .cmd()
        .args(["export", "--jsonl", "--task", "beta"])
        .output()
        .expect("spawn");
    let beta = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(beta.lines().count(), 3);
    let dst = Board::new();
    let path = dst.write_stream("beta.jsonl", &beta);
    assert_eq!(dst.import(&path).status.code(), Some(0));
    dst.assert_audits_clean();

    // Here, alpha's v1 is another config: the stream's v1 runs cannot be filed under it;
    // its v2 is free here, so v2's runs land (with no parent: theirs is not here).
    let clash = Board::new();
    {
        let mut store = Store::open(&clash.db()).expect("open");
        let t = store.task_id("alpha", "prompts/alpha.md").expect("task");
        store
            .version(
                t,
                &NewVersion {
                    hash: "ffffffffffffffffffffffff",
                    config: "services: {}\n",
                    parent: None,
                    mutation: "seed",
                    reason: "another history",
                },
            )
            .expect("v1");
    }
    let path = clash.write_stream("alpha.jsonl", &src.export());
    let out = clash.import(&path);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    let conflicts: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("conflict"))
        .collect();
    assert_eq!(conflicts.len(), 2, "{stdout}");
    assert!(
        conflicts
            .iter()
            .all(|l| l.contains("v1 of task `alpha` here is another config")),
        "{stdout}"
    );
    // alpha's v2 runs and all of beta are imported, and what is there audits clean.
    assert!(
        stdout.contains("5 imported, 0 already present, 2 conflict(s)"),
        "{stdout}"
    );
    clash.assert_audits_clean();
    let conn = rusqlite::Connection::open(clash.db()).expect("open");
    let parent: Option<i64> = conn
        .query_row(
            "SELECT v.parent_id FROM version v JOIN task t ON t.id = v.task_id
             WHERE t.name = 'alpha' AND v.number = 2",
            [],
            |r| r.get(0),
        )
        .expect("v2");
    assert_eq!(parent, None, "v2 hung under a v1 that is another config");
}

#[test]
fn a_task_the_scoreboard_does_not_record_is_named_with_the_ones_it_does() {
    let board = Board::new();
    board.record("alpha", 1, true, &[], 0);
    board.record("beta", 1, true, &[], 0);
    // A prompt's path where its name belongs, and a typo: each command says so, exit 2.
    for task in ["prompts/alpha.md", "alpah"] {
        for command in [&["audit"][..], &["scoreboard"], &["export", "--jsonl"]] {
            let out = board
                .cmd()
                .args(command)
                .args(["--task", task])
                .output()
                .expect("spawn");
            let (stdout, stderr) = text(&out);
            assert_eq!(out.status.code(), Some(2), "{command:?} {stdout}{stderr}");
            assert!(stdout.is_empty(), "{command:?}: {stdout}");
            for needle in [
                format!("no task named `{task}`"),
                "scoreboard.db".to_string(),
                "alpha, beta".to_string(),
                "without `.md`".to_string(),
            ] {
                assert!(stderr.contains(&needle), "{command:?} {needle}: {stderr}");
            }
        }
    }
    let out = board
        .cmd()
        .args(["scoreboard", "--task", "alpha"])
        .output()
        .expect("spawn");
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
}
