use super::Report;
use crate::lint::finding::Level;

/// One line per finding, `file:line:col: level rule path: message [fix: mutation]`, the
/// way compilers print, so editors and `grep` can jump to it; then a summary.
pub fn human(report: &Report) -> String {
    let mut out = String::new();
    for e in &report.errors {
        let at = match (e.line, e.column) {
            (Some(l), Some(c)) => format!(":{l}:{c}"),
            (Some(l), None) => format!(":{l}"),
            _ => String::new(),
        };
        out.push_str(&format!("{}{at}: error: {}\n", e.file, e.detail()));
    }
    for (file, f) in report.findings() {
        let at = match (f.line, f.column) {
            (Some(l), Some(c)) => format!(":{l}:{c}"),
            _ => String::new(),
        };
        let path = if f.path.is_empty() { "(file)" } else { &f.path };
        out.push_str(&format!(
            "{}{at}: {} {} {path}: {}",
            file.path, f.level, f.rule, f.message
        ));
        if let Some(m) = f.mutation {
            let fixable = if file.fixes.contains_key(&f.fingerprint) {
                " (--fix)"
            } else {
                ""
            };
            out.push_str(&format!(" [fix: {m}{fixable}]"));
        }
        out.push('\n');
    }
    let total: usize = report.files.iter().map(|f| f.findings.len()).sum();
    out.push_str(&format!(
        "{total} finding(s): {} error(s), {} warning(s), {} info in {} file(s)",
        report.count(Level::Error),
        report.count(Level::Warn),
        report.count(Level::Info),
        report.files.len()
    ));
    if !report.errors.is_empty() {
        out.push_str(&format!("; {} file(s) not linted", report.errors.len()));
    }
    out.push('\n');
    out
}
