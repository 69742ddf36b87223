//! The nightly workflow users copy into their CI must run what the README says.

use std::path::Path;

const REPO: &str = env!("CARGO_MANIFEST_DIR");

fn readme_commands() -> Vec<String> {
    let readme = std::fs::read_to_string(Path::new(REPO).join("README.md")).expect("README");
    let block = readme.split("```bash\n").nth(1).expect("a bash block");
    block
        .split("```")
        .next()
        .expect("closed")
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn the_nightly_workflow_runs_the_readmes_first_command_and_publishes_results() {
    let text = std::fs::read_to_string(Path::new(REPO).join(".github/workflows/nightly.yml"))
        .expect("workflow");
    let doc: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text).expect("valid YAML");
    let steps = doc["jobs"]["harness"]["steps"]
        .as_sequence()
        .expect("steps");
    let runs: Vec<&str> = steps.iter().filter_map(|s| s["run"].as_str()).collect();
    let first = &readme_commands()[0];
    assert!(
        runs[0].starts_with(first.as_str()),
        "workflow `{}` vs README `{first}`",
        runs[0]
    );
    assert!(runs.iter().any(|r| r.contains("harness audit")));
    assert!(runs.iter().any(|r| r.contains("harness report")));
    let upload = steps
        .iter()
        .find(|s| {
            s["uses"]
                .as_str()
                .is_some_and(|u| u.starts_with("actions/upload-artifact"))
        })
        .expect("upload");
    let paths = upload["with"]["path"].as_str().expect("paths");
    assert!(
        paths.contains("runs/junit.xml") && paths.contains("runs/report/"),
        "{paths}"
    );
    // The commands it names exist in this binary: their --help works.
    for sub in ["iterate", "audit", "report"] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_harness"))
            .args([sub, "--help"])
            .output()
            .expect("spawn");
        assert!(out.status.success(), "harness {sub} --help");
    }
}

#[test]
fn ci_runs_the_readmes_second_command() {
    let ci = std::fs::read_to_string(Path::new(REPO).join(".ci/run")).expect(".ci/run");
    let second = &readme_commands()[1];
    assert!(ci.contains(&format!("exec {second}")), "{ci}");
}
