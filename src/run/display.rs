//! A step as a person reads it: one terminal line, as `harness run` prints it when the
//! step ends.

use std::fmt;

use super::{Evidence, Outcome, Step};

impl fmt::Display for Step {
    /// `  ✗ deploy             6.0 s   port_conflict      <headline>`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mark = match self.outcome {
            Outcome::Pass => "✓",
            Outcome::Fail(_) => "✗",
            Outcome::Error(_) => "⚠",
            Outcome::Skip(_) => "-",
        };
        let duration = format_ms(self.duration_ms);
        let name = &self.name;
        let label = self
            .signature()
            .map(|s| s.to_string())
            .or_else(|| self.fault().map(|fault| format!("fault: {fault}")));
        match label {
            Some(sig) => write!(
                f,
                "  {mark} {name:<15} {duration:>8}   {sig:<18} {}",
                headline(&self.evidence)
            ),
            None if matches!(self.outcome, Outcome::Skip(_)) => write!(
                f,
                "  {mark} {name:<15} {duration:>8}   skipped: {}",
                headline(&self.evidence)
            ),
            None => write!(f, "  {mark} {name:<15} {duration:>8}"),
        }
    }
}

/// `950 ms`, or `3.2 s` from a second on.
pub fn format_ms(ms: u64) -> String {
    if ms < 1000 {
        format!("{ms} ms")
    } else {
        format!("{:.1} s", ms as f64 / 1000.0)
    }
}

/// One line of a step's evidence that says what went wrong: its summary, else its error,
/// else the step's own reason.
fn headline(evidence: &Evidence) -> String {
    let text = evidence.message().unwrap_or_default();
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if text.chars().count() > 120 {
        format!("{}…", text.chars().take(120).collect::<String>())
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::run::{Signature, Skip};

    fn step(outcome: Outcome, ms: u64, evidence: serde_json::Value) -> Step {
        let evidence = Evidence::read("deploy", evidence);
        let name = "deploy".to_string();
        Step {
            name,
            outcome,
            duration_ms: ms,
            evidence,
        }
    }

    #[test]
    fn a_step_line_names_its_mark_duration_signature_and_headline() {
        let failed = step(
            Outcome::Fail(Signature::PortConflict),
            6012,
            json!({"summary": "port   is\nalready allocated"}),
        );
        assert_eq!(
            failed.to_string(),
            "  ✗ deploy             6.0 s   port_conflict      port is already allocated"
        );
        let passed = step(Outcome::Pass, 12, json!({}));
        assert_eq!(passed.to_string(), "  ✓ deploy             12 ms");
        let skipped = step(
            Outcome::Skip(Skip::NotRun),
            0,
            json!({"reason": "not planned"}),
        );
        assert_eq!(
            skipped.to_string(),
            "  - deploy              0 ms   skipped: not planned"
        );
    }

    #[test]
    fn a_long_headline_is_cut_at_120_characters() {
        let long = "x".repeat(200);
        let failed = step(
            Outcome::Fail(Signature::Timeout),
            1,
            json!({ "summary": long }),
        );
        let line = failed.to_string();
        assert!(line.ends_with(&format!("{}…", "x".repeat(120))), "{line}");
    }
}
