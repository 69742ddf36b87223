//! `harness lint` driven as a user drives it: formats, exit codes, config file,
//! suppression comments, `.env`, the override file, and `--fix` that previews without
//! writing. No engine needed.

mod common;

use std::path::Path;
use std::process::Output;

use serde_json::Value;

fn lint(dir: &Path, args: &[&str]) -> Output {
    common::harness_cmd()
        .current_dir(dir)
        .arg("lint")
        .args(args)
        .output()
        .expect("spawn harness")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

const COMPOSE: &str = "services:\n  api:\n    image: example/api:1.2\n    container_name: api\n    ports:\n      - \"8080:80\"\n    restart: unless-stopped\n";

fn workspace(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).expect("write");
    }
    dir
}

fn json(o: &Output) -> Value {
    serde_json::from_str(&stdout(o)).unwrap_or_else(|e| panic!("{e}: {}", stdout(o)))
}

fn rules_in(doc: &Value, file: &str) -> Vec<String> {
    doc["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["file"] == file)
        .map(|f| f["rule"].as_str().expect("rule").to_string())
        .collect()
}

#[test]
fn json_is_the_versioned_wrapper_and_the_flag_is_an_alias() {
    let dir = workspace(&[("stack.yml", COMPOSE)]);
    // Its only errors are multi-instance ones (a fixed name and host port).
    let a = lint(
        dir.path(),
        &["--json", "--profile", "multi-instance", "stack.yml"],
    );
    let b = lint(
        dir.path(),
        &[
            "--format",
            "json",
            "--profile",
            "multi-instance",
            "stack.yml",
        ],
    );
    assert_eq!(a.status.code(), Some(1), "errors found");
    assert_eq!(stdout(&a), stdout(&b));
    let doc = json(&a);
    assert_eq!(doc["version"], 1);
    assert_eq!(doc["tool"]["name"], "harness-lint");
    assert_eq!(doc["errors"], serde_json::json!([]));
    let port = doc["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .find(|f| f["rule"] == "hardcoded-host-port")
        .expect("port finding");
    assert_eq!(port["path"], "services.api.ports[0]");
    assert_eq!(
        (port["line"].as_u64(), port["column"].as_u64()),
        (Some(6), Some(9))
    );
    assert_eq!(port["fingerprint"].as_str().map(str::len), Some(16));
}

#[test]
fn sarif_and_github_and_junit_formats() {
    let dir = workspace(&[("stack.yml", COMPOSE)]);
    let sarif = json(&lint(dir.path(), &["--format", "sarif", "stack.yml"]));
    assert_eq!(sarif["version"], "2.1.0");
    let results = sarif["runs"][0]["results"].as_array().expect("results");
    assert!(results.iter().any(|r| r["ruleId"] == "fixed-container-name"
        && r["locations"][0]["physicalLocation"]["region"]["startLine"] == 4));
    let gh = stdout(&lint(
        dir.path(),
        &[
            "--format",
            "github",
            "--profile",
            "multi-instance",
            "stack.yml",
        ],
    ));
    assert!(
        gh.contains("::error file=stack.yml,line=4,col=5,title=fixed-container-name::"),
        "{gh}"
    );
    let xml = stdout(&lint(dir.path(), &["--format", "junit", "stack.yml"]));
    roxmltree::Document::parse(&xml).expect("junit is XML");
}

/// `harness lint FILE` defaults to the `default` profile, where a fixed name or host port
/// is a warning; `profile:` in the config file or `--profile` (which wins) changes it.
#[test]
fn profiles_from_the_command_line_and_the_config_file() {
    let levels = |out: &Output| -> Vec<(String, String)> {
        let doc = json(out);
        let mut v: Vec<(String, String)> = doc["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .filter(|f| f["rule"] == "fixed-container-name" || f["rule"] == "hardcoded-host-port")
            .map(|f| (f["rule"].to_string(), f["level"].to_string()))
            .collect();
        v.sort();
        v
    };
    let both = |level: &str| {
        vec![
            (
                "\"fixed-container-name\"".to_string(),
                format!("\"{level}\""),
            ),
            (
                "\"hardcoded-host-port\"".to_string(),
                format!("\"{level}\""),
            ),
        ]
    };
    let dir = workspace(&[("stack.yml", COMPOSE)]);
    let out = lint(dir.path(), &["--json", "stack.yml"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert_eq!(levels(&out), both("warn"));
    let out = lint(
        dir.path(),
        &["--json", "--profile", "multi-instance", "stack.yml"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(levels(&out), both("error"));

    let dir = workspace(&[
        ("stack.yml", COMPOSE),
        (".harness-lint.yml", "profile: multi-instance\n"),
    ]);
    let out = lint(dir.path(), &["--json", "stack.yml"]);
    assert_eq!(levels(&out), both("error"));
    let out = lint(dir.path(), &["--json", "--profile", "default", "stack.yml"]);
    assert_eq!(levels(&out), both("warn"));

    let dir = workspace(&[
        ("stack.yml", COMPOSE),
        (".harness-lint.yml", "profile: strict\n"),
    ]);
    let out = lint(dir.path(), &["stack.yml"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(".harness-lint.yml") && err.contains("use default or multi-instance"),
        "{err}"
    );
    let out = lint(dir.path(), &["--profile", "strict", "stack.yml"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "clap rejects an unknown profile"
    );
}

#[test]
fn bad_yaml_is_exit_2_with_line_and_column() {
    let dir = workspace(&[("bad.yml", "services:\n  a:\n    ports: [\n")]);
    let out = lint(dir.path(), &["bad.yml"]);
    assert_eq!(out.status.code(), Some(2));
    let text = stdout(&out);
    assert!(
        text.starts_with("bad.yml:4:1: error: not valid YAML"),
        "{text}"
    );
    let doc = json(&lint(dir.path(), &["--json", "bad.yml"]));
    assert_eq!(doc["errors"][0]["line"], 4);
    assert_eq!(doc["errors"][0]["column"], 1);
    // A file that is YAML but not a compose file names the key, and where it is.
    let dir = workspace(&[(
        "typo.yml",
        "services:\n  a: {image: x}\nservice:\n  b: {}\n",
    )]);
    let out = lint(dir.path(), &["typo.yml"]);
    assert_eq!(out.status.code(), Some(2));
    let text = stdout(&out);
    assert!(
        text.starts_with("typo.yml:3:1: error: unknown top-level key `service`"),
        "{text}"
    );
}

#[test]
fn a_config_file_beside_the_compose_file_turns_rules_off_and_on() {
    let dir = workspace(&[
        ("stack.yml", COMPOSE),
        (
            ".harness-lint.yml",
            "rules:\n  fixed-container-name: off\n  hardcoded-host-port: warn\n  missing-project-name: info\n",
        ),
    ]);
    let out = lint(dir.path(), &["--json", "stack.yml"]);
    let doc = json(&out);
    let rules = rules_in(&doc, "stack.yml");
    assert!(!rules.contains(&"fixed-container-name".to_string()));
    assert!(rules.contains(&"missing-project-name".to_string()));
    assert_eq!(
        out.status.code(),
        Some(0),
        "the only errors were turned down"
    );
    let out = lint(dir.path(), &["--config", "nope.yml", "stack.yml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("nope.yml"));
}

#[test]
fn suppression_comments_dotenv_and_the_override_file() {
    let dir = workspace(&[
        (
            "compose.yaml",
            "# harness-lint disable-file no-resource-limits\nservices:\n  api:\n    image: \"example/api:${TAG}\"\n    container_name: api  # harness-lint disable-line fixed-container-name\n",
        ),
        (".env", "TAG=1.2\n"),
        (
            "compose.override.yaml",
            "services:\n  api:\n    privileged: true\n",
        ),
    ]);
    let doc = json(&lint(dir.path(), &["--json", "compose.yaml"]));
    let base = rules_in(&doc, "compose.yaml");
    for gone in [
        "no-resource-limits",
        "fixed-container-name",
        "required-variable",
    ] {
        assert!(!base.contains(&gone.to_string()), "{gone}: {base:?}");
    }
    assert!(base.contains(&"missing-healthcheck".to_string()));
    let over = rules_in(&doc, "compose.override.yaml");
    assert_eq!(over, vec!["privileged"]);
}

#[test]
fn fix_previews_a_diff_and_writes_nothing() {
    let dir = workspace(&[("stack.yml", COMPOSE)]);
    let out = lint(dir.path(), &["--fix", "stack.yml"]);
    let text = stdout(&out);
    assert!(text.contains("-    container_name: api\n"), "{text}");
    assert!(text.contains("+      - \"127.0.0.1::80\"\n"), "{text}");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("stack.yml")).expect("read"),
        COMPOSE
    );
    let out = lint(dir.path(), &["--apply", "stack.yml"]);
    assert_eq!(out.status.code(), Some(2), "--apply needs --fix");
}

#[test]
fn the_task_candidate_is_linted_in_prompt_lines_and_never_written() {
    let out = common::harness_cmd()
        .args(["lint", "--json"])
        .output()
        .expect("spawn");
    let doc = json(&out);
    let f = doc["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .find(|f| f["path"] == "version")
        .expect("version finding");
    // The candidate starts below the prompt's ```yaml fence.
    assert!(f["line"].as_u64().expect("line") > 1);
    let out = common::harness_cmd()
        .args(["lint", "--fix", "--apply"])
        .output()
        .expect("spawn");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("iterate --apply"));
}

/// A task whose candidate checks its health every 30s, with `extra` in its block.
fn slow_task(extra: &str) -> String {
    format!(
        "# t\n- **Success/Failure Ratio**: 0:0\n- **Last Updated**: x\n- **Last UUID**: `None`\n- **Evolution History**:\n  | Version | Change & Reason | Result | UUID |\n  | :------ | :-------------- | :----- | :--- |\n\n```yaml\nservices:\n  api:\n    image: example/api:1.2\n    ports: [\"127.0.0.1::80\"]\n    restart: unless-stopped\n    healthcheck:\n      test: [CMD, check]\n      interval: 30s\n```\n\n```harness-protocol\napps:\n  - service: api\n    http: [{{port: 80, path: /health}}]\n{extra}```\n"
    )
}

#[test]
fn a_task_s_block_raises_a_rule_to_an_error_as_its_gate_does() {
    let dir = workspace(&[
        ("plain.md", &slow_task("")),
        (
            "raised.md",
            &slow_task("lint:\n  errors: [slow-healthcheck]\n"),
        ),
    ]);
    let level = |task: &str| {
        let out = lint(dir.path(), &["--json", "--task", task]);
        let found = slow_healthcheck(&json(&out));
        assert_eq!(found["mutation"], "quick-healthcheck", "{found:#}");
        (
            out.status.code(),
            found["level"].as_str().expect("level").to_string(),
        )
    };
    assert_eq!(level("plain.md"), (Some(0), "warn".to_string()));
    assert_eq!(level("raised.md"), (Some(1), "error".to_string()));
    // The shipped task asks for it.
    let out = common::harness_cmd()
        .args(["lint", "--json"])
        .output()
        .expect("spawn");
    let shipped = slow_healthcheck(&json(&out));
    assert_eq!(shipped["level"], "error", "{shipped:#}");
}

fn slow_healthcheck(doc: &Value) -> Value {
    doc["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .find(|f| f["rule"] == "slow-healthcheck")
        .unwrap_or_else(|| panic!("{doc:#}"))
        .clone()
}

const CREDENTIAL_MOUNTS: &str = "services:\n  app:\n    image: example/app:1.0\n    restart: unless-stopped\n    volumes:\n      - ./logs:/app/logs   # the app's own\n      - ${CLAUDE_HOME:-~/.claude}:/home/app/.claude:ro\n      - type: bind\n        source: ${HOME}/.config/gcloud\n        target: /gcloud\n      - ~/.claude-themes:/themes:ro\n  worker:\n    image: example/worker:1.0\n    volumes:\n      - $HOME/.ssh:/root/.ssh:ro\n    restart: unless-stopped\n";

#[test]
fn fix_removes_credential_mounts_and_compose_config_accepts_the_result() {
    let test = "fix_removes_credential_mounts_and_compose_config_accepts_the_result";
    let dir = workspace(&[("stack.yml", CREDENTIAL_MOUNTS)]);
    let doc = json(&lint(dir.path(), &["--json", "stack.yml"]));
    let errors: Vec<(String, String)> = doc["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["rule"] == "sensitive-host-mount")
        .map(|f| {
            assert_eq!(f["level"], "error", "{f}");
            assert_eq!(f["mutation"], "drop-credential-mount", "{f}");
            (
                f["path"].as_str().expect("path").to_string(),
                f["line"].to_string(),
            )
        })
        .collect();
    assert_eq!(
        errors,
        vec![
            ("services.app.volumes[1]".to_string(), "7".to_string()),
            ("services.app.volumes[2]".to_string(), "8".to_string()),
            ("services.worker.volumes[0]".to_string(), "15".to_string()),
        ]
    );
    let Some(cli) = common::compose_cli(test) else {
        return;
    };
    let out = lint(dir.path(), &["--fix", "--apply", "stack.yml"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let fixed = std::fs::read_to_string(dir.path().join("stack.yml")).expect("read");
    assert_eq!(
        fixed,
        "services:\n  app:\n    image: example/app:1.0\n    restart: unless-stopped\n    volumes:\n      - ./logs:/app/logs   # the app's own\n      - ~/.claude-themes:/themes:ro\n  worker:\n    image: example/worker:1.0\n    restart: unless-stopped\n"
    );
    // `--apply` writes only what `compose config` accepted; check it independently too.
    let check = cli
        .std_command()
        .args(["-f", "stack.yml", "config", "-q"])
        .current_dir(dir.path())
        .output()
        .expect("run compose config");
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    let again = lint(dir.path(), &["--json", "stack.yml"]);
    assert!(
        rules_in(&json(&again), "stack.yml")
            .iter()
            .all(|r| r != "sensitive-host-mount")
    );
}

/// `include:` and `extends:` are followed: a problem in the file pulled in is reported
/// there, by line; a missing env file and an undefined secret are errors (exit 1).
#[test]
fn include_and_extends_are_followed_and_reported_where_the_node_is() {
    let dir = workspace(&[
        (
            "compose.yaml",
            "include:\n  - db.yml\nservices:\n  api:\n    extends:\n      file: base.yml\n      service: web\n    depends_on: [db]\n    env_file: missing.env\n    secrets: [token]\n",
        ),
        (
            "base.yml",
            "services:\n  web:\n    image: example/web:1.2\n    privileged: true\n",
        ),
        (
            "db.yml",
            "services:\n  db:\n    image: postgres:16\n    cap_add: [SYS_ADMIN]\n",
        ),
    ]);
    let out = lint(dir.path(), &["--json", "compose.yaml"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let doc = json(&out);
    let main = rules_in(&doc, "compose.yaml");
    for rule in ["missing-env-file", "undefined-secret"] {
        assert!(main.contains(&rule.to_string()), "{rule}: {main:?}");
    }
    for quiet in ["not-followed", "depends-on-unknown-service", "privileged"] {
        assert!(!main.contains(&quiet.to_string()), "{quiet}: {main:?}");
    }
    assert!(rules_in(&doc, "base.yml").contains(&"privileged".to_string()));
    assert!(rules_in(&doc, "db.yml").contains(&"cap-add".to_string()));
    let privileged = doc["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .find(|f| f["rule"] == "privileged")
        .expect("privileged");
    assert_eq!(privileged["line"], 4);
    assert_eq!(privileged["path"], "services.web.privileged");
}
