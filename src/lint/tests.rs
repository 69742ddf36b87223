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

/// One snippet that fires each rule and one that does not, for every rule in the catalog
/// (rules that are off by default are turned on for this).
const SNIPPETS: &[(&str, &str, &str)] = &[
    (
        "hardcoded-host-port",
        "services:\n  a:\n    ports: [\"8001:8000\"]\n",
        "services:\n  a:\n    ports: [\"127.0.0.1::8000\"]\n",
    ),
    (
        "required-variable",
        "services:\n  a:\n    image: \"x:${TAG}\"\n",
        "services:\n  a:\n    image: \"x:${TAG:-1}\"\n",
    ),
    (
        "invalid-interpolation",
        "services:\n  a:\n    command: \"echo ${\"\n",
        "services:\n  a:\n    command: \"echo $${X}\"\n",
    ),
    (
        "fixed-container-name",
        "services:\n  a:\n    container_name: a\n",
        "services:\n  a:\n    image: x:1\n",
    ),
    (
        "fixed-network-name",
        "services:\n  a:\n    networks: [n]\nnetworks:\n  n:\n    name: fixed\n",
        "services:\n  a:\n    networks: [n]\nnetworks:\n  n:\n    external: true\n    name: shared\n",
    ),
    (
        "fixed-volume-name",
        "services:\n  a:\n    volumes: [v:/v]\nvolumes:\n  v:\n    name: fixed\n",
        "services:\n  a:\n    volumes: [v:/v]\nvolumes:\n  v:\n    external: true\n    name: shared\n",
    ),
    (
        "shared-external-volume",
        "services:\n  a:\n    volumes: [v:/v]\nvolumes:\n  v:\n    external: true\n",
        "services:\n  a:\n    volumes: [\"v:/v:ro\"]\nvolumes:\n  v:\n    external: true\n",
    ),
    (
        "loopback-service-url",
        "services:\n  a:\n    environment:\n      REDIS_URL: redis://localhost:6379\n",
        "services:\n  a:\n    environment:\n      REDIS_URL: redis://redis:6379\n",
    ),
    (
        "literal-secret",
        "services:\n  a:\n    environment:\n      DB_PASSWORD: hunter2\n",
        "services:\n  a:\n    environment:\n      DB_PASSWORD: ${DB_PASSWORD:-}\n",
    ),
    (
        "docker-socket-mounted",
        "services:\n  a:\n    volumes: [\"/var/run/docker.sock:/var/run/docker.sock\"]\n",
        "services:\n  a:\n    volumes: [\"./data:/data\"]\n",
    ),
    (
        "privileged",
        "services:\n  a:\n    privileged: true\n",
        "services:\n  a:\n    privileged: false\n",
    ),
    (
        "cap-add",
        "services:\n  a:\n    cap_add: [SYS_ADMIN]\n",
        "services:\n  a:\n    cap_drop: [ALL]\n",
    ),
    (
        "duplicate-container-name",
        "services:\n  a:\n    container_name: x\n  b:\n    container_name: x\n",
        "services:\n  a:\n    container_name: x\n  b:\n    container_name: y\n",
    ),
    (
        "duplicate-host-port",
        "services:\n  a:\n    ports: [\"8080:80\"]\n  b:\n    ports: [\"8080:81\"]\n",
        "services:\n  a:\n    ports: [\"8080:80\"]\n  b:\n    ports: [\"8081:81\"]\n",
    ),
    (
        "depends-on-unknown-service",
        "services:\n  a:\n    depends_on: [ghost]\n",
        "services:\n  a:\n    depends_on: [b]\n  b:\n    image: x:1\n",
    ),
    (
        "port-all-interfaces",
        "services:\n  a:\n    ports: [\"8000\"]\n",
        "services:\n  a:\n    ports: [\"127.0.0.1::8000\"]\n",
    ),
    (
        "missing-healthcheck",
        "services:\n  a:\n    image: x:1\n",
        "services:\n  a:\n    healthcheck: {test: [CMD, \"true\"]}\n",
    ),
    (
        "depends-on-not-healthy",
        "services:\n  a:\n    depends_on: [b]\n  b:\n    healthcheck: {test: [CMD, \"true\"]}\n",
        "services:\n  a:\n    depends_on: {b: {condition: service_healthy}}\n  b:\n    healthcheck: {test: [CMD, \"true\"]}\n",
    ),
    (
        "slow-healthcheck",
        "services:\n  a:\n    healthcheck:\n      test: [CMD, \"true\"]\n      interval: 30s\n",
        "services:\n  a:\n    healthcheck:\n      test: [CMD, \"true\"]\n      interval: 1s\n      retries: 90\n",
    ),
    (
        "no-restart-policy",
        "services:\n  a:\n    image: x:1\n",
        "services:\n  a:\n    restart: unless-stopped\n",
    ),
    (
        "redis-without-volume",
        "services:\n  r:\n    image: redis:7\n",
        "services:\n  r:\n    image: redis:7\n    volumes: [\"data:/data\"]\nvolumes:\n  data:\n",
    ),
    (
        "image-floating-tag",
        "services:\n  a:\n    image: nginx:latest\n",
        "services:\n  a:\n    image: nginx:1.27\n",
    ),
    (
        "build-and-image-without-pull-policy",
        "services:\n  a:\n    build: .\n    image: me/a:1\n",
        "services:\n  a:\n    build: .\n    image: me/a:1\n    pull_policy: build\n",
    ),
    (
        "container-name-format",
        "services:\n  a:\n    container_name: \"-a b\"\n",
        "services:\n  a:\n    container_name: a_b.c-d\n",
    ),
    (
        "unquoted-port",
        "services:\n  a:\n    ports:\n      - 2222:22\n",
        "services:\n  a:\n    ports:\n      - \"2222:22\"\n",
    ),
    (
        "sensitive-host-mount",
        "services:\n  a:\n    volumes: [\"${CLAUDE_HOME:-~/.claude}:/home/a/.claude:ro\"]\n",
        "services:\n  a:\n    volumes: [\"~/.claude-themes:/themes:ro\", \"/etc/localtime:/etc/localtime:ro\"]\n",
    ),
    (
        "host-namespace",
        "services:\n  a:\n    pid: host\n",
        "services:\n  a:\n    image: x:1\n",
    ),
    (
        "unused-volume",
        "services:\n  a:\n    image: x:1\nvolumes:\n  v:\n",
        "services:\n  a:\n    volumes: [\"v:/v\"]\nvolumes:\n  v:\n",
    ),
    (
        "unused-network",
        "services:\n  a:\n    networks: [n]\nnetworks:\n  n:\n  m:\n",
        "services:\n  a:\n    networks: [n]\nnetworks:\n  n:\n",
    ),
    (
        "obsolete-version",
        "version: \"3.8\"\nservices:\n  a:\n    image: x:1\n",
        "services:\n  a:\n    image: x:1\n",
    ),
    (
        "no-new-privileges",
        "services:\n  a:\n    image: x:1\n",
        "services:\n  a:\n    security_opt: [\"no-new-privileges:true\"]\n",
    ),
    (
        "no-resource-limits",
        "services:\n  a:\n    image: x:1\n",
        "services:\n  a:\n    mem_limit: 1g\n    cpus: 1\n    pids_limit: 100\n",
    ),
    (
        "image-not-pinned",
        "services:\n  a:\n    image: nginx:1.27\n",
        "services:\n  a:\n    image: nginx:1.27@sha256:0123abcd\n",
    ),
    (
        "not-followed",
        "include: [other.yml]\nservices:\n  a:\n    image: x:1\n",
        "services:\n  a:\n    image: x:1\n",
    ),
    (
        "undefined-secret",
        "services:\n  a:\n    image: x:1\n    secrets: [s]\n",
        "services:\n  a:\n    image: x:1\n    secrets: [s]\nsecrets:\n  s: {file: ./s.txt}\n",
    ),
    (
        "undefined-config",
        "services:\n  a:\n    image: x:1\n    configs: [c]\n",
        "services:\n  a:\n    image: x:1\n    configs: [c]\nconfigs:\n  c: {file: ./c.conf}\n",
    ),
    (
        "missing-env-file",
        "services:\n  a:\n    image: x:1\n    env_file: missing.env\n",
        "services:\n  a:\n    image: x:1\n    env_file: README.md\n",
    ),
    (
        "missing-project-name",
        "services:\n  a:\n    image: x:1\n",
        "name: p\nservices:\n  a:\n    image: x:1\n",
    ),
    (
        "top-level-keys-order",
        "volumes:\n  v:\nservices:\n  a:\n    volumes: [\"v:/v\"]\n",
        "services:\n  a:\n    volumes: [\"v:/v\"]\nvolumes:\n  v:\n",
    ),
    (
        "services-order",
        "services:\n  b:\n    image: x:1\n  a:\n    image: x:1\n",
        "services:\n  a:\n    image: x:1\n  b:\n    image: x:1\n",
    ),
    (
        "service-keys-order",
        "services:\n  a:\n    restart: always\n    image: x:1\n",
        "services:\n  a:\n    image: x:1\n    restart: always\n",
    ),
];

