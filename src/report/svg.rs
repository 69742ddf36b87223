//! The inline SVG chart of a version's success ratio over its runs.

use std::fmt::Write;

use super::data::Run;
use super::escape::esc;
use crate::score;

const WIDTH: f64 = 560.0;
const HEIGHT: f64 = 180.0;
const LEFT: f64 = 44.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 12.0;
const BOTTOM: f64 = 30.0;

/// Cumulative successes / runs after each run (x = run index, 1-based), one `<circle>` per
/// run with a native tooltip, the graduation line (10:1) dashed. `None` without runs.
pub(crate) fn ratio_chart(label: &str, runs: &[Run]) -> Option<String> {
    if runs.is_empty() {
        return None;
    }
    let n = runs.len();
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let x = |i: usize| {
        if n == 1 {
            LEFT + plot_w / 2.0
        } else {
            LEFT + plot_w * (i - 1) as f64 / (n - 1) as f64
        }
    };
    let y = |ratio: f64| TOP + plot_h * (1.0 - ratio);
    let target = score::TARGET_RATIO as f64 / (score::TARGET_RATIO + 1) as f64;

    let mut svg = String::new();
    let _ = write!(
        svg,
        r##"<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{}">"##,
        esc(&format!(
            "success ratio of {label} over its {n} run{}",
            if n == 1 { "" } else { "s" }
        ))
    );
    let _ = write!(
        svg,
        "<title>{}</title>",
        esc(&format!("{label}: cumulative success ratio per run"))
    );
    let _ = write!(
        svg,
        r##"<rect width="{WIDTH}" height="{HEIGHT}" fill="#fbfcfd"/>"##
    );
    // Axes and grid.
    for (ratio, text) in [(0.0, "0"), (0.5, "0.5"), (1.0, "1")] {
        let _ = write!(
            svg,
            r##"<line class="grid" stroke="#d8dee4" x1="{LEFT}" y1="{yy:.1}" x2="{x2:.1}" y2="{yy:.1}"/><text class="axis" font-size="11" fill="#57606a" x="{tx:.1}" y="{ty:.1}" text-anchor="end">{text}</text>"##,
            yy = y(ratio),
            x2 = WIDTH - RIGHT,
            tx = LEFT - 6.0,
            ty = y(ratio) + 4.0,
        );
    }
    let _ = write!(
        svg,
        r##"<line class="target" stroke="#1a7f37" stroke-dasharray="5 4" x1="{LEFT}" y1="{yy:.1}" x2="{x2:.1}" y2="{yy:.1}"><title>graduation: {t}:1</title></line>"##,
        yy = y(target),
        x2 = WIDTH - RIGHT,
        t = score::TARGET_RATIO,
    );
    let _ = write!(
        svg,
        r##"<g class="axis" font-size="11" fill="#57606a" text-anchor="middle"><text x="{LEFT}" y="{by:.1}">1</text><text x="{rx:.1}" y="{by:.1}">{n}</text><text x="{mx:.1}" y="{by:.1}">run</text></g>"##,
        by = HEIGHT - 10.0,
        rx = x(n),
        mx = LEFT + plot_w / 2.0,
    );

    let mut successes = 0usize;
    let mut points = Vec::with_capacity(n);
    for (i, run) in runs.iter().enumerate() {
        successes += usize::from(run.success);
        let ratio = successes as f64 / (i + 1) as f64;
        points.push((x(i + 1), y(ratio), ratio, run));
    }
    if n > 1 {
        svg.push_str(
            r##"<polyline class="line" fill="none" stroke="#0969da" stroke-width="1.6" points=""##,
        );
        for (i, (px, py, _, _)) in points.iter().enumerate() {
            if i > 0 {
                svg.push(' ');
            }
            let _ = write!(svg, "{px:.1},{py:.1}");
        }
        svg.push_str(r##""/>"##);
    }
    for (i, (px, py, ratio, run)) in points.iter().enumerate() {
        let (verdict, color) = if run.success {
            ("pass", "#1a7f37")
        } else {
            ("fail", "#cf222e")
        };
        let _ = write!(
            svg,
            r##"<circle class="pt {verdict}" fill="{color}" cx="{px:.1}" cy="{py:.1}" r="3.5"><title>{}</title></circle>"##,
            esc(&format!(
                "run {} · {verdict} · ratio {ratio:.2} · {} · {}",
                i + 1,
                run.started_at,
                run.uuid
            ))
        );
    }
    svg.push_str("</svg>");
    Some(svg)
}
