//! The loop the harness exists for: from the seed's broken config to a graduated one,
//! with no human edit, every step explained and recorded.

mod common;

use common::{Workspace, engine_available, ensure_images};
use harness::task::Prompt;

#[test]
fn propose_only_shows_the_next_mutation_and_writes_nothing() {
    if !engine_available("propose_only") {
        return;
    }
    ensure_images();
    let ws = Workspace::new("it_propose");
    let before = std::fs::read(ws.task()).expect("read");
    let out = ws
        .harness()
        .args(["iterate", "--runs-per-version", "1", "--task"])
        .arg(ws.task())
        .output()
        .expect("spawn");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    // The shipped task raises lint's slow-healthcheck to an error, and a fix that only
    // shortens waits comes before the fixes of what failed.
    assert!(
        stdout.contains("next after v1: quick-healthcheck"),
        "{stdout}"
    );
    assert!(
        stdout.contains("-      interval: 30s") && stdout.contains("+      retries: 45"),
        "the diff is shown: {stdout}"
    );
    assert!(stdout.contains("propose-only"), "{stdout}");
    let after = std::fs::read(ws.task()).expect("read");
    // Only the run's own metrics and history row changed, never the config.
    let prompt = Prompt::parse(ws.task(), String::from_utf8(after).expect("utf8")).expect("parse");
    let seed = Prompt::parse(ws.task(), String::from_utf8(before).expect("utf8")).expect("parse");
    assert_eq!(prompt.config_yaml(), seed.config_yaml());
    assert!(ws.leftovers().is_empty());

    // `harness propose` gives the same answer from the scoreboard.
    assert_eq!(proposed(&ws), "quick-healthcheck");

    // Without the block's `lint:` the author's interval is a warning and stays: the same
    // failed run asks for the fixes of what failed, first the ports.
    let text = std::fs::read_to_string(ws.task()).expect("read");
    let start = text
        .find("\nlint:\n")
        .expect("the shipped block raises a rule");
    let end = start + text[start..].find("\n```").expect("block end");
    std::fs::write(ws.task(), format!("{}{}", &text[..start], &text[end..])).expect("write");
    assert_eq!(proposed(&ws), "engine-assigned-port");
}

/// The mutation `harness propose` offers for the task's last failed run.
fn proposed(ws: &Workspace) -> String {
    let out = ws
        .harness()
        .args(["--json", "propose", "--task"])
        .arg(ws.task())
        .output()
        .expect("spawn");
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    doc["proposal"]["mutation"]
        .as_str()
        .unwrap_or_else(|| panic!("{doc:#}"))
        .to_string()
}

#[test]
fn the_seed_config_graduates_with_no_human_edit() {
    if !engine_available("the_seed_config_graduates") {
        return;
    }
    ensure_images();
    let ws = Workspace::new("it_graduate");
    let graduated = ws.dir.path().join("graduated.yml");
    let tracked_before = tracked_changes();
    let out = ws
        .harness()
        .env_remove("ANTHROPIC_API_KEY")
        .args([
            "iterate",
            "--apply",
            "--until-graduated",
            "--max-iterations",
            "12",
            "--graduate-to",
        ])
        .arg(&graduated)
        .arg("--task")
        .arg(ws.task())
        .output()
        .expect("spawn");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("graduated →"), "{stdout}");

    let prompt = Prompt::load(&ws.task()).expect("prompt");
    let history = prompt.history();
    let versions: Vec<&str> = history.iter().map(|r| r.version.as_str()).collect();
    assert!(
        versions.first() == Some(&"v1") && versions.len() >= 12,
        "{versions:?}"
    );
    // The story: several versions, each a named mutation, the last one graduated.
    let last = history.last().expect("rows");
    assert!(last.result.contains("graduated"), "{last:?}");
    let distinct: std::collections::BTreeSet<&str> = versions.iter().copied().collect();
    assert!(
        distinct.len() >= 4,
        "the config changed several times: {versions:?}"
    );
    let db = rusqlite::Connection::open(ws.db()).expect("db");
    for row in history {
        assert!(
            !ws.files_containing(&row.uuid).is_empty(),
            "{} not in runs/",
            row.uuid
        );
        let found: i64 = db
            .query_row(
                "SELECT COUNT(*) FROM run WHERE uuid = ?1",
                [&row.uuid],
                |r| r.get(0),
            )
            .expect("query");
        assert_eq!(found, 1, "{} not in the scoreboard", row.uuid);
    }
    // Each new version names its mutation and the evidence it answers.
    let mutations: Vec<String> = db
        .prepare("SELECT mutation FROM version ORDER BY number")
        .expect("prepare")
        .query_map([], |r| r.get(0))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows");
    assert_eq!(mutations.first().map(String::as_str), Some("seed"));
    assert!(
        mutations.iter().any(|m| m == "engine-assigned-port"),
        "{mutations:?}"
    );
    assert!(
        mutations.iter().any(|m| m == "image-healthcheck"),
        "{mutations:?}"
    );
    // The task asked for quick healthchecks: the 30s interval went in a version of its own.
    assert_eq!(
        mutations.get(1).map(String::as_str),
        Some("quick-healthcheck"),
        "{mutations:?}"
    );
    // The seed mounts the host's Claude login; the graduated config must not.
    assert!(
        mutations.iter().any(|m| m == "drop-credential-mount"),
        "{mutations:?}"
    );

    // The graduated config is the task's final candidate, and it lints clean of errors.
    let text = std::fs::read_to_string(&graduated).expect("graduated file");
    assert!(text.starts_with("# Graduated: "), "{text}");
    assert!(!text.contains(".claude"), "{text}");
    assert!(text.ends_with(prompt.config_yaml()), "{text}");
    let file =
        harness::compose::ComposeFile::parse("graduated", prompt.config_yaml(), 1).expect("parse");
    let errors: Vec<_> = harness::lint::lint(&file)
        .into_iter()
        .filter(|f| f.level == harness::lint::Level::Error)
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    assert!(
        ws.leftovers().is_empty(),
        "left behind: {:?}",
        ws.leftovers()
    );
    // The main job (run from the repository, as the README runs it) rewrote no tracked file.
    assert_eq!(
        tracked_changes(),
        tracked_before,
        "the job changed tracked files"
    );
}

/// `git status` of the tracked files and the diff against HEAD, or `None` (after saying
/// why) outside a git checkout — a source tarball has nothing to compare.
fn tracked_changes() -> Option<(String, String)> {
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .args(args)
            .current_dir(common::REPO)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
    };
    let status = git(&["status", "--porcelain", "--untracked-files=no"]);
    let diff = git(&["diff", "HEAD", "--no-ext-diff", "--binary"]);
    let both = status.zip(diff);
    if both.is_none() {
        eprintln!("not a git checkout: tracked files are not compared");
    }
    both
}
