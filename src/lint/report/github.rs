use super::Report;
use crate::lint::finding::Level;

/// GitHub Actions workflow commands: `::error file=…,line=…,col=…,title=…::message`, one
/// per finding (warn → `::warning`, info → `::notice`), one `::error` per file not linted.
pub fn github(report: &Report) -> String {
    let mut out = String::new();
    for e in &report.errors {
        let mut props = vec![format!("file={}", property(&e.file))];
        if let Some(l) = e.line {
            props.push(format!("line={l}"));
        }
        if let Some(c) = e.column {
            props.push(format!("col={c}"));
        }
        props.push("title=harness-lint".to_string());
        out.push_str(&format!(
            "::error {}::{}\n",
            props.join(","),
            data(e.detail())
        ));
    }
    for (file, f) in report.findings() {
        let command = match f.level {
            Level::Error => "error",
            Level::Warn => "warning",
            Level::Info => "notice",
        };
        let mut props = vec![format!("file={}", property(&file.path))];
        if let Some(l) = f.line {
            props.push(format!("line={l}"));
        }
        if let Some(c) = f.column {
            props.push(format!("col={c}"));
        }
        props.push(format!("title={}", property(f.rule)));
        let text = if f.path.is_empty() {
            f.message.clone()
        } else {
            format!("{}: {}", f.path, f.message)
        };
        out.push_str(&format!(
            "::{command} {}::{}\n",
            props.join(","),
            data(&text)
        ));
    }
    out
}

/// The escapes the runner undoes in a message.
fn data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// In a property, `:` and `,` separate, so they are escaped too.
fn property(s: &str) -> String {
    data(s).replace(':', "%3A").replace(',', "%2C")
}
