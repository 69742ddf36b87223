//! Every mutated config must pass the real CLI's `compose config -q` (the CLI the harness
//! detects: v2 unless `HARNESS_COMPOSE` forces another): the shipped
//! task's steps, and every mutation that applies to the awesome-compose corpus.
//!
//! `config` needs no engine, but it does check that each `build:` context and `env_file:`
//! exists. The corpus comes without its app sources, so the originals would fail for that
//! reason alone: the test stubs each relative build context (an empty directory with an
//! empty Dockerfile) and each env file (empty) in the temp dir beside the compose file.
//! A file whose original still fails `config` is skipped and counted.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde_yaml_ng::Value;

use super::apply::apply_rendered;
use super::render::Rendering;
use super::tests::{seed_steps, shipped_facts};
use super::{Facts, catalog};
use crate::compose::ComposeFile;
use crate::engine::{ComposeCli, EngineError, Flavor};
use crate::lint::lint;

const CORPUS: &str = "../shared/corpus/awesome-compose";

/// Why `compose config -q` did not accept a file.
#[derive(Debug, thiserror::Error)]
enum ConfigError {
    #[error("cannot write the file to check: {0}")]
    Write(#[from] std::io::Error),
    #[error(transparent)]
    Cli(#[from] EngineError),
    #[error("{cli} config rejects it:\n{stderr}")]
    Rejected { cli: String, stderr: String },
}

/// The CLI the harness would run (`HARNESS_COMPOSE` forces one), or `None` with a printed
/// reason — except under `CI=true`, where a missing CLI fails the test.
fn compose_cli(test: &str) -> Option<ComposeCli> {
    match ComposeCli::detect_blocking() {
        Ok(cli) => Some(cli),
        Err(e) if std::env::var("CI").as_deref() == Ok("true") => {
            panic!("{test}: {e}, and CI=true requires it")
        }
        Err(e) => {
            println!("skipped {test}: {e}");
            None
        }
    }
}

/// `Err` when `compose config -q` rejects `yaml` in `dir`.
fn config_q(cli: &ComposeCli, dir: &Path, yaml: &str) -> Result<(), ConfigError> {
    config_q_with(cli, dir, yaml, &[])
}

fn config_q_with(
    cli: &ComposeCli,
    dir: &Path,
    yaml: &str,
    vars: &[(&str, &str)],
) -> Result<(), ConfigError> {
    let path = dir.join("docker-compose.yml");
    std::fs::write(&path, yaml)?;
    let out = cli
        .std_command()
        .arg("-f")
        .arg(&path)
        .args(["config", "-q"])
        .envs(vars.iter().copied())
        .current_dir(dir)
        .output()
        .map_err(|source| EngineError::Spawn {
            program: cli.display_name(),
            source,
        })?;
    if out.status.success() {
        Ok(())
    } else {
        Err(ConfigError::Rejected {
            cli: cli.display_name(),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        })
    }
}

/// Relative paths under `dir` only: a stub never lands outside the temp dir.
fn inside(dir: &Path, rel: &str) -> Option<PathBuf> {
    let p = Path::new(rel);
    let escapes = p.is_absolute()
        || rel.contains('$')
        || p.components()
            .any(|c| matches!(c, std::path::Component::ParentDir));
    (!escapes).then(|| dir.join(p))
}

/// Empty build contexts (with an empty Dockerfile) and env files, where the file names
/// them; whether there was any.
fn stub_inputs(dir: &Path, doc: &Value) -> bool {
    let mut any = false;
    let Some(services) = doc.get("services").and_then(Value::as_mapping) else {
        return any;
    };
    for body in services.values() {
        let (context, dockerfile) = match body.get("build") {
            Some(Value::String(c)) => (Some(c.clone()), None),
            Some(Value::Mapping(b)) => (
                b.get("context")
                    .and_then(Value::as_str)
                    .map(str::to_string)
                    .or(Some(".".into())),
                b.get("dockerfile")
                    .and_then(Value::as_str)
                    .map(str::to_string),
            ),
            _ => (None, None),
        };
        if let Some(ctx) = context.and_then(|c| inside(dir, &c)) {
            any = true;
            let _ = std::fs::create_dir_all(&ctx);
            let file = dockerfile.unwrap_or_else(|| "Dockerfile".into());
            if let Some(df) = inside(&ctx, &file) {
                if let Some(parent) = df.parent() {
                    let _ = std::fs::create_dir_all(parent);
                }
                let _ = std::fs::write(df, "");
            }
        }
        let env_files: Vec<String> = match body.get("env_file") {
            Some(Value::String(s)) => vec![s.clone()],
            Some(Value::Sequence(items)) => items
                .iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect(),
            _ => Vec::new(),
        };
        for env in env_files.iter().filter_map(|e| inside(dir, e)) {
            any = true;
            if let Some(parent) = env.parent() {
                let _ = std::fs::create_dir_all(parent);
            }
            let _ = std::fs::write(env, "");
        }
    }
    any
}

#[test]
fn the_seed_steps_pass_compose_config() {
    let Some(cli) = compose_cli("the_seed_steps_pass_compose_config") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let steps = seed_steps();
    config_q(&cli, dir.path(), &steps[0].1.text).expect("the seed passes config");
    for (id, _, m) in &steps {
        if let Err(e) = config_q(&cli, dir.path(), &m.yaml) {
            panic!("{id}: {e}\n{}", m.yaml);
        }
    }
    // The rest of the catalog, where it applies to the seed.
    let seed = &steps[0].1;
    for info in catalog() {
        if let Some(m) = super::apply(info.id, seed, &shipped_facts()).unwrap() {
            config_q(&cli, dir.path(), &m.yaml).unwrap_or_else(|e| panic!("{}: {e}", info.id));
        }
    }
}

const EVERY_PROBLEM: &str = "tests/fixtures/mutate/every-problem.yml";

/// Each mutation alone, then all of them in catalog order, on a file with every problem.
#[test]
fn every_mutation_on_the_fixture_passes_compose_config() {
    let Some(cli) = compose_cli("every_mutation_on_the_fixture_passes_compose_config") else {
        return;
    };
    let text = std::fs::read_to_string(EVERY_PROBLEM).unwrap();
    let seed = ComposeFile::parse(EVERY_PROBLEM, &text, 1).unwrap();
    let dir = tempfile::tempdir().unwrap();
    // `${POSTGRES_PASSWORD:?}` stops Compose where it is unset, until env-default.
    let password = [("POSTGRES_PASSWORD", "x")];
    config_q_with(&cli, dir.path(), &text, &password).expect("the fixture passes config");
    let facts = shipped_facts();
    for info in catalog() {
        let (m, how) = apply_rendered(info.id, &seed, &facts)
            .unwrap()
            .unwrap_or_else(|| panic!("{} does not apply to the fixture", info.id));
        assert_eq!(how, Rendering::Lossless, "{}", info.id);
        config_q_with(&cli, dir.path(), &m.yaml, &password)
            .unwrap_or_else(|e| panic!("{}: {e}\n{}", info.id, m.yaml));
    }
    let mut file = seed;
    for info in catalog() {
        if let Some(m) = super::apply(info.id, &file, &facts).unwrap() {
            file = ComposeFile::parse(info.id, &m.yaml, 1).unwrap();
        }
    }
    config_q(&cli, dir.path(), &file.text).unwrap_or_else(|e| panic!("all: {e}\n{}", file.text));
    println!(
        "{}",
        super::diff(&text, &file.text, EVERY_PROBLEM, "all mutations")
    );
    let findings = lint(&file);
    for f in &findings {
        println!("lint: {f}");
    }
    assert!(
        findings.iter().all(|f| f.mutation.is_none()),
        "{findings:#?}"
    );
}

/// Keys v2 accepts and v1 refuses: a top-level `name:`, `start_interval`, and
/// `depends_on.<svc>.restart`.
const V2_ONLY: &str = "name: demo\nservices:\n  db:\n    image: harness/redis:local\n    container_name: db\n    healthcheck:\n      test: [\"CMD\", \"redis-cli\", \"ping\"]\n      interval: 30s\n      start_period: 10s\n      start_interval: 1s\n  web:\n    image: harness/executor:local\n    ports: [\"7000:7000\"]\n    depends_on:\n      db:\n        condition: service_started\n        restart: true\n";

/// v2's keys survive every mutation that applies, and v2's `config` accepts the result.
#[test]
fn v2_only_keys_survive_the_mutations_and_v2_config_accepts_them() {
    let test = "v2_only_keys_survive_the_mutations_and_v2_config_accepts_them";
    let Some(cli) = compose_cli(test) else {
        return;
    };
    if cli.flavor != Flavor::V2 {
        println!(
            "skipped {test}: {} is Compose v1, which rejects these keys",
            cli.display_name()
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    config_q(&cli, dir.path(), V2_ONLY).expect("v2 accepts the original");
    let mut file = ComposeFile::parse("v2.yml", V2_ONLY, 1).unwrap();
    let mut applied = Vec::new();
    for info in catalog() {
        if let Some(m) = super::apply(info.id, &file, &shipped_facts()).unwrap() {
            applied.push(info.id);
            file = ComposeFile::parse(info.id, &m.yaml, 1).unwrap();
        }
    }
    assert!(applied.contains(&"depends-on-healthy"), "{applied:?}");
    for kept in ["name: demo", "start_interval: 1s", "restart: true"] {
        assert!(file.text.contains(kept), "{kept} lost:\n{}", file.text);
    }
    config_q(&cli, dir.path(), &file.text).unwrap_or_else(|e| panic!("{e}\n{}", file.text));
}

#[derive(Default)]
struct Tally {
    files: usize,
    stubbed: usize,
    unparsed: Vec<String>,
    original_fails: Vec<String>,
    checked_files: usize,
    applied: usize,
    passed: usize,
    lossless: usize,
    requoted: usize,
    reserialised: Vec<String>,
    failures: Vec<String>,
    unfixed: Vec<String>,
    per_id: std::collections::BTreeMap<&'static str, usize>,
}

#[test]
fn corpus_mutations_pass_compose_config() {
    let Ok(entries) = std::fs::read_dir(CORPUS) else {
        println!("skipped: {CORPUS} is absent");
        return;
    };
    let Some(cli) = compose_cli("corpus_mutations_pass_compose_config") else {
        return;
    };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yml" || x == "yaml"))
        .collect();
    paths.sort();
    let tally = Mutex::new(Tally::default());
    let queue = Mutex::new(paths);
    // v1 is a slow Python start-up; two workers for the two cores.
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| {
                while let Some(path) = queue.lock().unwrap().pop() {
                    check_file(&cli, &path, &tally);
                }
            });
        }
    });
    let t = tally.into_inner().unwrap();
    println!(
        "corpus: {} files, {} parse as compose files, {} fail `config` as shipped even with stubs",
        t.files,
        t.files - t.unparsed.len(),
        t.original_fails.len()
    );
    println!(
        "  {} name a build context or env file, stubbed in the temp dir",
        t.stubbed
    );
    println!("  not parsed: {:?}", t.unparsed);
    println!("  original fails config: {:?}", t.original_fails);
    println!(
        "  {} files checked: {} mutations applied, {} pass `config -q`; {} lossless, {} requoted, {} re-serialised {:?}",
        t.checked_files,
        t.applied,
        t.passed,
        t.lossless,
        t.requoted,
        t.reserialised.len(),
        t.reserialised
    );
    println!("  applied per mutation: {:?}", t.per_id);
    println!(
        "  mutations whose own lint finding remains: {:?}",
        t.unfixed
    );
    assert!(t.failures.is_empty(), "{}", t.failures.join("\n\n"));
    assert!(t.unfixed.is_empty(), "{:?}", t.unfixed);
    assert!(t.checked_files > 0);
}

