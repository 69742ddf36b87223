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