#[test]
fn every_rule_has_a_firing_and_a_quiet_snippet() {
    use super::config::Config;
    use super::run::{Options, lint_with};
    let mut covered: Vec<&str> = SNIPPETS.iter().map(|(id, _, _)| *id).collect();
    covered.sort();
    let mut all: Vec<&str> = rules().iter().map(|r| r.id).collect();
    all.sort();
    assert_eq!(covered, all, "every rule needs its snippets");
    for (id, fires, quiet) in SNIPPETS {
        let config = Config::parse(&format!("rules:\n  {id}: info\n")).expect("config");
        let opts = Options {
            config,
            // The snippets' env files resolve here (`README.md` is there).
            dir: Some("tests/fixtures/lint".into()),
            ..Options::default()
        };
        let run = |text: &str| -> Vec<Finding> {
            let file =
                ComposeFile::parse("snippet.yml", text, 1).unwrap_or_else(|e| panic!("{id}: {e}"));
            lint_with(&file, &opts)
                .into_iter()
                .filter(|f| f.rule == *id)
                .collect()
        };
        let hits = run(fires);
        assert!(!hits.is_empty(), "{id} does not fire on\n{fires}");
        for h in &hits {
            assert!(h.line.is_some() && h.column.is_some(), "{id}: {h:?}");
        }
        assert!(run(quiet).is_empty(), "{id} fires on\n{quiet}");
    }
}

#[test]
fn the_harness_gate_ignores_suppression_comments_and_the_cli_honours_them() {
    use super::run::{Options, lint_with};
    let text = "# harness-lint disable-file\nservices:\n  a:\n    ports: [\"8001:8000\"]\n";
    let file = ComposeFile::parse("t.yml", text, 1).expect("parses");
    assert!(
        lint(&file)
            .iter()
            .any(|f| f.rule == "hardcoded-host-port" && f.level == Level::Error)
    );
    assert!(lint_with(&file, &Options::default()).is_empty());
}
