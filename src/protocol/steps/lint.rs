use super::{StepResult, fail, pass};
use crate::lint::{Level, gate};
use crate::protocol::context::StepContext;
use crate::run::Signature;
use crate::run::evidence::LintEvidence;

/// Static rules on the candidate, at the gate's levels and the ones the task's block
/// raises. Errors fail the step; the run goes on so the other steps still gather evidence.
pub(super) fn lint(s: &StepContext<'_>) -> StepResult {
    let findings = gate(&s.plan.candidate, &s.plan.spec.gate());
    let errors = findings.iter().filter(|f| f.level == Level::Error).count();
    let worst: Vec<String> = findings
        .iter()
        .filter(|f| f.level == Level::Error)
        .map(|f| format!("{} {}", f.rule, f.path))
        .collect();
    let summary = format!("{errors} error(s): {}", worst.join(", "));
    let evidence = LintEvidence {
        summary: Some(summary),
        errors: Some(errors as u64),
        findings: Some(serde_json::to_value(&findings).unwrap_or_default()),
    };
    if errors > 0 {
        fail(Signature::LintError, evidence)
    } else {
        pass(evidence)
    }
}
