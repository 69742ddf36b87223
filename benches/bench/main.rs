//! `cargo bench --bench bench -- [--quick] …` (wrapped by `scripts/bench`): the harness beside
//! the raw Compose floor, side by side in one run, as a table and as JSON. See BENCHMARKS.md.

mod floor;
mod graduate;
mod harness_run;
mod ports;
mod proc;
mod records;
mod report;
mod stack;
mod stats;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use harness_run::{HarnessRound, Workdir};
use stats::Summary;

#[derive(Debug, Clone)]
pub struct Opts {
    pub quick: bool,
    pub rounds: usize,
    pub launches: usize,
    pub concurrency: usize,
    pub records: u64,
    pub only: Vec<String>,
    pub out: PathBuf,
    pub harness: PathBuf,
    pub repo: PathBuf,
    pub keep: bool,
}

impl Opts {
    fn parse() -> anyhow::Result<Opts> {
        let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let mut o = Opts {
            quick: false,
            rounds: 0,
            launches: 0,
            concurrency: 8,
            records: 100_000,
            only: vec![],
            out: repo.join("target/bench/bench.json"),
            harness: repo.join("target/release/harness"),
            repo,
            keep: false,
        };
        let mut args = std::env::args().skip(1);
        while let Some(a) = args.next() {
            let mut val = |name: &str| {
                args.next()
                    .ok_or_else(|| anyhow::anyhow!("{name} needs a value"))
            };
            match a.as_str() {
                // `cargo bench` passes this to every bench target.
                "--bench" => {}
                "--quick" => o.quick = true,
                "--keep" => o.keep = true,
                "--rounds" => o.rounds = val("--rounds")?.parse()?,
                "--launches" => o.launches = val("--launches")?.parse()?,
                "--concurrency" => o.concurrency = val("--concurrency")?.parse()?,
                "--records" => o.records = val("--records")?.parse()?,
                "--only" => {
                    o.only = val("--only")?
                        .split(',')
                        .map(|s| s.trim().to_string())
                        .collect()
                }
                "--out" => o.out = val("--out")?.into(),
                "--harness" => o.harness = val("--harness")?.into(),
                "-h" | "--help" => {
                    println!(
                        "bench [--quick] [--rounds N] [--launches N] [--concurrency K] [--records N]\n      [--only overhead,ports,records,graduate] [--out FILE] [--harness PATH] [--keep]"
                    );
                    std::process::exit(0);
                }
                other => anyhow::bail!("unknown argument `{other}` (try --help)"),
            }
        }
        if o.rounds == 0 {
            o.rounds = if o.quick { 3 } else { 10 };
        }
        if o.launches == 0 {
            o.launches = if o.quick { 16 } else { 100 };
        }
        o.rounds = o.rounds.clamp(1, 100);
        o.launches = o.launches.clamp(1, 1000);
        o.concurrency = o.concurrency.clamp(1, 32);
        o.records = o.records.clamp(1, 1_000_000);
        Ok(o)
    }

    fn wants(&self, section: &str) -> bool {
        self.only.is_empty() || self.only.iter().any(|s| s == section)
    }
}

fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--insert-one") {
        return insert_one(&args[2..]);
    }
    let opts = match Opts::parse() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("bench: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    let rt = tokio::runtime::Runtime::new().expect("tokio runtime");
    let code = rt.block_on(async {
        let outcome = tokio::select! {
            r = bench(&opts) => r.map(|_| 0u8),
            _ = tokio::signal::ctrl_c() => { eprintln!("bench: interrupted, cleaning up"); Ok(130) }
        };
        cleanup(&opts).await;
        match outcome {
            Ok(c) => c,
            Err(e) => {
                eprintln!("bench: {e:#}");
                1
            }
        }
    });
    std::process::ExitCode::from(code)
}