fn check_file(cli: &ComposeCli, path: &Path, tally: &Mutex<Tally>) {
    let name = path
        .file_name()
        .unwrap_or_default()
        .to_string_lossy()
        .to_string();
    tally.lock().unwrap().files += 1;
    let Ok(text) = std::fs::read_to_string(path) else {
        tally.lock().unwrap().unparsed.push(name);
        return;
    };
    let Ok(file) = ComposeFile::parse(&name, &text, 1) else {
        tally.lock().unwrap().unparsed.push(name);
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    if stub_inputs(dir.path(), &file.doc) {
        tally.lock().unwrap().stubbed += 1;
    }
    if let Err(e) = config_q(cli, dir.path(), &text) {
        let text = match e {
            ConfigError::Rejected { stderr, .. } => stderr,
            other => other.to_string(),
        };
        let first = text.lines().take(2).collect::<Vec<_>>().join(" ");
        tally
            .lock()
            .unwrap()
            .original_fails
            .push(format!("{name}: {first}"));
        return;
    }
    tally.lock().unwrap().checked_files += 1;
    let facts = Facts::default();
    for info in catalog() {
        let result = apply_rendered(info.id, &file, &facts);
        let (m, how) = match result {
            Ok(Some(r)) => r,
            Ok(None) => continue,
            Err(e) => {
                tally
                    .lock()
                    .unwrap()
                    .failures
                    .push(format!("{name} {}: {e}", info.id));
                continue;
            }
        };
        let verdict = config_q(cli, dir.path(), &m.yaml);
        let remaining = ComposeFile::parse("new", &m.yaml, 1)
            .map(|f| {
                lint(&f)
                    .iter()
                    .filter(|f| f.mutation == Some(info.id))
                    .count()
            })
            .unwrap_or(usize::MAX);
        let mut t = tally.lock().unwrap();
        t.applied += 1;
        *t.per_id.entry(info.id).or_default() += 1;
        match how {
            Rendering::Lossless => t.lossless += 1,
            Rendering::Requoted => t.requoted += 1,
            Rendering::Reserialised => t.reserialised.push(format!("{name} {}", info.id)),
        }
        match verdict {
            Ok(()) => t.passed += 1,
            Err(e) => t
                .failures
                .push(format!("{name} {}: {e}\n{}", info.id, m.yaml)),
        }
        if remaining > 0 {
            t.unfixed
                .push(format!("{name} {} ({remaining} left)", info.id));
        }
    }
}
