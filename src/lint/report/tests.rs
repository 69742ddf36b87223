//! Snapshots of every format over one checked-in fixture, and SARIF checked against the
//! vendored SARIF 2.1.0 JSON schema.

use super::*;
use crate::compose::ComposeFile;
use crate::lint::{Config, Options, lint_with};

const FIXTURE: &str = "tests/fixtures/lint/snapshot.yml";
const SCHEMA: &str = "tests/fixtures/lint/sarif-schema-2.1.0.json";

fn report(with_fixes: bool) -> Report {
    let text = std::fs::read_to_string(FIXTURE).expect("fixture");
    let file = ComposeFile::parse(FIXTURE, &text, 1).expect("fixture parses");
    let opts = Options::default();
    let findings = lint_with(&file, &opts);
    let fixes = if with_fixes {
        crate::fix::plan(&file, &opts).fixes
    } else {
        Default::default()
    };
    Report {
        files: vec![FileReport {
            path: FIXTURE.to_string(),
            findings,
            fixes,
            text,
        }],
        errors: vec![LoadError {
            file: "broken.yml".to_string(),
            line: Some(3),
            column: Some(7),
            message: "broken.yml:3:7: not valid YAML: did not find expected node content — fix \
                      the syntax at that position"
                .to_string(),
        }],
    }
}

fn active() -> Vec<&'static crate::lint::RuleInfo> {
    Config::default().active()
}

#[test]
fn human_snapshot() {
    insta::assert_snapshot!(human(&report(true)));
}

#[test]
fn json_snapshot() {
    insta::assert_json_snapshot!(json(&report(false)));
}

#[test]
fn sarif_snapshot() {
    // The help URIs hold where the tree was built; `every_rule_has_a_help_uri_into_the_docs`
    // checks them.
    let mut doc = sarif(&report(true), &active());
    for rule in doc["runs"][0]["tool"]["driver"]["rules"]
        .as_array_mut()
        .expect("rules")
    {
        if let Some(uri) = rule["helpUri"].as_str() {
            let anchor = uri.rsplit('#').next().unwrap_or_default().to_string();
            rule["helpUri"] = serde_json::json!(format!("[docs]/LINT.md#{anchor}"));
        }
    }
    insta::assert_json_snapshot!(doc);
}

#[test]
fn github_snapshot() {
    insta::assert_snapshot!(github(&report(false)));
}

#[test]
fn junit_parses_and_fails_on_errors_and_warnings_only() {
    let ids: Vec<&str> = active().iter().map(|r| r.id).collect();
    let xml = junit(&report(false), &ids).expect("junit");
    let doc = roxmltree::Document::parse(&xml).expect("well-formed XML");
    let failures: Vec<&str> = doc
        .descendants()
        .filter(|n| n.has_tag_name("failure"))
        .filter_map(|n| n.attribute("type"))
        .collect();
    assert!(
        failures.contains(&"error") && failures.contains(&"warn"),
        "{xml}"
    );
    assert!(!failures.contains(&"info"), "{xml}");
    let errors = doc
        .descendants()
        .filter(|n| n.has_tag_name("error"))
        .count();
    assert_eq!(errors, 1, "the file that could not be linted");
    let cases = doc
        .descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .count();
    assert_eq!(cases, ids.len() + 1);
}

#[test]
fn sarif_is_valid_against_the_2_1_0_schema() {
    let mut schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(SCHEMA).expect("vendored schema"))
            .expect("schema is JSON");
    // The published schema's `language` patterns (of `run` and of `toolComponent`) have a
    // stray `]` that a strict regex compiler rejects, failing the whole schema; the
    // vendored file stays as published, and those patterns are read as intended (a
    // language tag like `en` or `en-US`).
    let patched = fix_language_patterns(&mut schema);
    assert_eq!(patched, 2);
    let validator = jsonschema::validator_for(&schema).expect("schema compiles");
    for with_fixes in [false, true] {
        let doc = sarif(&report(with_fixes), &active());
        let errors: Vec<String> = validator
            .iter_errors(&doc)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{errors:#?}");
    }
    // The schema is strict enough to catch a wrong shape.
    let mut bad = sarif(&report(false), &active());
    bad["runs"][0]["results"][0]["level"] = serde_json::json!("fatal");
    assert!(!validator.is_valid(&bad));
}

fn fix_language_patterns(v: &mut serde_json::Value) -> usize {
    const BROKEN: &str = "^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$";
    match v {
        serde_json::Value::Object(m) => {
            let mut n = 0;
            for (k, child) in m.iter_mut() {
                if k == "pattern" && child == BROKEN {
                    *child = serde_json::json!("^[a-zA-Z]{2}(-[a-zA-Z]{2})?$");
                    n += 1;
                } else {
                    n += fix_language_patterns(child);
                }
            }
            n
        }
        serde_json::Value::Array(items) => items.iter_mut().map(fix_language_patterns).sum(),
        _ => 0,
    }
}

