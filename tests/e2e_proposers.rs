//! Open-ended proposers on the real engine: a fault outside the catalog (a `REDIS_URL`
//! naming a service the config does not have) fixed by a command and by a (scripted)
//! model, through the real gates and a real deploy; bad answers rejected, recorded, and
//! the task left as it was.

mod common;
#[path = "support/fake_llm.rs"]
#[allow(dead_code)]
mod fake_llm;

use std::path::Path;

use common::{REPO, Workspace, engine_available, ensure_images};
use fake_llm::{FakeLlm, Reply};
use harness::task::Prompt;

/// A secret a bad answer plants: it must land in no file of the runs dir, no row, and
/// no later request.
const PLANTED: &str = "planted-secret-4821";
const API_KEY: &str = "sk-test-e2e-key-77d1";

/// The reference config with the fault, as the task's config.
fn faulty(ws: &Workspace) -> String {
    let reference =
        std::fs::read_to_string(Path::new(REPO).join("docker/docker-compose.yml")).expect("ref");
    let fault = reference.replace("redis://redis:6379", "redis://cache:6379");
    assert_ne!(fault, reference, "the reference names its Redis by service");
    let prompt = Prompt::load(&ws.task()).expect("task");
    let text = prompt.replace_config(&fault).expect("replace");
    Prompt::save(&ws.task(), &text).expect("save");
    fault
}

fn config_of(ws: &Workspace) -> String {
    Prompt::load(&ws.task())
        .expect("task")
        .config_yaml()
        .to_string()
}

/// The three bad answers in turn: invalid YAML, `redis` dropped, a literal secret added.
fn bad_answers(fault: &str) -> Vec<String> {
    let fixed = fault.replace("redis://cache:6379", "redis://redis:6379");
    let without_redis: String = {
        let start = fixed.find("  redis:\n").expect("redis service");
        let end = fixed[start..].find("\n\n").expect("blank line") + start + 2;
        format!("{}{}", &fixed[..start], &fixed[end..])
    };
    let secret = fixed.replace(
        "      LOG_LEVEL:",
        &format!("      DB_PASSWORD: {PLANTED}\n      LOG_LEVEL:"),
    );
    vec![
        "services:\n  app: [unclosed\n".into(),
        without_redis,
        format!("```yaml\n{secret}```\n"),
    ]
}

fn right_fix(fault: &str) -> String {
    format!(
        "The URL names no service; the Redis service is `redis`.\n```yaml\n{}```\n",
        fault.replace("redis://cache:6379", "redis://redis:6379")
    )
}

fn attempts(ws: &Workspace) -> Vec<(String, bool, String)> {
    let db = rusqlite::Connection::open(ws.db()).expect("db");
    let mut stmt = db
        .prepare("SELECT mutation, accepted, reason FROM mutation_attempt ORDER BY id")
        .expect("sql");
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .expect("rows")
        .collect::<Result<_, _>>()
        .expect("rows")
}

fn assert_bad_answers_rejected(ws: &Workspace, out: &std::process::Output, fault: &str) {
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "no proposal: {stdout}");
    assert_eq!(config_of(ws), fault, "the task is untouched");
    let tried = attempts(ws);
    assert_eq!(tried.len(), 3, "{tried:?}");
    assert!(tried.iter().all(|(_, accepted, _)| !accepted));
    assert!(tried[0].2.contains("does not parse"), "{tried:?}");
    assert!(tried[1].2.contains("service `redis`"), "{tried:?}");
    assert!(tried[2].2.contains("literal secret"), "{tried:?}");
    assert!(
        stdout.contains("no proposer fixes what v1 failed on"),
        "{stdout}"
    );
    assert!(
        ws.files_containing(PLANTED).is_empty(),
        "the secret was kept"
    );
    let db = std::fs::read(ws.db()).expect("db");
    assert!(!String::from_utf8_lossy(&db).contains(PLANTED));
    assert!(ws.leftovers().is_empty(), "{:?}", ws.leftovers());
}

