//! Helpers for the rule tests, and lint over the shipped task, the reference stack and the
//! real-world corpus.

use std::path::Path;

use super::finding::{Finding, Level};
use super::run::lint_value;
use super::{lint, rules};
use crate::compose::ComposeFile;

pub(crate) fn lint_yaml(text: &str) -> Vec<Finding> {
    let doc =
        serde_yaml_ng::from_str(text).unwrap_or_else(|e| panic!("bad test YAML: {e}\n{text}"));
    lint_value(&doc)
}

pub(crate) fn rule_paths(findings: &[Finding], rule: &str) -> Vec<String> {
    let mut paths: Vec<String> = findings
        .iter()
        .filter(|f| f.rule == rule)
        .map(|f| f.path.clone())
        .collect();
    paths.dedup();
    paths
}

pub(crate) fn at<'a>(findings: &'a [Finding], path: &str, rule: &str) -> &'a Finding {
    findings
        .iter()
        .find(|f| f.path == path && f.rule == rule)
        .unwrap_or_else(|| panic!("no {rule} at {path} in {findings:#?}"))
}

fn seed_config() -> ComposeFile {
    let prompt = crate::task::Prompt::load(Path::new("prompts/docker_compose_dynamic.md"))
        .expect("shipped task loads");
    ComposeFile::parse("prompt", prompt.config_yaml(), prompt.config_line()).expect("seed parses")
}

#[test]
fn the_seed_config_has_the_seeds_problems() {
    let f = lint(&seed_config());
    for line in &f {
        println!("{line}");
    }
    let expect = [
        (
            "services.cc_execute.ports[0]",
            "hardcoded-host-port",
            Level::Error,
        ),
        (
            "services.cc_execute.ports[1]",
            "hardcoded-host-port",
            Level::Error,
        ),
        (
            "services.cc_execute.environment.ANTHROPIC_API_KEY",
            "required-variable",
            Level::Error,
        ),
        (
            "services.redis.container_name",
            "fixed-container-name",
            Level::Error,
        ),
        (
            "services.cc_execute.container_name",
            "fixed-container-name",
            Level::Error,
        ),
        (
            "networks.cc_executor_net.name",
            "fixed-network-name",
            Level::Error,
        ),
        ("version", "obsolete-version", Level::Info),
    ];
    for (path, rule, level) in expect {
        assert_eq!(at(&f, path, rule).level, level, "{path} {rule}");
    }
    let ports = at(&f, "services.cc_execute.ports[0]", "hardcoded-host-port");
    assert!(ports.message.contains("8001"), "{}", ports.message);
}

#[test]
fn the_reference_stack_has_no_errors() {
    let text = std::fs::read_to_string("docker/docker-compose.yml").expect("reference stack");
    let file = ComposeFile::parse("docker/docker-compose.yml", &text, 1).expect("parses");
    let f = lint(&file);
    for line in &f {
        println!("{line}");
    }
    let errors: Vec<&Finding> = f.iter().filter(|f| f.level == Level::Error).collect();
    assert!(errors.is_empty(), "{errors:#?}");
    assert!(f.iter().all(|f| f.level != Level::Warn), "{f:#?}");
}

#[test]
fn every_finding_uses_a_listed_rule_with_its_mutation() {
    let f = lint(&seed_config());
    for finding in &f {
        let rule = rules()
            .iter()
            .find(|r| r.id == finding.rule)
            .unwrap_or_else(|| panic!("unlisted rule {}", finding.rule));
        assert_eq!(rule.mutation, finding.mutation);
    }
}

#[test]
fn odd_documents_never_panic() {
    let docs = [
        "",
        "~",
        "- a\n- b\n",
        "services: [a, b]\n",
        "services: a\n",
        "services:\n  a:\n  b: 3\n  c: [x]\n",
        "services:\n  a:\n    ports: 8000\n    environment: x\n    depends_on: 3\n    volumes: {a: b}\n    healthcheck: yes\n    restart: 5\n    container_name: ~\n    command: {a: 1}\n",
        "services:\n  a:\n    ports: [~, [], {}, 1.5, true, \"::\", \":\", \"a:b:c:d:e\"]\n    environment: [~, {A: 1}, \"=x\", \"\"]\n    volumes: [~, \"\", \":\", {type: tmpfs}]\n    depends_on: {a: 3, b: [x], ~: ~}\n",
        "x-a: &a {restart: always}\nservices:\n  s:\n    <<: [*a, 5]\n",
        "services:\n  s:\n    <<: 5\n    image: !reset null\n    ports: !override [\"80:80\"]\n",
        "networks: [a]\nvolumes: 3\nversion: [1]\nservices:\n  s: {image: \"${\"}\n",
        "services:\n  s:\n    environment:\n      URL: \"x://\"\n      U2: \"://\"\n      U3: \"://@:\"\n      U4: \"a://[\"\n      U5: \"ö://ü@[::1\"\n",
    ];
    for text in docs {
        let doc: serde_yaml_ng::Value = match serde_yaml_ng::from_str(text) {
            Ok(d) => d,
            Err(_) => continue,
        };
        let _ = lint_value(&doc);
    }
}

#[test]
fn the_awesome_compose_corpus_loads_and_lints() {
    let dir = Path::new("../shared/corpus/awesome-compose");
    let Ok(entries) = std::fs::read_dir(dir) else {
        println!("skipped: {} is absent", dir.display());
        return;
    };
    let mut files: Vec<_> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml"))
        .collect();
    files.sort();
    assert!(!files.is_empty());
    let (mut loaded, mut rejected) = (0, 0);
    let mut by_rule: std::collections::BTreeMap<(&str, Level), usize> = Default::default();
    for path in &files {
        let text = std::fs::read_to_string(path).expect("readable");
        let origin = path.display().to_string();
        match ComposeFile::parse(&origin, &text, 1) {
            Ok(file) => {
                loaded += 1;
                for f in lint(&file) {
                    *by_rule.entry((f.rule, f.level)).or_default() += 1;
                }
            }
            Err(e) => {
                rejected += 1;
                println!("{origin}: {e}");
            }
        }
    }
    println!(
        "{} files: {loaded} linted, {rejected} rejected",
        files.len()
    );
    for ((rule, level), n) in &by_rule {
        println!("{n:4} {level:<5} {rule}");
    }
    assert_eq!(rejected, 0);
}
