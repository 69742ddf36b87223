use serde_json::{Value, json as j};

use super::{Report, TOOL, position};
use crate::lint::finding::{Level, RuleInfo};
use crate::lint::fix::Fix;

const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

fn level(l: Level) -> &'static str {
    match l {
        Level::Error => "error",
        Level::Warn => "warning",
        Level::Info => "note",
    }
}

/// SARIF 2.1.0: one run; `tool.driver.rules` lists the rules that ran; each result has
/// its rule, level, message, a physical location (file, line, column), the path as a
/// logical location, a partial fingerprint and — where `--fix` has one — `fixes[]` with
/// `artifactChanges` on the original bytes. Files that could not be linted are tool
/// execution notifications, and the invocation is then not successful.
pub fn sarif(report: &Report, rules: &[&RuleInfo]) -> Value {
    let descriptors: Vec<Value> = rules
        .iter()
        .map(|r| {
            j!({
                "id": r.id,
                "shortDescription": {"text": r.description},
                "defaultConfiguration": {"level": level(r.level)},
                "helpUri": help_uri(r.id),
                "properties": {"anchor": r.anchor, "fix": r.mutation},
            })
        })
        .collect();
    let results: Vec<Value> = report
        .findings()
        .map(|(file, f)| {
            let mut region = serde_json::Map::new();
            if let Some(l) = f.line {
                region.insert("startLine".into(), j!(l));
            }
            if let Some(c) = f.column {
                region.insert("startColumn".into(), j!(c));
            }
            let mut physical = j!({"artifactLocation": {"uri": uri(&file.path)}});
            if !region.is_empty() {
                physical["region"] = Value::Object(region);
            }
            let mut location = j!({"physicalLocation": physical});
            if !f.path.is_empty() {
                location["logicalLocations"] = j!([{"fullyQualifiedName": f.path}]);
            }
            let mut result = j!({
                "ruleId": f.rule,
                "level": level(f.level),
                "message": {"text": f.message},
                "locations": [location],
                "partialFingerprints": {"harnessLint/v1": f.fingerprint},
            });
            if let Some(i) = rules.iter().position(|r| r.id == f.rule) {
                result["ruleIndex"] = j!(i);
            }
            if let Some(fix) = file.fixes.get(&f.fingerprint) {
                result["fixes"] = j!([fix_json(&file.path, &file.text, fix)]);
            }
            result
        })
        .collect();
    let notifications: Vec<Value> = report
        .errors
        .iter()
        .map(|e| {
            let mut physical = j!({"artifactLocation": {"uri": uri(&e.file)}});
            if let Some(l) = e.line {
                physical["region"] = j!({"startLine": l});
                if let Some(c) = e.column {
                    physical["region"]["startColumn"] = j!(c);
                }
            }
            j!({
                "level": "error",
                "message": {"text": e.detail()},
                "locations": [{"physicalLocation": physical}],
            })
        })
        .collect();
    j!({
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": TOOL,
                "version": env!("CARGO_PKG_VERSION"),
                "rules": descriptors,
            }},
            "columnKind": "unicodeCodePoints",
            "invocations": [{
                "executionSuccessful": report.errors.is_empty(),
                "toolExecutionNotifications": notifications,
            }],
            "results": results,
        }],
    })
}

/// Where docs/LINT.md documents the rule: its row in the rules table carries the anchor
/// `rule-<id>`. SARIF wants an absolute URI here (the schema's `format: uri`): the
/// package's repository when Cargo.toml names one, else the docs in the tree the binary
/// was built from.
pub(crate) fn help_uri(id: &str) -> String {
    let repo = env!("CARGO_PKG_REPOSITORY").trim_end_matches('/');
    if repo.is_empty() {
        format!("file://{}/{DOCS}#rule-{id}", env!("CARGO_MANIFEST_DIR"))
    } else {
        format!("{repo}/blob/HEAD/{DOCS}#rule-{id}")
    }
}

const DOCS: &str = "docs/LINT.md";

/// Characters (code points, as `columnKind` says) before byte `offset`: SARIF's
/// `charOffset` counts characters, not bytes.
fn chars(text: &str, offset: usize) -> usize {
    text.get(..offset).map_or(0, |t| t.chars().count())
}

/// A relative path stays relative (SARIF consumers resolve it against the checkout);
/// Windows separators become slashes.
fn uri(path: &str) -> String {
    path.replace('\\', "/")
}

fn fix_json(path: &str, text: &str, fix: &Fix) -> Value {
    let replacements: Vec<Value> = fix
        .edits
        .iter()
        .map(|e| {
            let (sl, sc) = position(text, e.start);
            let (el, ec) = position(text, e.end);
            let mut r = j!({
                "deletedRegion": {
                    "startLine": sl, "startColumn": sc, "endLine": el, "endColumn": ec,
                    "charOffset": chars(text, e.start),
                    "charLength": chars(text, e.end) - chars(text, e.start),
                    "byteOffset": e.start, "byteLength": e.end - e.start,
                },
            });
            if !e.text.is_empty() {
                r["insertedContent"] = j!({"text": e.text});
            }
            r
        })
        .collect();
    j!({
        "description": {"text": format!("{} ({})", fix.description, fix.mutation)},
        "artifactChanges": [{
            "artifactLocation": {"uri": uri(path)},
            "replacements": replacements,
        }],
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn char_offsets_count_code_points_not_bytes() {
        let text = "é: ü\nx";
        assert_eq!(super::chars(text, 0), 0);
        assert_eq!(super::chars(text, "é: ü".len()), 4);
        assert_eq!(super::chars(text, text.len()), 6);
    }
}
