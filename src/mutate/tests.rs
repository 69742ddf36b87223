//! Helpers for the mutation tests, and the shipped task's seed config taken to a lint-clean
//! config one mutation at a time.

use std::collections::HashMap;
use std::path::Path;

use super::apply::apply_rendered;
use super::render::Rendering;
use super::{Facts, Mutation, apply, diff};
use crate::compose::ComposeFile;
use crate::lint::{Level, lint};

fn parse(text: &str) -> ComposeFile {
    ComposeFile::parse("t.yml", text, 1).unwrap_or_else(|e| panic!("bad test YAML: {e}\n{text}"))
}

pub(crate) fn applied(id: &str, text: &str) -> Mutation {
    applied_with(id, text, &Facts::default())
}

/// Applies `id`, which must apply losslessly, yield a compose file, and have nothing left
/// to do on its own output.
pub(crate) fn applied_with(id: &str, text: &str, facts: &Facts) -> Mutation {
    let (m, how) = apply_rendered(id, &parse(text), facts)
        .unwrap_or_else(|e| panic!("{id}: {e}"))
        .unwrap_or_else(|| panic!("{id} did not apply to\n{text}"));
    assert_ne!(
        how,
        Rendering::Reserialised,
        "{id} lost the formatting:\n{}",
        m.yaml
    );
    assert_eq!(m.id, id);
    let again = ComposeFile::parse("new.yml", &m.yaml, 1)
        .unwrap_or_else(|e| panic!("{id} made a file that is no compose file: {e}\n{}", m.yaml));
    let twice = apply(id, &again, facts).unwrap_or_else(|e| panic!("{id} twice: {e}"));
    assert!(twice.is_none(), "{id} is not idempotent:\n{}", m.yaml);
    m
}

pub(crate) fn not_applicable(id: &str, text: &str) {
    not_applicable_with(id, text, &Facts::default());
}

pub(crate) fn not_applicable_with(id: &str, text: &str, facts: &Facts) {
    let got = apply(id, &parse(text), facts).unwrap_or_else(|e| panic!("{id}: {e}"));
    assert!(got.is_none(), "{id} applied to\n{text}\ngiving\n{got:#?}");
}

/// Lines the diff touches: the larger of lines removed and lines added.
pub(crate) fn changed_lines(old: &str, new: &str) -> usize {
    let d = similar::TextDiff::from_lines(old, new);
    let (mut del, mut ins) = (0, 0);
    for change in d.iter_all_changes() {
        match change.tag() {
            similar::ChangeTag::Delete => del += 1,
            similar::ChangeTag::Insert => ins += 1,
            similar::ChangeTag::Equal => {}
        }
    }
    del.max(ins)
}

pub(crate) fn seed_config() -> ComposeFile {
    let prompt = crate::task::Prompt::load(Path::new("prompts/docker_compose_dynamic.md"))
        .expect("shipped task loads");
    ComposeFile::parse("prompt", prompt.config_yaml(), prompt.config_line()).expect("seed parses")
}

/// What the engine says about the shipped images.
pub(crate) fn shipped_facts() -> Facts {
    Facts {
        healthcheck: HashMap::from([
            (
                "harness/executor:local".to_string(),
                vec![
                    "CMD".into(),
                    "/usr/local/bin/executor".into(),
                    "healthcheck".into(),
                ],
            ),
            ("harness/redis:local".to_string(), vec![]),
        ]),
        has_shell: HashMap::from([
            ("harness/executor:local".to_string(), false),
            ("harness/redis:local".to_string(), false),
        ]),
        ..Facts::default()
    }
}

/// The order a proposer fixing the seed's lint errors and first runtime failures would take.
pub(crate) const SEED_SEQUENCE: [&str; 7] = [
    "engine-assigned-port",
    "drop-container-name",
    "drop-credential-mount",
    "drop-network-name",
    "env-default",
    "image-healthcheck",
    "redis-volume",
];

/// Every step of the sequence from the seed, as `(id, before, after)`.
pub(crate) fn seed_steps() -> Vec<(&'static str, ComposeFile, Mutation)> {
    let facts = shipped_facts();
    let mut file = seed_config();
    let mut out = Vec::new();
    for id in SEED_SEQUENCE {
        let (m, how) = apply_rendered(id, &file, &facts)
            .unwrap_or_else(|e| panic!("{id}: {e}"))
            .unwrap_or_else(|| panic!("{id} does not apply to\n{}", file.text));
        assert_eq!(how, Rendering::Lossless, "{id}");
        let next = ComposeFile::parse(id, &m.yaml, 1).expect("mutated seed parses");
        out.push((id, file, m));
        file = next;
    }
    out
}

