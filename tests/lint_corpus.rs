//! `harness lint` over every real-world file in `../shared/corpus/`: each lints without a
//! crash, the whole corpus in well under a second, and `--fix --apply` on a copy changes
//! only the bytes inside the entries its findings point at, and leaves a file that
//! re-parses, that `compose config` accepts, that a second `--fix` leaves alone and in
//! which no rule finds more than before.
//!
//! `compose config` checks that each `build:` context and `env_file:` exists; the corpus
//! comes without its app sources, so each copy gets empty stand-ins (as the mutation
//! corpus test does). A file whose original `config` still rejects is counted, not fixed.

mod common;

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use harness::compose::ComposeFile;
use harness::engine::ComposeCli;
use harness::fix::plan;
use harness::lint::fix::{apply_edits, inside};
use harness::lint::{Level, Options, lint_with};
use serde_yaml_ng::Value;

const CORPUS: &str = "../shared/corpus";

/// Every compose file under the corpus, sorted; `None` (after saying why) when absent.
fn corpus(test: &str) -> Option<Vec<PathBuf>> {
    let root = Path::new(common::REPO).join(CORPUS);
    if !root.is_dir() {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!(
                "{test}: {} is absent, and CI=true requires it",
                root.display()
            );
        }
        eprintln!("SKIPPED {test}: {} is absent", root.display());
        return None;
    }
    let mut files = Vec::new();
    let mut stack = vec![root];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("read corpus dir").flatten() {
            let p = entry.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|e| e == "yml" || e == "yaml") {
                files.push(p);
            }
        }
    }
    files.sort();
    assert!(!files.is_empty(), "the corpus holds no compose file");
    Some(files)
}

fn load(path: &Path) -> ComposeFile {
    let text = std::fs::read_to_string(path).expect("readable");
    ComposeFile::parse(&path.display().to_string(), &text, 1).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn the_corpus_lints_without_a_crash_in_well_under_a_second() {
    let Some(files) = corpus("the_corpus_lints_without_a_crash_in_well_under_a_second") else {
        return;
    };
    let loaded: Vec<ComposeFile> = files.iter().map(|p| load(p)).collect();
    let started = Instant::now();
    let mut by_rule: BTreeMap<(&str, Level), usize> = BTreeMap::new();
    let mut total = 0;
    for file in &loaded {
        for f in lint_with(file, &Options::default()) {
            assert!(f.line.is_some(), "{}: {f} has no line", file.origin);
            assert_eq!(f.fingerprint.len(), 16);
            *by_rule.entry((f.rule, f.level)).or_default() += 1;
            total += 1;
        }
    }
    let took = started.elapsed();
    println!(
        "{} files, {total} findings, linted in {} ms",
        loaded.len(),
        took.as_millis()
    );
    for ((rule, level), n) in &by_rule {
        println!("{n:5} {level:<5} {rule}");
    }
    // Debug builds are several times slower than the release binary; the bound still
    // catches anything quadratic.
    let bound = if cfg!(debug_assertions) {
        Duration::from_secs(5)
    } else {
        Duration::from_secs(1)
    };
    assert!(took < bound, "took {took:?}");
}

/// Relative paths under `dir` only: a stand-in never lands outside the temp dir.
fn under(dir: &Path, rel: &str) -> Option<PathBuf> {
    let p = Path::new(rel);
    let escapes = p.is_absolute()
        || rel.contains('$')
        || p.components()
            .any(|c| matches!(c, std::path::Component::ParentDir));
    (!escapes).then(|| dir.join(p))
}

/// Empty build contexts (with an empty Dockerfile) and env files where the file names them.
fn stub_inputs(dir: &Path, doc: &Value) {
    let Some(services) = doc.get("services").and_then(Value::as_mapping) else {
        return;
    };
    for body in services.values() {
        let (context, dockerfile) = match body.get("build") {
            Some(Value::String(c)) => (Some(c.clone()), None),
            Some(Value::Mapping(b)) => (
                Some(
                    b.get("context")
                        .and_then(Value::as_str)
                        .unwrap_or(".")
                        .to_string(),
                ),
                b.get("dockerfile")
                    .and_then(Value::as_str)
                    .map(str::to_string),
            ),
            _ => (None, None),
        };
        if let Some(ctx) = context.and_then(|c| under(dir, &c)) {
            std::fs::create_dir_all(&ctx).expect("context");
            let df = dockerfile.unwrap_or_else(|| "Dockerfile".into());
            if let Some(df) = under(&ctx, &df) {
                if let Some(parent) = df.parent() {
                    std::fs::create_dir_all(parent).expect("dockerfile dir");
                }
                std::fs::write(df, "").expect("dockerfile");
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
        for env in env_files.iter().filter_map(|e| under(dir, e)) {
            if let Some(parent) = env.parent() {
                std::fs::create_dir_all(parent).expect("env dir");
            }
            std::fs::write(env, "").expect("env file");
        }
    }
}

/// `compose config -q` on `path`, killed after [`CONFIG_BOUND`]: a hung CLI fails the
/// file instead of the whole run.
fn config_ok(cli: &ComposeCli, path: &Path) -> Result<(), String> {
    let mut child = cli
        .std_command()
        .arg("-f")
        .arg(path)
        .args(["config", "-q"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| e.to_string())?;
    let started = Instant::now();
    // Polling, bounded: std has no wait-with-timeout.
    let status = loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            break status;
        }
        if started.elapsed() > CONFIG_BOUND {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("`compose config` took over {CONFIG_BOUND:?}"));
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut stderr = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_string(&mut stderr);
    }
    if status.success() {
        Ok(())
    } else {
        Err(stderr.trim().to_string())
    }
}

const CONFIG_BOUND: Duration = Duration::from_secs(30);

/// How many findings of each rule a file has.
fn per_rule(file: &ComposeFile) -> BTreeMap<&'static str, usize> {
    let mut n = BTreeMap::new();
    for f in lint_with(file, &Options::default()) {
        *n.entry(f.rule).or_default() += 1;
    }
    n
}

/// `harness lint --fix --apply` on `path`; panics unless it exits 0 or 1.
fn fix_apply(path: &Path) -> String {
    let out = common::harness_cmd()
        .args(["lint", "--fix", "--apply", "--format", "json"])
        .arg(path)
        .output()
        .expect("spawn harness");
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{}: exit {:?}: {stderr}",
        path.display(),
        out.status.code()
    );
    stderr
}