/// Whatever happened: the bench's own projects, and any run of a harness the bench killed.
async fn cleanup(opts: &Opts) {
    let removed = stack::remove_all().await;
    if removed > 0 {
        eprintln!("bench: removed {removed} leftover project(s)");
    }
    let _ = tokio::process::Command::new(&opts.harness)
        .arg("gc")
        .stdout(std::process::Stdio::null())
        .output()
        .await;
}

async fn bench(opts: &Opts) -> anyhow::Result<()> {
    anyhow::ensure!(
        opts.harness.is_file(),
        "no harness binary at {} — build it first (scripts/bench does)",
        opts.harness.display()
    );
    let tmp = tempfile::Builder::new()
        .prefix("harness-bench-")
        .tempdir()?;
    let root = tmp.path().to_path_buf();
    let docker = Arc::new(harness::engine::Docker::connect().await?);
    let machine = machine(&docker).await;
    eprintln!("bench: {machine}");
    let mut out = json!({"machine": machine, "quick": opts.quick,
        "started": chrono::Utc::now().to_rfc3339()});
    let started = Instant::now();

    if opts.wants("overhead") {
        out["overhead"] = overhead(opts, &docker, &root).await?;
    }
    if opts.wants("ports") {
        out["ports"] = port_safety(opts, docker.clone(), &root).await?;
    }
    if opts.wants("records") {
        out["records"] = records_at_scale(opts, &root).await?;
    }
    // Minutes per K: left out of --quick unless asked for by name.
    if opts.wants("graduate") && (!opts.quick || !opts.only.is_empty()) {
        out["graduate"] = graduate::time_to_graduate(opts, &root).await?;
    }
    out["bench_wall_s"] = json!(started.elapsed().as_secs_f64());
    let table = report::table(&out);
    println!("{table}");
    if let Some(dir) = opts.out.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&opts.out, serde_json::to_string_pretty(&out)? + "\n")?;
    println!("{}", serde_json::to_string_pretty(&out)?);
    eprintln!("bench: JSON written to {}", opts.out.display());
    if opts.keep {
        let kept = tmp.keep();
        eprintln!("bench: kept {}", kept.display());
    }
    Ok(())
}

async fn machine(docker: &harness::engine::Docker) -> Value {
    let compose = stack::cli()
        .await
        .map(|cli| cli.display_name())
        .unwrap_or_else(|e| e.to_string());
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_string())
        })
        .unwrap_or_default();
    json!({
        "cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        "cpu": cpu,
        "kernel": std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default().trim(),
        "docker_engine": docker.server_version,
        "docker_api": docker.api_version,
        "compose": compose,
        "loadavg_at_start": std::fs::read_to_string("/proc/loadavg").unwrap_or_default().trim(),
    })
}

fn summary(v: &[f64]) -> Value {
    json!(Summary::of(v))
}

/// One `harness run` of `steps` (all of them when empty), off the async threads.
async fn harness_round(
    opts: &Opts,
    work: &Workdir,
    steps: &str,
    timeout: Duration,
) -> anyhow::Result<HarnessRound> {
    let (h, r, steps) = (opts.harness.clone(), opts.repo.clone(), steps.to_string());
    let w = Workdir {
        dir: work.dir.clone(),
        task: work.task.clone(),
    };
    Ok(tokio::task::spawn_blocking(move || harness_run::run(&h, &r, &w, &steps, timeout)).await?)
}

