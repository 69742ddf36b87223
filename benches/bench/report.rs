//! The table: one row per figure, harness beside its baseline, with the goal.

use comfy_table::{Table, presets::UTF8_FULL_CONDENSED};
use serde_json::Value;

use crate::stats::{Summary, num};

fn s(v: &Value) -> Option<Summary> {
    serde_json::from_value(v.clone()).ok()
}

fn mmm(v: &Value, unit: &str) -> String {
    s(v).map(|s| s.show(unit)).unwrap_or_else(|| "n/a".into())
}

fn median(v: &Value) -> Option<f64> {
    s(v).map(|s| s.median)
}

fn met(ok: Option<bool>) -> String {
    match ok {
        Some(true) => "yes".into(),
        Some(false) => "NO".into(),
        None => "n/a".into(),
    }
}

pub fn table(out: &Value) -> Table {
    let mut t = Table::new();
    t.load_style(UTF8_FULL_CONDENSED).set_header([
        "figure",
        "harness (min / median / max)",
        "baseline (min / median / max)",
        "ratio",
        "goal",
        "met",
    ]);
    let o = &out["overhead"];
    if !o.is_null() {
        let ratio = o["ratio_of_medians"].as_f64();
        t.add_row([
            format!("1 deploy→api→ws→down wall ({} rounds)", o["rounds"]),
            mmm(&o["harness_wall_ms"], " ms"),
            format!("floor {}", mmm(&o["floor_wall_ms"], " ms")),
            ratio.map(|r| format!("{r:.3}")).unwrap_or_default(),
            "≤ 1.15".into(),
            met(ratio.map(|r| r <= 1.15)),
        ]);
        let w = &o["whole_protocol"];
        let ratio = w["ratio_to_floor"].as_f64();
        t.add_row([
            format!("6 whole-protocol run / floor ({} rounds)", o["rounds"]),
            mmm(&w["wall_ms"], " ms"),
            format!("floor {}", mmm(&o["floor_wall_ms"], " ms")),
            ratio.map(|r| format!("{r:.2}")).unwrap_or_default(),
            "≤ 2.0".into(),
            met(ratio.map(|r| r <= 2.0)),
        ]);
        let lag = median(&o["lag_ms"]["harness"]);
        let floor_lag = median(&o["lag_ms"]["floor"]);
        t.add_row([
            "2 health-detect lag".into(),
            mmm(&o["lag_ms"]["harness"], " ms"),
            format!("floor {}", mmm(&o["lag_ms"]["floor"], " ms")),
            match (lag, floor_lag) {
                (Some(a), Some(b)) if b > 0.0 => format!("{:.1}", a / b),
                _ => String::new(),
            },
            "p50 ≤ 20 ms".into(),
            met(lag.map(|l| l <= 20.0)),
        ]);
        let cpu = median(&o["cpu_ms"]["harness_self"]);
        t.add_row([
            "5 harness CPU per run (user+sys)".into(),
            mmm(&o["cpu_ms"]["harness_self"], " ms"),
            format!(
                "with compose children {}",
                mmm(&o["cpu_ms"]["harness_with_children"], " ms")
            ),
            String::new(),
            "≤ 50 ms".into(),
            met(cpu.map(|c| c <= 50.0)),
        ]);
    }
    for g in out["graduate"].as_array().into_iter().flatten() {
        let wall = g["iterate_wall_s"].as_f64();
        t.add_row([
            format!("7 seed task time-to-graduate, --parallel {}", g["parallel"]),
            wall.map(|w| format!("{w:.0} s"))
                .unwrap_or_else(|| "n/a".into()),
            format!(
                "{} versions, {} runs, graduated {}; load {} → {}",
                g["versions"],
                g["runs"],
                g["graduated"],
                g["loadavg"]["before"],
                g["loadavg"]["after"]
            ),
            String::new(),
            "≤ 240 s".into(),
            met(wall.map(|w| w <= 240.0 && g["graduated"] == true)),
        ]);
    }
    let p = &out["ports"];
    if !p.is_null() {
        let h = &p["harness"];
        let sd = &p["seed_scan_then_bind"];
        let bad = h["port_collisions"].as_u64().unwrap_or(0)
            + h["failed_deploys"].as_u64().unwrap_or(0)
            + h["overlapping_ports"].as_u64().unwrap_or(0);
        t.add_row([
            format!(
                "3 port safety: {} launches, {} at a time",
                h["launches"], h["concurrency"]
            ),
            format!(
                "{} collisions, {} failed deploys",
                h["port_collisions"], h["failed_deploys"]
            ),
            format!(
                "seed finder: {} collisions, {} failed ({} finder exhausted)",
                sd["port_collisions"], sd["failed_deploys"], sd["finder_exhausted"]
            ),
            String::new(),
            "0".into(),
            met(Some(bad == 0)),
        ]);
    }
    let r = &out["records"];
    if !r.is_null() {
        let runs = r["runs"].as_u64().unwrap_or(0);
        let row = |t: &mut Table, name: &str, v: &Value, goal: f64| {
            let m = median(&v["wall_ms"]);
            t.add_row([
                format!("4 {name} ({runs} runs)"),
                mmm(&v["wall_ms"], " ms"),
                format!("max RSS {}", mmm(&v["max_rss_mb"], " MB")),
                String::new(),
                format!("≤ {} ms", num(goal)),
                met(m.map(|m| m <= goal && v["exit_ok"] != false)),
            ]);
        };
        row(&mut t, "harness scoreboard", &r["scoreboard"], 200.0);
        row(&mut t, "harness audit", &r["audit"], 2000.0);
        let full = &r["audit_full"];
        t.add_row([
            format!("4 harness audit --full ({runs} runs)"),
            mmm(&full["wall_ms"], " ms"),
            format!(
                "max RSS {}; first cached audit {}",
                mmm(&full["max_rss_mb"], " MB"),
                mmm(&r["audit_first"]["wall_ms"], " ms")
            ),
            String::new(),
            "reads every file".into(),
            "-".into(),
        ]);
        let ins = &r["insert"];
        let m = median(&ins["insert_ms"]);
        t.add_row([
            format!("4 one run insert ({runs} runs)"),
            mmm(&ins["insert_ms"], " ms"),
            format!(
                "store open {}; RSS {}",
                mmm(&ins["store_open_ms"], " ms"),
                mmm(&ins["max_rss_mb"], " MB")
            ),
            String::new(),
            "≤ 5 ms".into(),
            met(m.map(|m| m <= 5.0)),
        ]);
    }
    t
}