#[test]
fn fix_apply_changes_only_finding_spans_and_compose_accepts_the_result() {
    const TEST: &str = "fix_apply_changes_only_finding_spans_and_compose_accepts_the_result";
    let Some(files) = corpus(TEST) else {
        return;
    };
    let Some(cli) = common::compose_cli(TEST) else {
        return;
    };
    let (mut fixed, mut unchanged, mut rejected_as_written) = (0, 0, Vec::new());
    let mut edits_total = 0;
    for path in &files {
        let original = load(path);
        let planned = plan(&original, &Options::default());
        // The property: the fixed text is the original with the planned edits made, and
        // every edit lies inside an entry a fixable finding points at.
        assert_eq!(
            apply_edits(&original.text, &planned.edits),
            planned.text,
            "{}",
            path.display()
        );
        for e in &planned.edits {
            assert!(
                inside(e, &planned.allowed),
                "{}: edit {e:?} outside every finding's entry",
                path.display()
            );
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let copy = dir.path().join(path.file_name().expect("file name"));
        std::fs::write(&copy, &original.text).expect("copy");
        stub_inputs(dir.path(), &original.doc);
        if let Err(e) = config_ok(&cli, &copy) {
            rejected_as_written.push(format!("{}: {e}", path.display()));
            continue;
        }
        let stderr = fix_apply(&copy);
        let written = std::fs::read_to_string(&copy).expect("read back");
        assert_eq!(written, planned.text, "{}: {stderr}", path.display());
        if planned.changed() {
            fixed += 1;
            edits_total += planned.edits.len();
            // The fixed file re-parses, and Compose still accepts it.
            let reparsed = ComposeFile::parse(&copy.display().to_string(), &written, 1)
                .unwrap_or_else(|e| panic!("{}: the fix broke the file: {e}", path.display()));
            config_ok(&cli, &copy).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            // Fixing again changes nothing: neither the plan nor the written bytes.
            let again = plan(&reparsed, &Options::default());
            assert!(!again.changed(), "{}: {:?}", path.display(), again.applied);
            fix_apply(&copy);
            let twice = std::fs::read_to_string(&copy).expect("read back");
            assert_eq!(
                twice,
                written,
                "{}: a second fix changed it",
                path.display()
            );
            // No rule finds more after the fix than before: the fix created no finding.
            let (before, after) = (per_rule(&original), per_rule(&reparsed));
            for (rule, n) in &after {
                let was = before.get(rule).copied().unwrap_or(0);
                assert!(
                    *n <= was,
                    "{}: the fix created `{rule}` findings ({was} before, {n} after)",
                    path.display()
                );
            }
        } else {
            unchanged += 1;
        }
    }
    println!(
        "{} files: {fixed} fixed ({edits_total} edits), {unchanged} with nothing to fix, {} \
         rejected by `compose config` as written",
        files.len(),
        rejected_as_written.len()
    );
    for r in &rejected_as_written {
        println!("  {r}");
    }
    assert!(fixed > 0);
}
