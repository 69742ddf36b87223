//! Secrets written into a config land nowhere the harness writes: not in a proposal (its
//! yaml, diff, reason or scratch copy), a version row, an attempt reason or a run file —
//! only in the author's own task, which is what deploys.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::{Workspace, engine_available, ensure_images};
use harness::task::Prompt;

const DB_PW: &str = "planted-db-pw-5c1e";
const APIKEY: &str = "planted-apikey-77ab";
const URL_PW: &str = "planted-url-pw-9d0f";
/// Known to the harness only as the value of `FOO_TOKEN` in its environment.
const ENV_TOKEN: &str = "planted-env-token-41e2";
const PLANTED: [&str; 4] = [DB_PW, APIKEY, URL_PW, ENV_TOKEN];

fn config() -> String {
    format!(
        "services:\n  redis:\n    image: harness/redis:local\n  app:\n    image: harness/executor:local\n    ports: [\"127.0.0.1::8000\"]\n    labels:\n      note: \"{ENV_TOKEN}\"\n    environment:\n      DB_PASSWORD: {DB_PW}\n      STRIPE_APIKEY: {APIKEY}\n      CACHE_URL: redis://:{URL_PW}@localhost:6379/0\n"
    )
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn files(dir: &Path, out: &mut Vec<PathBuf>, depth: usize) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() && depth < 8 {
            files(&path, out, depth + 1);
        } else {
            out.push(path);
        }
    }
}

/// This stack is not the reference one, so the reference prompt's protocol block (which
/// names the reference's services) would be refused against it: the task gets one of its
/// own. Only lint runs here; the block must still fit the config to be read at all.
fn with_own_protocol_block(prompt: &str) -> String {
    const BLOCK: &str = "apps:\n  - service: app\n    http:\n      - {port: 8000, path: /health}\n";
    let start = prompt
        .find("```harness-protocol\n")
        .expect("the reference prompt has a protocol block")
        + "```harness-protocol\n".len();
    let end = start + prompt[start..].find("```\n").expect("the block is closed");
    format!("{}{BLOCK}{}", &prompt[..start], &prompt[end..])
}

