//! min / median / max over the rounds of one figure.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct Summary {
    pub n: usize,
    pub min: f64,
    pub median: f64,
    pub max: f64,
}

impl Summary {
    pub fn of(values: &[f64]) -> Option<Summary> {
        let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
        if v.is_empty() {
            return None;
        }
        v.sort_by(f64::total_cmp);
        let n = v.len();
        let median = if n % 2 == 1 {
            v[n / 2]
        } else {
            (v[n / 2 - 1] + v[n / 2]) / 2.0
        };
        // Two decimals are more than any of these figures can resolve.
        let r = |x: f64| (x * 100.0).round() / 100.0;
        Some(Summary {
            n,
            min: r(v[0]),
            median: r(median),
            max: r(v[n - 1]),
        })
    }

    /// `min / median / max` with `unit`, for the table.
    pub fn show(&self, unit: &str) -> String {
        format!(
            "{} / {} / {}{unit}",
            num(self.min),
            num(self.median),
            num(self.max)
        )
    }
}

pub fn num(x: f64) -> String {
    if x.abs() >= 100.0 {
        format!("{x:.0}")
    } else if x.abs() >= 10.0 {
        format!("{x:.1}")
    } else {
        format!("{x:.2}")
    }
}