/// Figures 1, 2 and 5: the same rounds give the wall-time ratio, the health-detect lag and
/// the harness's CPU.
async fn overhead(
    opts: &Opts,
    docker: &harness::engine::Docker,
    root: &Path,
) -> anyhow::Result<Value> {
    let file = opts.repo.join("docker/docker-compose.yml");
    let work = Workdir::new(root, "overhead", &opts.repo)?;
    let steps = "deploy,api_probe,ws_probe,shutdown";
    let timeout = Duration::from_secs(180);
    let mut floors = Vec::new();
    let mut harnesses: Vec<HarnessRound> = Vec::new();
    let mut wholes: Vec<HarnessRound> = Vec::new();
    let load_before = graduate::loadavg();
    let mut lags = Vec::new();
    let mut failures = Vec::new();
    // Round 0 warms caches (images, Python's bytecode, the page cache) and is not counted.
    for round in 0..=opts.rounds {
        let counted = round > 0;
        // The whole protocol beside the same floor: what one verdict costs.
        let whole = harness_round(opts, &work, "", timeout).await?;
        match (whole.success, counted) {
            (true, true) => wholes.push(whole),
            (true, false) => {}
            (false, _) => failures.push(format!("whole-protocol round {round}: {:?}", whole.error)),
        }
        for which in if round % 2 == 0 { [0, 1] } else { [1, 0] } {
            if which == 0 {
                let project = stack::project_name("floor", round);
                let r = floor::round(docker.client(), &file, &project, timeout).await;
                stack::remove(docker, &project).await;
                match r {
                    Ok(r) if counted => floors.push(r),
                    Ok(_) => {}
                    Err(e) => failures.push(format!("floor round {round}: {e}")),
                }
            } else {
                let r = harness_round(opts, &work, steps, timeout).await?;
                if !r.success {
                    failures.push(format!("harness round {round}: {:?}", r.error));
                    continue;
                }
                if counted {
                    let healthy = harness_run::healthy_events(docker.client(), &r).await;
                    if let Some(l) = harness_run::lag_ms(&r, &healthy) {
                        lags.push(l);
                    }
                    harnesses.push(r);
                }
            }
        }
        eprintln!(
            "bench: overhead round {round}/{} done{}",
            opts.rounds,
            if counted { "" } else { " (warm-up)" }
        );
    }
    let fw: Vec<f64> = floors.iter().map(|f| f.wall_ms).collect();
    let hw: Vec<f64> = harnesses.iter().map(|h| h.wall_ms).collect();
    let ratio = match (Summary::of(&fw), Summary::of(&hw)) {
        (Some(f), Some(h)) => Some(h.median / f.median),
        _ => None,
    };
    // Per-round ratios pair the i-th harness round with the i-th floor round.
    let per_round: Vec<f64> = fw.iter().zip(&hw).map(|(f, h)| h / f).collect();
    let step =
        |name: &str| -> Vec<f64> { harnesses.iter().filter_map(|h| h.step_ms(name)).collect() };
    let outside_steps: Vec<f64> = harnesses
        .iter()
        .map(|h| h.wall_ms - h.steps.iter().map(|s| s.2 as f64).sum::<f64>())
        .collect();
    let floor_lags: Vec<f64> = floors.iter().filter_map(|f| f.lag_ms).collect();
    let whole_wall: Vec<f64> = wholes.iter().map(|h| h.wall_ms).collect();
    let whole_ratio = match (Summary::of(&fw), Summary::of(&whole_wall)) {
        (Some(f), Some(w)) => Some(w.median / f.median),
        _ => None,
    };
    let whole_step = |name: &str| -> Value {
        summary(
            &wholes
                .iter()
                .filter_map(|h| h.step_ms(name))
                .collect::<Vec<_>>(),
        )
    };
    let whole_steps: serde_json::Map<String, Value> = harness::run::StepKind::ALL
        .iter()
        .map(|k| (k.name().to_string(), whole_step(k.name())))
        .collect();
    let self_cpu: Vec<f64> = harnesses.iter().map(|h| h.self_cpu_ms).collect();
    let total_cpu: Vec<f64> = harnesses.iter().map(|h| h.total_cpu_ms).collect();
    let rss: Vec<f64> = harnesses
        .iter()
        .map(|h| h.max_rss_kb as f64 / 1024.0)
        .collect();
    Ok(json!({
        "rounds": opts.rounds,
        "steps": steps,
        "floor_wall_ms": summary(&fw),
        "harness_wall_ms": summary(&hw),
        "ratio_of_medians": ratio,
        "ratio_per_round": summary(&per_round),
        "goal_ratio": 1.15,
        "floor_phases_ms": {
            "up": summary(&floors.iter().map(|f| f.up_ms).collect::<Vec<_>>()),
            "wait_healthy": summary(&floors.iter().map(|f| f.wait_ms).collect::<Vec<_>>()),
            "probes": summary(&floors.iter().map(|f| f.probes_ms).collect::<Vec<_>>()),
            "down": summary(&floors.iter().map(|f| f.down_ms).collect::<Vec<_>>()),
        },
        "harness_steps_ms": {
            "deploy": summary(&step("deploy")),
            "api_probe": summary(&step("api_probe")),
            "ws_probe": summary(&step("ws_probe")),
            "shutdown": summary(&step("shutdown")),
            "outside_steps": summary(&outside_steps),
        },
        "lag_ms": {"harness": summary(&lags), "floor": summary(&floor_lags), "goal_p50": 20.0},
        "cpu_ms": {"harness_self": summary(&self_cpu), "harness_with_children": summary(&total_cpu),
            "goal_self": 50.0},
        "harness_max_rss_mb": summary(&rss),
        "whole_protocol": {
            "wall_ms": summary(&whole_wall),
            "ratio_to_floor": whole_ratio,
            "goal_ratio": 2.0,
            "steps_ms": whole_steps,
        },
        "loadavg": {"before": load_before, "after": graduate::loadavg()},
        "failures": failures,
    }))
}