#[test]
fn a_planted_secret_in_a_config_lands_in_no_record() {
    if !engine_available("a_planted_secret_in_a_config_lands_in_no_record") {
        return;
    }
    ensure_images();
    let ws = Workspace::new("it_redact");
    let prompt = Prompt::load(&ws.task()).expect("task loads");
    let planted = prompt.replace_config(&config()).expect("replace");
    std::fs::write(ws.task(), with_own_protocol_block(&planted)).expect("write task");
    let harness = |args: &[&str]| -> Output {
        ws.harness()
            .env("FOO_TOKEN", ENV_TOKEN)
            .args(args)
            .arg("--task")
            .arg(ws.task())
            .output()
            .expect("spawn harness")
    };

    let run = harness(&["run", "--steps", "lint", "--no-reaper"]);
    assert_eq!(run.status.code(), Some(1), "{}", text(&run));
    let propose = harness(&["--json", "propose"]);
    let doc: serde_json::Value = serde_json::from_slice(&propose.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", text(&propose)));
    assert_eq!(doc["proposal"]["mutation"], "service-host", "{doc:#}");
    let yaml = doc["proposal"]["yaml"].as_str().expect("yaml");
    // The proposal is the config as recorded: references where the secrets were.
    for reference in [
        "${DB_PASSWORD}",
        "${STRIPE_APIKEY}",
        "redis://:${CACHE_URL_PASSWORD}@redis:6379/0",
        "${FOO_TOKEN}",
    ] {
        assert!(yaml.contains(reference), "{reference} in\n{yaml}");
    }
    let iterate = harness(&[
        "iterate",
        "--apply",
        "--steps",
        "lint",
        "--runs-per-version",
        "1",
        "--max-iterations",
        "1",
        "--no-reaper",
    ]);
    let said = text(&iterate);
    assert!(said.contains("applied: v1 → v2"), "{said}");

    // The task is the author's file, and what deploys: it keeps the values, moved on to
    // the service's name. Everything around its config is the harness's and is clean.
    let task = std::fs::read_to_string(ws.task()).expect("read task");
    let after = Prompt::parse(ws.task(), task.clone()).expect("task parses");
    assert!(
        after
            .config_yaml()
            .contains(&format!("redis://:{URL_PW}@redis:6379/0"))
    );
    let around = task.replace(after.config_yaml(), "");
    let mut leaks: Vec<String> = Vec::new();
    for secret in PLANTED {
        for (what, said) in [
            ("run output", text(&run)),
            ("propose output", text(&propose)),
            ("iterate output", said.clone()),
            ("the task outside its config", around.clone()),
        ] {
            if said.contains(secret) {
                leaks.push(format!("{secret} in {what}"));
            }
        }
    }
    let mut written = Vec::new();
    files(ws.dir.path(), &mut written, 0);
    let mut checked = 0;
    for path in written.iter().filter(|p| **p != ws.task()) {
        let bytes = std::fs::read(path).unwrap_or_default();
        let body = String::from_utf8_lossy(&bytes);
        checked += 1;
        for secret in PLANTED {
            if body.contains(secret) {
                leaks.push(format!("{secret} in {}", path.display()));
            }
        }
    }
    assert!(leaks.is_empty(), "{leaks:#?}");
    // Not vacuous: the scoreboard holds both versions' configs, as references, and the
    // proposal's scratch copy was written.
    let db = std::fs::read(ws.db()).expect("scoreboard");
    let db = String::from_utf8_lossy(&db);
    assert!(db.contains("DB_PASSWORD: ${DB_PASSWORD}"), "version rows");
    assert!(
        written
            .iter()
            .any(|p| p.to_string_lossy().contains("proposals")),
        "{written:#?}"
    );
    assert!(checked > 3, "{written:#?}");
    assert!(ws.leftovers().is_empty());
}

/// The graduated file is the recorded config: an environment secret's value written
/// into the config becomes a reference to its variable, so the promoted file still
/// deploys (where the variable is set) and holds no secret. A literal secret under a
/// secret-looking name cannot graduate at all: `literal-secret` fails the lint step.
#[test]
fn a_graduated_config_refers_to_an_environment_secret_by_name() {
    if !engine_available("a_graduated_config_refers_to_an_environment_secret_by_name") {
        return;
    }
    ensure_images();
    let ws = Workspace::new("it_redact_grad");
    let reference =
        std::fs::read_to_string(Path::new(common::REPO).join("docker/docker-compose.yml"))
            .expect("reference stack");
    let with_label = reference.replacen(
        "    image: harness/executor:local\n",
        &format!("    image: harness/executor:local\n    labels:\n      note: \"{ENV_TOKEN}\"\n"),
        1,
    );
    assert_ne!(with_label, reference);
    let prompt = Prompt::load(&ws.task()).expect("task loads");
    std::fs::write(
        ws.task(),
        prompt.replace_config(&with_label).expect("replace"),
    )
    .expect("write task");
    let graduated = ws.dir.path().join("graduated.yml");
    let out = ws
        .harness()
        .env("FOO_TOKEN", ENV_TOKEN)
        .args(["iterate", "--apply", "--until-graduated", "--graduate-to"])
        .arg(&graduated)
        .arg("--task")
        .arg(ws.task())
        .output()
        .expect("spawn harness");
    let said = text(&out);
    assert_eq!(out.status.code(), Some(0), "{said}");
    let promoted = std::fs::read_to_string(&graduated).expect("graduated file");
    assert!(promoted.contains("note: \"${FOO_TOKEN}\""), "{promoted}");
    assert!(!promoted.contains(ENV_TOKEN), "{promoted}");
    assert!(!said.contains(ENV_TOKEN), "{said}");
    let mut written = Vec::new();
    files(ws.dir.path(), &mut written, 0);
    let leaks: Vec<&PathBuf> = written
        .iter()
        .filter(|p| **p != ws.task())
        .filter(|p| {
            String::from_utf8_lossy(&std::fs::read(p).unwrap_or_default()).contains(ENV_TOKEN)
        })
        .collect();
    assert!(leaks.is_empty(), "{leaks:#?}");
    assert!(ws.leftovers().is_empty());
}