#[test]
fn the_seed_config_becomes_lint_clean_with_minimal_edits() {
    let steps = seed_steps();
    for (id, before, m) in &steps {
        println!("== {id}: {}", m.reason);
        print!("{}", diff(&before.text, &m.yaml, "before", "after"));
        // Each step touches only its own lines.
        let budget = match *id {
            "engine-assigned-port" => 2,
            "drop-container-name" => 2,
            "drop-network-name" => 1,
            "drop-credential-mount" => 1,
            "env-default" => 1,
            "image-healthcheck" => 2,
            "redis-volume" => 2,
            _ => 0,
        };
        assert_eq!(changed_lines(&before.text, &m.yaml), budget, "{id}");
    }
    let seed = seed_config();
    let last = &steps[steps.len() - 1].2.yaml;
    let final_file = ComposeFile::parse("final", last, 1).unwrap();
    let findings = lint(&final_file);
    for f in &findings {
        println!("lint: {f}");
    }
    assert!(
        findings.iter().all(|f| f.level != Level::Error),
        "{findings:#?}"
    );
    println!("== seed → final");
    print!(
        "{}",
        diff(
            &seed.text,
            last,
            "seed (prompts/docker_compose_dynamic.md)",
            "final"
        )
    );
    // The author's comments survive every step.
    for comment in [
        "# Dynamic port configuration",
        "# Use environment variables for flexible port mapping",
    ] {
        assert!(last.contains(comment), "{comment}");
    }
    // In the spirit of the hand-written reference stack.
    let doc = &final_file.doc;
    let cc = &doc["services"]["cc_execute"];
    assert_eq!(cc["ports"][0].as_str(), Some("127.0.0.1::8000"));
    assert_eq!(cc["ports"][1].as_str(), Some("127.0.0.1::8003"));
    assert_eq!(
        cc["environment"]["ANTHROPIC_API_KEY"].as_str(),
        Some("${ANTHROPIC_API_KEY:-}")
    );
    assert!(cc.get("container_name").is_none());
    // The image checks itself; the author's timings stay (lint warns about the interval).
    let hc = &cc["healthcheck"];
    assert_eq!(hc["test"][0].as_str(), Some("CMD"));
    assert_eq!(hc["test"][1].as_str(), Some("/usr/local/bin/executor"));
    assert_eq!(hc["interval"].as_str(), Some("30s"));
    assert_eq!(hc["timeout"].as_str(), Some("10s"));
    assert_eq!(hc["retries"].as_u64(), Some(3));
    assert_eq!(
        doc["services"]["redis"]["volumes"][0].as_str(),
        Some("redis_data:/data")
    );
    assert!(doc["networks"]["cc_executor_net"].get("name").is_none());
    // The host's Claude login is no longer handed to the service; the project's own
    // directories still are.
    assert!(!last.contains(".claude"), "{last}");
    assert_eq!(cc["volumes"][0].as_str(), Some("./logs:/app/logs"));
    assert_eq!(cc["volumes"][1].as_str(), Some("./data:/app/data"));
}

#[test]
fn the_remaining_catalog_on_the_seed() {
    let facts = shipped_facts();
    let seed = seed_config();
    // The seed already waits for a healthy Redis, restarts both services and has its
    // REDIS_URL on the service name.
    for id in [
        "depends-on-healthy",
        "restart-unless-stopped",
        "service-host",
    ] {
        assert!(apply(id, &seed, &facts).unwrap().is_none(), "{id}");
    }
    let m = applied_with("drop-version-key", &seed.text, &facts);
    assert_eq!(
        changed_lines(&seed.text, &m.yaml),
        2,
        "the key and its blank line"
    );
}

#[test]
fn hostile_input_never_panics() {
    let facts = shipped_facts();
    let texts = [
        "services:\n  a: !reset {}\n  b:\n    <<: *missing\n",
        "services:\n  a:\n    ports: [\"${\", {published: x}, [1], null, 80]\n    environment: {A: \"${\", B: [1]}\n",
        "x: &a [*a]\nservices:\n  a: {image: x}\n",
        "services:\n  a:\n    image: redis\n    volumes: \"x\"\n    depends_on: {b: 1}\n    healthcheck: \"curl\"\n  b:\n    healthcheck: {test: []}\n",
        "services:\r\n  a:\r\n    image: x\r\n    container_name: y\r\n    ports:\r\n      - \"80:80\"\r\n",
        "---\nservices:\n  a:\n    image: x\n    restart: no\n...\n",
    ];
    for text in texts {
        let Ok(file) = ComposeFile::parse("t.yml", text, 1) else {
            continue;
        };
        for info in super::catalog() {
            if let Ok(Some(m)) = apply(info.id, &file, &facts) {
                serde_yaml_ng::from_str::<serde_yaml_ng::Value>(&m.yaml)
                    .unwrap_or_else(|e| panic!("{}: {e}\n{}", info.id, m.yaml));
            }
        }
    }
}
