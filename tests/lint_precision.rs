//! Lint precision, measured: every file of the labelled sample
//! (`tests/fixtures/lint/labelled.toml`) is linted with the default profile, as
//! `harness lint FILE` does. The test fails when an error-level finding is not labelled,
//! when a labelled true positive is gone, or when a false positive comes back at error
//! level; it prints the precision of each error-level rule (docs/LINT.md quotes it).

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use harness::lint::check::{Target, check};
use harness::lint::{Finding, Level, Profile};
use serde::Deserialize;

const SAMPLE: &str = "tests/fixtures/lint/labelled.toml";
const CORPUS: &str = "../shared/corpus/";

#[derive(Debug, Deserialize)]
struct Sample {
    finding: Vec<Label>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Label {
    file: String,
    rule: String,
    path: String,
    true_positive: bool,
    /// A false positive the rules still make at error level.
    #[serde(default)]
    open: bool,
    reason: String,
}

fn sample() -> Vec<Label> {
    let path = Path::new(common::REPO).join(SAMPLE);
    let text = std::fs::read_to_string(&path).expect("the labelled sample is readable");
    let sample: Sample = toml::from_str(&text).unwrap_or_else(|e| panic!("{SAMPLE}: {e}"));
    for l in &sample.finding {
        assert!(
            !l.reason.trim().is_empty(),
            "{SAMPLE}: {l:?} gives no reason"
        );
        assert!(
            !(l.open && l.true_positive),
            "{SAMPLE}: {l:?}: only a false positive is open"
        );
    }
    sample.finding
}

/// The files to lint; `None` (after saying why) when the shared corpus is absent.
fn files(labels: &[Label]) -> Option<BTreeSet<&str>> {
    let corpus = Path::new(common::REPO).join(CORPUS);
    if !corpus.is_dir() {
        assert_ne!(
            std::env::var("CI").as_deref(),
            Ok("true"),
            "{} is absent, and CI=true requires it",
            corpus.display()
        );
        eprintln!("SKIPPED: {} is absent", corpus.display());
        return None;
    }
    Some(labels.iter().map(|l| l.file.as_str()).collect())
}

/// Each file's findings under the default profile, keyed by the file as the sample names it.
fn lint(files: &BTreeSet<&str>) -> BTreeMap<String, Vec<Finding>> {
    let targets: Vec<Target> = files
        .iter()
        .map(|f| Target {
            path: Path::new(common::REPO).join(f),
            in_prompt: f.ends_with(".md"),
            raised: Vec::new(),
        })
        .collect();
    let checked = check(&targets, None, Some(Profile::Default)).expect("no lint config here");
    assert!(
        checked.report.errors.is_empty(),
        "{:?}",
        checked.report.errors
    );
    let by_path: BTreeMap<PathBuf, &str> = files
        .iter()
        .map(|f| (Path::new(common::REPO).join(f), *f))
        .collect();
    checked
        .report
        .files
        .into_iter()
        .map(|r| {
            let name = by_path
                .get(Path::new(&r.path))
                .unwrap_or_else(|| panic!("{} was not asked for", r.path));
            (name.to_string(), r.findings)
        })
        .collect()
}

#[test]
fn error_level_precision_on_the_labelled_sample() {
    let labels = sample();
    assert!(
        labels.len() >= 60,
        "the sample holds {} findings",
        labels.len()
    );
    let Some(files) = files(&labels) else {
        return;
    };
    let found = lint(&files);
    let label = |file: &str, f: &Finding| {
        labels
            .iter()
            .find(|l| l.file == file && l.rule == f.rule && l.path == f.path)
    };
    let mut problems = Vec::new();
    // Per error-level rule: (true positives, false positives).
    let mut tally: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for (file, findings) in &found {
        for f in findings.iter().filter(|f| f.level == Level::Error) {
            match label(file, f) {
                None => problems.push(format!(
                    "{file}:{}: unlabelled error {} at {} — label it in {SAMPLE}",
                    f.line.unwrap_or(0),
                    f.rule,
                    f.path
                )),
                Some(l) if l.true_positive => tally.entry(f.rule).or_default().0 += 1,
                Some(l) => {
                    tally.entry(f.rule).or_default().1 += 1;
                    if !l.open {
                        problems.push(format!(
                            "{file}: false positive {} at {} is an error again ({})",
                            f.rule, f.path, l.reason
                        ));
                    }
                }
            }
        }
    }
    for l in labels.iter().filter(|l| l.true_positive) {
        let present = found[&l.file]
            .iter()
            .any(|f| f.rule == l.rule && f.path == l.path);
        if !present {
            problems.push(format!(
                "{}: true positive {} at {} is gone ({})",
                l.file, l.rule, l.path, l.reason
            ));
        }
    }
    println!("precision of error-level findings, default profile, {SAMPLE}:");
    for (rule, (tp, fp)) in &tally {
        let precision = 100.0 * *tp as f64 / (*tp + *fp) as f64;
        println!("  {rule:<28} {tp:>3} true {fp:>3} false  {precision:5.1}%");
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
