//! Graduation: counts in, verdicts out.

/// Seed 001: "10 successful deployments for every 1 failure".
pub const TARGET_RATIO: u64 = 10;
pub const MIN_SUCCESSES: u64 = 10;

pub fn graduated(successes: u64, failures: u64) -> bool {
    successes >= MIN_SUCCESSES && successes >= TARGET_RATIO * failures
}

/// A version's standing from the runs that count, and the evidence it rests on: the
/// seed's 10:1 rule, plus, when asked for, a Wilson lower bound it must also reach.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Verdict {
    pub runs: u64,
    pub successes: u64,
    pub failures: u64,
    pub wilson_lower: f64,
    pub min_confidence: Option<f64>,
    pub graduated: bool,
}

impl Verdict {
    pub fn judge(successes: u64, failures: u64, min_confidence: Option<f64>) -> Verdict {
        let wilson = wilson_lower(successes, failures);
        Verdict {
            runs: successes + failures,
            successes,
            failures,
            wilson_lower: wilson,
            min_confidence,
            graduated: graduated(successes, failures)
                && min_confidence.is_none_or(|min| wilson >= min),
        }
    }
}

/// A version's line of the scoreboard, judged. `runs` counts only whole-protocol runs
/// judged on the config; `partial` and `errors` (harness faults and interrupts) are shown
/// beside them and never counted.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Standing {
    pub task: String,
    /// `v<number>`.
    pub version: String,
    pub runs: u64,
    pub successes: u64,
    pub failures: u64,
    pub partial: u64,
    pub errors: u64,
    pub ratio: String,
    pub wilson_lower: f64,
    pub min_confidence: Option<f64>,
    pub graduated: bool,
    pub last_run: Option<String>,
    /// Most frequent first.
    pub signatures: Vec<SignatureCount>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SignatureCount {
    pub signature: String,
    pub count: u64,
}

impl Standing {
    pub fn judge(t: &crate::store::VersionTally, min_confidence: Option<f64>) -> Standing {
        let v = Verdict::judge(t.successes, t.failures, min_confidence);
        Standing {
            task: t.task.clone(),
            version: format!("v{}", t.version),
            runs: v.runs,
            successes: t.successes,
            failures: t.failures,
            partial: t.partial,
            errors: t.errors,
            ratio: ratio(t.successes, t.failures),
            wilson_lower: v.wilson_lower,
            min_confidence,
            graduated: v.graduated,
            last_run: t.last_run.clone(),
            signatures: (t.signatures.iter())
                .map(|(signature, count)| SignatureCount {
                    signature: signature.clone(),
                    count: *count,
                })
                .collect(),
        }
    }
}

/// Every version's standing, in the tallies' order.
pub fn standings(
    tallies: &[crate::store::VersionTally],
    min_confidence: Option<f64>,
) -> Vec<Standing> {
    let judge = |t| Standing::judge(t, min_confidence);
    tallies.iter().map(judge).collect()
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} ({} runs counted: {} ✓ {} ✗, Wilson 95 % lower bound {:.2}",
            ratio(self.successes, self.failures),
            self.runs,
            self.successes,
            self.failures,
            self.wilson_lower
        )?;
        if let Some(min) = self.min_confidence {
            write!(f, ", required {min:.2}")?;
        }
        f.write_str(if self.graduated { ") graduated" } else { ")" })
    }
}

/// `S:F`, as the prompt and the scoreboard show it.
pub fn ratio(successes: u64, failures: u64) -> String {
    format!("{successes}:{failures}")
}

/// Lower bound of the 95 % Wilson score interval of the success rate: how sure the record
/// makes us, not just how good it looks. 0 when there are no runs.
pub fn wilson_lower(successes: u64, failures: u64) -> f64 {
    let n = (successes + failures) as f64;
    if n == 0.0 {
        return 0.0;
    }
    let z = 1.959_963_984_540_054_f64;
    let p = successes as f64 / n;
    let z2n = z * z / n;
    let centre = p + z2n / 2.0;
    let margin = z * (p * (1.0 - p) / n + z2n / (4.0 * n)).sqrt();
    ((centre - margin) / (1.0 + z2n)).max(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_standing_serialises_as_the_scoreboard_json_row() {
        let tally = crate::store::VersionTally {
            task: "t".into(),
            version: 3,
            successes: 10,
            failures: 1,
            partial: 2,
            errors: 1,
            last_run: Some("2026-11-23T10:00:00Z".into()),
            signatures: vec![("port_conflict".into(), 1)],
        };
        let row = serde_json::to_string(&Standing::judge(&tally, Some(0.5))).expect("serialises");
        let wilson = wilson_lower(10, 1);
        let expected = format!(
            r#"{{"task":"t","version":"v3","runs":11,"successes":10,"failures":1,"partial":2,"errors":1,"ratio":"{}","wilson_lower":{wilson},"min_confidence":0.5,"graduated":true,"last_run":"2026-11-23T10:00:00Z","signatures":[{{"signature":"port_conflict","count":1}}]}}"#,
            ratio(10, 1)
        );
        assert_eq!(row, expected);
    }

    #[test]
    fn graduation_needs_ten_successes_per_failure_and_ten_in_all() {
        assert!(!graduated(9, 0));
        assert!(graduated(10, 0));
        assert!(graduated(10, 1));
        assert!(!graduated(19, 2));
        assert!(graduated(20, 2));
    }

    #[test]
    fn a_required_confidence_holds_graduation_back_until_the_bound_reaches_it() {
        let v = Verdict::judge(10, 0, None);
        assert!(v.graduated);
        assert!(v.to_string().contains("10 runs counted"), "{v}");
        assert!(!Verdict::judge(10, 0, Some(0.9)).graduated);
        // 0.9 needs about 35 successes without a failure.
        assert!(!Verdict::judge(30, 0, Some(0.9)).graduated);
        assert!(Verdict::judge(40, 0, Some(0.9)).graduated);
        assert!(!Verdict::judge(40, 5, Some(0.5)).graduated);
    }

    #[test]
    fn wilson_bound_matches_known_values() {
        assert_eq!(wilson_lower(0, 0), 0.0);
        // 10/10 → 0.7225 (standard table value)
        assert!((wilson_lower(10, 0) - 0.7225).abs() < 1e-3);
        assert!(wilson_lower(100, 0) > wilson_lower(10, 0));
        assert!(wilson_lower(5, 5) < 0.5);
    }
}
