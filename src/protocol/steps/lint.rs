use serde_json::json;

use super::{StepResult, fail, pass};
use crate::lint::{Level, lint as run_lint};
use crate::protocol::context::StepContext;
use crate::run::Signature;

/// Static rules on the candidate. Errors fail the step; the run goes on so the other
/// steps still gather evidence.
pub(super) fn lint(s: &StepContext<'_>) -> StepResult {
    let findings = run_lint(&s.plan.candidate);
    let errors = findings.iter().filter(|f| f.level == Level::Error).count();
    let worst: Vec<String> = findings
        .iter()
        .filter(|f| f.level == Level::Error)
        .map(|f| format!("{} {}", f.rule, f.path))
        .collect();
    let summary = format!("{errors} error(s): {}", worst.join(", "));
    let evidence = json!({"summary": summary, "errors": errors, "findings": findings});
    if errors > 0 {
        fail(Signature::LintError, evidence)
    } else {
        pass(evidence)
    }
}