#[test]
fn sarif_fixes_rebuild_the_fixed_text() {
    let r = report(true);
    let doc = sarif(&r, &active());
    let results = doc["runs"][0]["results"].as_array().expect("results");
    let fixed: Vec<&serde_json::Value> = results
        .iter()
        .filter(|r| r.get("fixes").is_some())
        .collect();
    assert!(!fixed.is_empty());
    let text = &r.files[0].text;
    for result in fixed {
        for change in result["fixes"][0]["artifactChanges"]
            .as_array()
            .expect("changes")
        {
            assert_eq!(change["artifactLocation"]["uri"], FIXTURE);
            for rep in change["replacements"].as_array().expect("replacements") {
                let region = &rep["deletedRegion"];
                let start = region["byteOffset"].as_u64().expect("offset") as usize;
                let (line, col) = position(text, start);
                assert_eq!(region["startLine"], line);
                assert_eq!(region["startColumn"], col);
            }
        }
    }
}

/// Applying every replacement by `charOffset`/`charLength` to the original's characters
/// gives the text `--fix` writes: the character ranges are the byte ranges, counted in
/// code points.
#[test]
fn sarif_character_ranges_rebuild_the_fixed_text() {
    let r = report(true);
    let text = &r.files[0].text;
    let doc = sarif(&r, &active());
    let mut reps: Vec<(usize, usize, String)> = Vec::new();
    for result in doc["runs"][0]["results"].as_array().expect("results") {
        let Some(fixes) = result.get("fixes") else {
            continue;
        };
        for rep in fixes[0]["artifactChanges"][0]["replacements"]
            .as_array()
            .expect("replacements")
        {
            let at = |k: &str| rep["deletedRegion"][k].as_u64().expect(k) as usize;
            let inserted = rep["insertedContent"]["text"].as_str().unwrap_or("");
            let by_bytes = &text[at("byteOffset")..at("byteOffset") + at("byteLength")];
            let by_chars: String = text
                .chars()
                .skip(at("charOffset"))
                .take(at("charLength"))
                .collect();
            assert_eq!(by_chars, by_bytes);
            reps.push((at("charOffset"), at("charLength"), inserted.to_string()));
        }
    }
    assert!(!reps.is_empty());
    reps.sort();
    reps.dedup();
    let chars: Vec<char> = text.chars().collect();
    let (mut out, mut at) = (String::new(), 0);
    for (start, len, inserted) in reps {
        out.extend(&chars[at..start]);
        out.push_str(&inserted);
        at = start + len;
    }
    out.extend(&chars[at..]);
    let opts = Options::default();
    let file = ComposeFile::parse(FIXTURE, text, 1).expect("fixture parses");
    assert_eq!(out, crate::fix::plan(&file, &opts).text);
}

/// Every rule's `helpUri` points at its anchor in docs/LINT.md, and the anchor is there.
#[test]
fn every_rule_has_a_help_uri_into_the_docs() {
    let docs = std::fs::read_to_string("docs/LINT.md").expect("docs/LINT.md");
    let doc = sarif(
        &report(false),
        crate::lint::rules().iter().collect::<Vec<_>>().as_slice(),
    );
    let rules = doc["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .expect("rules");
    assert_eq!(rules.len(), crate::lint::rules().len());
    for rule in rules {
        let uri = rule["helpUri"].as_str().expect("helpUri");
        let (doc, anchor) = uri.split_once('#').expect("an anchor");
        assert!(doc.ends_with("/docs/LINT.md"), "{uri}");
        assert!(
            docs.contains(&format!("<a id=\"{anchor}\"></a>")),
            "docs/LINT.md has no anchor `{anchor}`"
        );
    }
}

#[test]
fn secrets_never_reach_any_format() {
    let r = report(true);
    let ids: Vec<&str> = active().iter().map(|r| r.id).collect();
    let outputs = [
        human(&r),
        json(&r).to_string(),
        sarif(&r, &active()).to_string(),
        github(&r),
        junit(&r, &ids).expect("junit"),
    ];
    for out in outputs {
        assert!(!out.contains("hunter2"), "{out}");
    }
}

#[test]
fn github_escapes_what_would_end_a_command() {
    let mut r = report(false);
    r.files[0].findings[0].message = "50% done\nnext, line".to_string();
    r.files[0].path = "a,b:c.yml".to_string();
    let out = github(&r);
    let line = out
        .lines()
        .find(|l| l.contains("50%25"))
        .expect("escaped line");
    assert!(line.contains("file=a%2Cb%3Ac.yml"), "{line}");
    assert!(line.contains("50%25 done%0Anext, line"), "{line}");
}
