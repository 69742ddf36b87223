//! JUnit XML: one `<testsuite>` per run, one `<testcase>` per step.

use std::time::Duration;

use quick_junit::{NonSuccessKind, Property, Report, TestCase, TestCaseStatus, TestSuite};

use super::ReportError;
use super::escape::{one_line, truncate_bytes};
use crate::run::record::RunRecord;
use crate::run::{Outcome, Step};

/// Evidence beyond this many bytes is cut from a failure's text; the run file has it all.
const EVIDENCE_MAX_BYTES: usize = 4096;
/// Longest `message` attribute, in characters.
const MESSAGE_MAX_CHARS: usize = 300;

/// One `<testsuite>` per run (name `"<task> <version> <uuid>"`), one `<testcase>` per step
/// (classname `task.version`, name the step's, time in seconds).
///
/// A failing step carries `<failure type="<signature>" message="<summary or error>">` with
/// its evidence as pretty JSON (cut to about 4 KB) as text; a skipped step carries
/// `<skipped message="<reason>"/>`. Each suite has the properties `execution_uuid`,
/// `config_hash`, `task`, `version` and the engine's versions. A run that failed without a
/// failing step (it stopped early) gets one more test case, `run`, with an `<error>`, so CI
/// never shows a failed run as green.
pub fn junit(runs: &[RunRecord]) -> Result<String, ReportError> {
    let mut report = Report::new("harness");
    for run in runs {
        report.add_test_suite(suite(run));
    }
    report
        .to_string()
        .map_err(|source| ReportError::Junit { source })
}

fn suite(run: &RunRecord) -> TestSuite {
    let uuid = run.execution_uuid.to_string();
    let mut suite = TestSuite::new(format!("{} {} {uuid}", run.task, run.version));
    if let Ok(ts) = chrono::DateTime::parse_from_rfc3339(&run.timestamp) {
        suite.set_timestamp(ts);
    }
    suite.set_time(Duration::from_millis(run.metrics.duration_ms));
    suite.add_properties([
        Property::new("execution_uuid", &uuid),
        Property::new("task", &run.task),
        Property::new("version", &run.version),
        Property::new("config_hash", &run.config_hash),
        Property::new("success", run.metrics.success.to_string()),
        Property::new("engine.compose", &run.engine.compose),
        Property::new("engine.docker", &run.engine.docker),
        Property::new("engine.api_version", &run.engine.api_version),
    ]);
    let classname = format!("{}.{}", run.task, run.version);
    for step in &run.steps {
        suite.add_test_case(case(step, &classname, &uuid));
    }
    if let Some(error) = &run.error {
        suite.set_system_err(error.as_str());
    }
    if !run.metrics.success && !run.steps.iter().any(Step::failed) {
        let message = run
            .error
            .as_deref()
            .map(|e| one_line(e, MESSAGE_MAX_CHARS))
            .unwrap_or_else(|| "the run failed without a failing step".to_string());
        let mut status = TestCaseStatus::non_success(NonSuccessKind::Error);
        status.set_type("run_error").set_message(message);
        if let Some(error) = &run.error {
            status.set_description(error.as_str());
        }
        let mut case = TestCase::new("run", status);
        case.set_classname(classname.as_str());
        suite.add_test_case(case);
    }
    suite
}

fn case(step: &Step, classname: &str, uuid: &str) -> TestCase {
    let message = |otherwise: String| {
        step.evidence
            .message()
            .map(|m| one_line(m, MESSAGE_MAX_CHARS))
            .unwrap_or(otherwise)
    };
    // A failure is the config's; an error (JUnit's own word for it) the harness's.
    let non_success = |kind, kind_name: &str, otherwise: String| {
        let mut status = TestCaseStatus::non_success(kind);
        status
            .set_type(kind_name)
            .set_message(message(otherwise))
            .set_description(evidence_text(&step.evidence, uuid));
        status
    };
    let status = match step.outcome {
        Outcome::Pass => TestCaseStatus::success(),
        Outcome::Fail(signature) => non_success(
            NonSuccessKind::Failure,
            signature.as_str(),
            format!("{} failed: {signature}", step.name),
        ),
        Outcome::Error(fault) => non_success(
            NonSuccessKind::Error,
            fault.as_str(),
            format!("{}: harness fault {fault}", step.name),
        ),
        Outcome::Skip(_) => {
            let mut status = TestCaseStatus::skipped();
            status.set_message(message("skipped".to_string()));
            status
        }
    };
    let mut case = TestCase::new(step.name.as_str(), status);
    case.set_classname(classname)
        .set_time(Duration::from_millis(step.duration_ms));
    case
}

/// The evidence as pretty JSON, cut to [`EVIDENCE_MAX_BYTES`] with a note saying where the
/// rest is.
fn evidence_text(evidence: &crate::run::Evidence, uuid: &str) -> String {
    let pretty = serde_json::to_string_pretty(evidence).unwrap_or_else(|_| evidence.to_string());
    if pretty.len() <= EVIDENCE_MAX_BYTES {
        return pretty;
    }
    format!(
        "{}\n… (cut at {EVIDENCE_MAX_BYTES} of {} bytes; the full evidence is in the run file of {uuid})",
        truncate_bytes(&pretty, EVIDENCE_MAX_BYTES),
        pretty.len()
    )
}
