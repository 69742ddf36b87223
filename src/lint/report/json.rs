use serde_json::{Value, json as j};

use super::{JSON_VERSION, Report, TOOL};

/// `{version, tool, findings[], errors[]}`: every finding with its file, rule, level,
/// path, line, column, message, mutation, fingerprint and — under `--fix` — its `fix`.
pub fn json(report: &Report) -> Value {
    let findings: Vec<Value> = report
        .findings()
        .map(|(file, f)| {
            let mut v = j!({
                "file": file.path,
                "rule": f.rule,
                "level": f.level,
                "path": f.path,
                "line": f.line,
                "column": f.column,
                "message": f.message,
                "mutation": f.mutation,
                "fingerprint": f.fingerprint,
            });
            if let Some(fix) = file.fixes.get(&f.fingerprint) {
                v["fix"] = j!(fix);
            }
            v
        })
        .collect();
    j!({
        "version": JSON_VERSION,
        "tool": {"name": TOOL, "version": env!("CARGO_PKG_VERSION")},
        "findings": findings,
        "errors": report.errors,
    })
}