fn assert_fixed(ws: &Workspace, out: &std::process::Output, proposer: &str) {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(
        stdout.contains(&format!("next after v1: {proposer}")),
        "{stdout}"
    );
    assert!(config_of(ws).contains("redis://redis:6379"));
    // The fixed version ran, on the real engine, and passed every step.
    assert!(
        stdout.contains("v2 PASSED") || stdout.contains("v2 passed"),
        "{stdout}"
    );
    let tried = attempts(ws);
    assert!(
        tried
            .iter()
            .any(|(m, accepted, _)| m == proposer && *accepted),
        "{tried:?}"
    );
    assert!(ws.leftovers().is_empty(), "{:?}", ws.leftovers());
}

fn iterate(ws: &Workspace, proposer: &[&str]) -> std::process::Output {
    ws.harness()
        .env_remove("ANTHROPIC_API_KEY")
        .args([
            "iterate",
            "--apply",
            "--runs-per-version",
            "1",
            "--max-iterations",
            "2",
        ])
        .args(proposer)
        .arg("--task")
        .arg(ws.task())
        .output()
        .expect("spawn")
}

#[test]
fn a_command_fixes_a_fault_outside_the_catalog_and_its_bad_answers_are_rejected() {
    if !engine_available("command_proposer") {
        return;
    }
    ensure_images();
    let ws = Workspace::new("it_cmdprop");
    let fault = faulty(&ws);
    // The script answers from numbered files, one per call: the gates' verdicts only.
    for (n, answer) in bad_answers(&fault).iter().enumerate() {
        std::fs::write(ws.dir.path().join(format!("bad{}", n + 1)), answer).expect("write");
    }
    std::fs::write(ws.dir.path().join("good"), right_fix(&fault)).expect("write");
    let dir = ws.dir.path().display().to_string();
    let bad = format!(
        "cat > {dir}/context.json; n=$(($(cat {dir}/count 2>/dev/null || echo 0)+1)); echo $n > {dir}/count; cat {dir}/bad$n"
    );
    let out = iterate(&ws, &["--proposer", "command", "--proposer-command", &bad]);
    assert_bad_answers_rejected(&ws, &out, &fault);
    // The command was told the rejections: the third call saw the first two.
    let context: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(format!("{dir}/context.json")).expect("ctx"))
            .expect("json");
    assert_eq!(context["rejected"].as_array().map(Vec::len), Some(2));
    assert!(
        context["current_yaml"]
            .as_str()
            .is_some_and(|y| y.contains("redis://cache"))
    );
    assert_eq!(
        context["failing_steps"][0]["signature"],
        "redis_unavailable"
    );

    // Without a deploy (`propose`): the config this task already ran, and a rewrite past
    // the diff budget, are rejected too.
    let padded = format!(
        "{}x-padding:\n{}",
        fault.replace("redis://cache:6379", "redis://redis:6379"),
        (0..120)
            .map(|i| format!("  k{i}: {i}\n"))
            .collect::<String>()
    );
    std::fs::write(ws.dir.path().join("padded"), padded).expect("write");
    for (command, reason) in [
        (
            "python3 -c 'import json,sys; print(json.load(sys.stdin)[\"current_yaml\"])'"
                .to_string(),
            "already ran",
        ),
        (format!("cat > /dev/null; cat {dir}/padded"), "budget"),
    ] {
        let out = ws
            .harness()
            .args([
                "propose",
                "--proposal-attempts",
                "1",
                "--proposer",
                "command",
            ])
            .args(["--proposer-command", &command, "--task"])
            .arg(ws.task())
            .output()
            .expect("spawn");
        let said = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(1), "{said}");
        let last = attempts(&ws).pop().expect("recorded");
        assert!(!last.1 && last.2.contains(reason), "{last:?}");
    }
    assert_eq!(config_of(&ws), fault, "the task is untouched");

    let good = format!("cat > /dev/null; cat {dir}/good");
    let out = iterate(&ws, &["--proposer", "command", "--proposer-command", &good]);
    assert_fixed(&ws, &out, "command");
}

