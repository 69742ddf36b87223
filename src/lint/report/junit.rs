use quick_junit::{NonSuccessKind, Report as Junit, TestCase, TestCaseStatus, TestSuite};

use super::{Report, TOOL};
use crate::lint::finding::Level;

/// One `<testsuite>` per file; one `<testcase>` per rule that ran, failing (type = level)
/// once per finding of it at error or warn level; info findings go in the case's
/// system-out. A file that could not be linted is a suite with one erroring case.
pub fn junit(report: &Report, rules: &[&str]) -> Result<String, quick_junit::SerializeError> {
    let mut out = Junit::new(TOOL);
    for e in &report.errors {
        let mut suite = TestSuite::new(e.file.as_str());
        let mut status = TestCaseStatus::non_success(NonSuccessKind::Error);
        status.set_message(e.message.as_str());
        suite.add_test_case(TestCase::new("load", status));
        out.add_test_suite(suite);
    }
    for file in &report.files {
        let mut suite = TestSuite::new(file.path.as_str());
        for rule in rules {
            let hits: Vec<_> = file.findings.iter().filter(|f| f.rule == *rule).collect();
            let failing: Vec<_> = hits.iter().filter(|f| f.level != Level::Info).collect();
            let lines: Vec<String> = hits
                .iter()
                .map(|f| {
                    format!(
                        "{}:{}:{}: {} {}: {}",
                        file.path,
                        f.line.unwrap_or(0),
                        f.column.unwrap_or(0),
                        f.level,
                        f.path,
                        f.message
                    )
                })
                .collect();
            let mut case = if failing.is_empty() {
                TestCase::new(*rule, TestCaseStatus::success())
            } else {
                let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
                status.set_type(failing[0].level.as_str());
                status.set_message(format!(
                    "{} finding(s), first at {}",
                    failing.len(),
                    failing[0].path
                ));
                status.set_description(lines.join("\n"));
                TestCase::new(*rule, status)
            };
            case.set_classname(file.path.as_str());
            if failing.is_empty() && !lines.is_empty() {
                case.set_system_out(lines.join("\n"));
            }
            suite.add_test_case(case);
        }
        out.add_test_suite(suite);
    }
    out.to_string()
}