/// Figure 3.
async fn port_safety(
    opts: &Opts,
    docker: Arc<harness::engine::Docker>,
    root: &Path,
) -> anyhow::Result<Value> {
    let (n, k) = (opts.launches, opts.concurrency);
    eprintln!("bench: ports: {n} harness launches, {k} at a time");
    let h = ports::harness_launches(&opts.harness, &opts.repo, root, n, k).await?;
    eprintln!(
        "bench: ports: harness {} deployed, {} failed ({:.0} s); now the seed's finder",
        h.deployed, h.failed_deploys, h.wall_s
    );
    let file = ports::seed_config(&opts.repo, root)?;
    let s = ports::seed_launches(docker, &file, n, k).await;
    eprintln!(
        "bench: ports: seed {} deployed, {} collisions ({:.0} s)",
        s.deployed, s.port_collisions, s.wall_s
    );
    Ok(json!({"harness": h, "seed_scan_then_bind": s, "goal": 0}))
}

/// Figure 4.
async fn records_at_scale(opts: &Opts, root: &Path) -> anyhow::Result<Value> {
    let n = opts.records;
    let dir = root.join("records");
    eprintln!("bench: records: generating {n} runs through the store API");
    let gen_dir = dir.clone();
    let fixture = tokio::task::spawn_blocking(move || records::generate(&gen_dir, n)).await??;
    eprintln!("bench: records: generated in {:.0} s", fixture.generate_s);
    let db_mb = std::fs::metadata(&fixture.db).map(|m| m.len()).unwrap_or(0) as f64 / 1e6;
    let reps = if opts.quick { 3 } else { 7 };
    let harness = opts.harness.clone();
    let (db, runs) = (fixture.db.clone(), fixture.runs.clone());
    let dir2 = dir.clone();
    let exe = std::env::current_exe()?;
    let next = fixture.next;
    let measured = tokio::task::spawn_blocking(move || {
        let cmd = |args: &[&str]| {
            let mut c = std::process::Command::new(&harness);
            c.current_dir(&dir2)
                .arg("--db")
                .arg(&db)
                .arg("--runs-dir")
                .arg(&runs)
                .args(args);
            c
        };
        let times = |args: &[&str], reps: usize| {
            let mut ms = Vec::new();
            let mut rss = Vec::new();
            let mut last = None;
            for _ in 0..reps {
                match proc::run(&mut cmd(args), Duration::from_secs(300)) {
                    Ok(m) => {
                        ms.push(m.wall_ms);
                        rss.push(m.max_rss_kb as f64 / 1024.0);
                        last = Some(m);
                    }
                    Err(e) => eprintln!("bench: {args:?}: {e}"),
                }
            }
            let ok = last.as_ref().map(|m| m.code == Some(0)).unwrap_or(false);
            let tail = last
                .map(|m| m.stdout.lines().rev().take(2).collect::<Vec<_>>().join(" | "))
                .unwrap_or_default();
            json!({"wall_ms": Summary::of(&ms), "max_rss_mb": Summary::of(&rss), "exit_ok": ok, "output_tail": tail})
        };
        let scoreboard = times(&["scoreboard"], reps);
        let scoreboard_json = times(&["--json", "scoreboard"], reps);
        // Every file re-read, then the audit as it runs day to day: the first one keeps its
        // verdicts beside the scoreboard, the timed ones read only what changed since.
        let audit_full = times(&["audit", "--full"], reps.min(3));
        let audit_first = times(&["audit"], 1);
        let audit = times(&["audit"], reps.min(5));
        // One insert per process, as `harness run` does it: open the store, one run.
        let mut ins = Vec::new();
        let mut open = Vec::new();
        let mut rss = Vec::new();
        for i in 0..(reps * 3) as u64 {
            let mut c = std::process::Command::new(&exe);
            c.arg("--insert-one").arg(&dir2).arg((next + i).to_string());
            if let Ok(m) = proc::run(&mut c, Duration::from_secs(60))
                && let Ok(v) = serde_json::from_str::<Value>(m.stdout.trim())
            {
                ins.push(v["insert_ms"].as_f64().unwrap_or(f64::NAN));
                open.push(v["open_ms"].as_f64().unwrap_or(f64::NAN));
                rss.push(m.max_rss_kb as f64 / 1024.0);
            }
        }
        // The audit again, now that the inserted runs are part of the chain.
        let audit_after = times(&["audit"], 1);
        json!({"scoreboard": scoreboard, "scoreboard_json": scoreboard_json, "audit": audit,
            "audit_full": audit_full, "audit_first": audit_first,
            "audit_after_inserts": audit_after,
            "insert": {"insert_ms": Summary::of(&ins), "store_open_ms": Summary::of(&open), "max_rss_mb": Summary::of(&rss)}})
    })
    .await?;
    let mut v = measured;
    v["runs"] = json!(n);
    v["generate_s"] = json!(fixture.generate_s);
    v["db_mb"] = json!(db_mb);
    v["goals"] = json!({"scoreboard_ms": 200, "audit_ms": 2000, "insert_ms": 5});
    v["audit_covers"] = json!(
        "every run row (chain, columns, steps), its run file, its evidence dir (override + logs); no prompt (the synthetic task has no prompt with 100 000 history rows). `audit --full` reads every file; `audit` skips the runs an earlier audit verified whose row digest and file stamps (inode, size, mtime, ctime) are unchanged, and still hashes every row's json into the chain"
    );
    Ok(v)
}

/// `bench --insert-one DIR I`: one process, one run recorded into the fixture in DIR.
fn insert_one(args: &[String]) -> std::process::ExitCode {
    let (Some(dir), Some(i)) = (
        args.first(),
        args.get(1).and_then(|s| s.parse::<u64>().ok()),
    ) else {
        eprintln!("usage: bench --insert-one DIR I");
        return std::process::ExitCode::from(2);
    };
    let started = Instant::now();
    let (mut store, fixture) = match records::open(Path::new(dir)) {
        Ok(x) => x,
        Err(e) => {
            eprintln!("{e:#}");
            return std::process::ExitCode::from(1);
        }
    };
    let open_ms = started.elapsed().as_secs_f64() * 1000.0;
    match records::write_run(&mut store, &fixture, i) {
        Ok(insert_ms) => {
            println!("{}", json!({"open_ms": open_ms, "insert_ms": insert_ms}));
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{e}");
            std::process::ExitCode::from(1)
        }
    }
}