#[test]
fn a_model_fixes_a_fault_outside_the_catalog_and_its_bad_answers_are_rejected() {
    if !engine_available("llm_proposer") {
        return;
    }
    ensure_images();
    let ws = Workspace::new("it_llmprop");
    let fault = faulty(&ws);
    let mut script: Vec<Reply> = bad_answers(&fault).into_iter().map(Reply::Text).collect();
    script.push(Reply::Status(529));
    script.push(Reply::Text(right_fix(&fault)));
    let (fake, _server) = FakeLlm::start_in_thread(script);
    let llm = |ws: &Workspace| {
        ws.harness()
            // The OpenAI-compatible mode: the stack's own API key stays unset, so the
            // executor under test calls out to no one.
            .env_remove("ANTHROPIC_API_KEY")
            .env("HARNESS_LLM_API", "openai")
            .env("HARNESS_LLM_URL", format!("{}/v1", fake.url))
            .env("HARNESS_LLM_API_KEY", API_KEY)
            .env("HARNESS_LLM_MODEL", "scripted-model")
            .args(["iterate", "--apply", "--runs-per-version", "1"])
            .args(["--max-iterations", "2", "--proposer", "llm", "--task"])
            .arg(ws.task())
            .output()
            .expect("spawn")
    };
    let out = llm(&ws);
    assert_bad_answers_rejected(&ws, &out, &fault);
    let out = llm(&ws);
    assert_fixed(&ws, &out, "llm");
    let received = fake.received();
    assert_eq!(received.len(), 5, "three bad answers, a 529, the fix");
    for r in &received {
        assert_eq!(r.api_key, Some(format!("Bearer {API_KEY}")));
        assert!(!r.body.contains(API_KEY), "the key is never in a body");
        assert!(
            !r.body.contains(PLANTED),
            "a rejected secret is never sent back"
        );
    }
    // The transcripts are kept, redacted, beside the run they learned from.
    let transcripts = ws.files_containing("scripted-model");
    assert!(
        transcripts
            .iter()
            .any(|p| p.to_string_lossy().contains("proposals")),
        "{transcripts:?}"
    );
    assert!(ws.files_containing(API_KEY).is_empty());
    // v2's row says who proposed it and what it cost.
    let db = rusqlite::Connection::open(ws.db()).expect("db");
    let (proposer, json): (String, String) = db
        .query_row(
            "SELECT p.proposer, p.json FROM version_provenance p JOIN version v ON v.id = p.version_id WHERE v.number = 2",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("provenance of v2");
    assert_eq!(proposer, "llm");
    let doc: serde_json::Value = serde_json::from_str(&json).expect("json");
    assert_eq!(doc["model"], "scripted-model");
    assert_eq!(doc["input_tokens"], 11);
    assert!(
        doc["request_sha256"]
            .as_str()
            .is_some_and(|h| h.len() == 64)
    );
    // `harness audit` reads the transcripts: they hold no secret of this environment.
    let audit = ws
        .harness()
        .env("HARNESS_LLM_API_KEY", API_KEY)
        .args(["audit"])
        .output()
        .expect("spawn");
    let said = String::from_utf8_lossy(&audit.stdout);
    assert!(!said.contains("secret_in_transcript"), "{said}");
}

#[test]
fn an_unusable_proposer_is_bad_input_and_writes_nothing() {
    let ws = Workspace::new("bad_proposer");
    let cases: [(&[&str], &str); 3] = [
        (&["--proposer", "command"], "--proposer-command"),
        (&["--proposer", "llm"], "ANTHROPIC_API_KEY"),
        (&["--proposer", "oracle"], "catalog"),
    ];
    for cmd in ["propose", "iterate"] {
        for (args, needle) in cases {
            let out = ws
                .harness()
                .env_remove("ANTHROPIC_API_KEY")
                .env_remove("HARNESS_LLM_API")
                .arg(cmd)
                .args(args)
                .arg("--task")
                .arg(ws.task())
                .output()
                .expect("spawn");
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{cmd} {args:?}: {stderr}");
            assert!(stderr.contains(needle), "{cmd} {args:?}: {stderr}");
        }
    }
    assert!(!ws.db().exists(), "nothing recorded");
    assert!(!ws.runs().exists(), "nothing written");
}
