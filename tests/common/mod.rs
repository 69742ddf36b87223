//! Shared set-up for the tests that drive the real binary against the real engine.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

pub const REPO: &str = env!("CARGO_MANIFEST_DIR");

/// True when the Docker engine answers. Without one the test is skipped with a printed
/// reason — except under `CI=true`, where a missing engine fails the suite.
/// The Compose CLI the harness uses (`HARNESS_COMPOSE` may force one) must run as well:
/// on a machine with only v2, a `HARNESS_COMPOSE=v1` run skips with the reason.
pub fn engine_available(test: &str) -> bool {
    docker_available(test) && compose_cli(test).is_some()
}

/// The Compose CLI the harness would detect, or `None` after printing why it is skipped —
/// except under `CI=true`, where a missing CLI fails the test.
pub fn compose_cli(test: &str) -> Option<harness::engine::ComposeCli> {
    match harness::engine::ComposeCli::detect_blocking() {
        Ok(cli) => Some(cli),
        Err(e) => {
            if std::env::var("CI").as_deref() == Ok("true") {
                panic!("{test}: {e}, and CI=true requires it");
            }
            eprintln!("SKIPPED {test}: {e}");
            None
        }
    }
}

fn docker_available(test: &str) -> bool {
    let ok = Command::new("docker")
        .args(["version", "--format", "{{.Server.Version}}"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !ok {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("{test}: the Docker engine is not reachable, and CI=true requires it");
        }
        eprintln!(
            "SKIPPED {test}: the Docker engine is not reachable (start dockerd or set DOCKER_HOST)"
        );
    }
    ok
}

/// The stack's images, built once per test process if `scripts/setup` has not built them.
pub fn ensure_images() {
    static DONE: OnceLock<()> = OnceLock::new();
    DONE.get_or_init(|| {
        let present = [
            "harness/executor:local",
            "harness/redis:local",
            harness::images::REAPER_IMAGE,
        ]
        .iter()
        .all(|image| {
            Command::new("docker")
                .args(["image", "inspect", image])
                .output()
                .map(|o| o.status.success())
                .unwrap_or(false)
        });
        if !present {
            let out = harness_cmd()
                .arg("images")
                .output()
                .expect("run harness images");
            assert!(
                out.status.success(),
                "harness images failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    });
}

pub fn harness_cmd() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_harness"));
    cmd.current_dir(REPO);
    // A reaper a test starts outside a Workspace goes away soon after its last harness.
    cmd.env("HARNESS_REAPER_IDLE", "5");
    cmd
}

/// `docker args…`, which must succeed: its trimmed stdout.
pub fn docker(args: &[&str]) -> String {
    let out = Command::new("docker").args(args).output().expect("docker");
    assert!(
        out.status.success(),
        "docker {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Containers, networks or volumes matching a `docker … ls --filter` filter.
pub fn engine_ids(filter: &str) -> Vec<String> {
    let mut found = Vec::new();
    for args in [
        vec!["ps", "-a", "-q", "--filter", filter],
        vec!["network", "ls", "-q", "--filter", filter],
        vec!["volume", "ls", "-q", "--filter", filter],
    ] {
        if let Ok(out) = Command::new("docker").args(&args).output() {
            found.extend(
                String::from_utf8_lossy(&out.stdout)
                    .lines()
                    .map(str::to_string),
            );
        }
    }
    found
}

/// Spawns `cmd` with its stdout piped and reads its lines until one contains `marker`
/// (bounded by the line count); returns the child and the lines seen. The rest is drained
/// in the background, so the harness never dies of a closed pipe before the test acts.
pub fn spawn_until(cmd: &mut Command, marker: &str) -> (std::process::Child, Vec<String>) {
    use std::io::{BufRead, BufReader};
    let mut child = cmd
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("spawn harness");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let mut seen = Vec::new();
    for _ in 0..60 {
        let Some(Ok(line)) = lines.next() else { break };
        let reached = line.contains(marker);
        seen.push(line);
        if reached {
            std::thread::spawn(move || lines.for_each(drop));
            return (child, seen);
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("never saw {marker:?}: {seen:?}");
}

/// A run of the reference stack without a reaper, killed with SIGKILL once deployed: what it
/// leaves waits for a gc. Returns the lines it printed.
pub fn kill_9_after_deploy_without_reaper(ws: &Workspace) -> Vec<String> {
    let (mut child, seen) = spawn_until(
        ws.harness()
            .args([
                "run",
                "--no-reaper",
                "--config",
                "docker/docker-compose.yml",
                "--task",
            ])
            .arg(ws.task()),
        " deploy ",
    );
    child.kill().expect("kill -9");
    child.wait().expect("wait");
    seen
}

/// A created (never started) container labelled as `run`'s and this workspace's task, with
/// `labels` besides; removed with the workspace. Its `dev.harness.pid` is this live test
/// process unless `labels` name one: a harness from before issue 16 on the same engine
/// would otherwise collect it as a run without an owner.
pub fn labelled_container(ws: &Workspace, run: &str, labels: &[(&str, String)]) {
    let mut cmd = Command::new("docker");
    cmd.args(["create", "--label"])
        .arg(format!("dev.harness.run={run}"))
        .arg("--label")
        .arg(format!("dev.harness.task={}", ws.task_name));
    if !labels.iter().any(|(k, _)| *k == "dev.harness.pid") {
        cmd.arg("--label")
            .arg(format!("dev.harness.pid={}", std::process::id()));
    }
    for (k, v) in labels {
        cmd.arg("--label").arg(format!("{k}={v}"));
    }
    let out = cmd
        .arg("harness/redis:local")
        .output()
        .expect("docker create");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The run's UUID: the first line the harness prints.
pub fn uuid_of(seen: &[String]) -> String {
    seen.first()
        .and_then(|l| l.strip_prefix("run "))
        .expect("the UUID is printed first")
        .trim()
        .to_string()
}

/// A private copy of the shipped task, runs dir and scoreboard; and, on drop, removal of
/// anything the engine still holds for this task — even when the test failed.
pub struct Workspace {
    pub dir: tempfile::TempDir,
    pub task_name: String,
}

impl Workspace {
    pub fn new(prefix: &str) -> Workspace {
        let dir = tempfile::tempdir().expect("tempdir");
        let task_name = format!(
            "{prefix}_{}",
            &uuid::Uuid::new_v4().simple().to_string()[..8]
        );
        let shipped = Path::new(REPO).join("prompts/docker_compose_dynamic.md");
        std::fs::copy(shipped, dir.path().join(format!("{task_name}.md"))).expect("copy task");
        Workspace { dir, task_name }
    }

    pub fn task(&self) -> PathBuf {
        self.dir.path().join(format!("{}.md", self.task_name))
    }

    pub fn runs(&self) -> PathBuf {
        self.dir.path().join("runs")
    }

    pub fn db(&self) -> PathBuf {
        self.dir.path().join("scoreboard.db")
    }

    /// `harness` with this workspace's runs dir, scoreboard and reaper (whose secret is
    /// kept in the workspace, not in the user's runtime dir).
    pub fn harness(&self) -> Command {
        let mut cmd = harness_cmd();
        cmd.env("HARNESS_RUNS_DIR", self.runs())
            .env("HARNESS_DB", self.db())
            .env("HARNESS_REAPER_NAME", self.reaper())
            .env("XDG_RUNTIME_DIR", self.dir.path());
        cmd
    }

    /// This workspace's own reaper container (and its network), removed with the workspace.
    pub fn reaper(&self) -> String {
        format!("harness-reaper-{}", self.task_name)
    }

    /// The file holding the secret of this workspace's reaper.
    pub fn reaper_secret(&self) -> PathBuf {
        self.dir
            .path()
            .join("harness")
            .join(format!("{}.key", self.reaper()))
    }

    /// Containers, networks and volumes still labelled with this workspace's task, or
    /// named for its projects (Compose's default network carries no label of ours).
    pub fn leftovers(&self) -> Vec<String> {
        let mut found = engine_ids(&format!("label=dev.harness.task={}", self.task_name));
        found.extend(engine_ids(&format!("name=h-{}-", self.task_name)));
        found.sort();
        found.dedup();
        found
    }

    /// The run file of `uuid` in the runs dir, parsed.
    pub fn run_record(&self, uuid: &str) -> Option<serde_json::Value> {
        let file = self
            .files_containing(uuid)
            .into_iter()
            .find(|p| p.extension().is_some_and(|e| e == "json"))?;
        serde_json::from_str(&std::fs::read_to_string(file).ok()?).ok()
    }

    /// Every file under the runs dir whose text contains `needle`.
    pub fn files_containing(&self, needle: &str) -> Vec<PathBuf> {
        fn walk(dir: &Path, needle: &str, hits: &mut Vec<PathBuf>) {
            let Ok(entries) = std::fs::read_dir(dir) else {
                return;
            };
            for entry in entries.flatten() {
                let path = entry.path();
                if path.is_dir() {
                    walk(&path, needle, hits);
                } else if std::fs::read(&path)
                    .map(|b| String::from_utf8_lossy(&b).contains(needle))
                    .unwrap_or(false)
                {
                    hits.push(path);
                }
            }
        }
        let mut hits = Vec::new();
        walk(&self.runs(), needle, &mut hits);
        hits
    }
}

impl Drop for Workspace {
    fn drop(&mut self) {
        let _ = Command::new("docker")
            .args(["rm", "-f", &self.reaper()])
            .output();
        let _ = Command::new("docker")
            .args(["network", "rm", &self.reaper()])
            .output();
        let label = format!("label=dev.harness.task={}", self.task_name);
        let ids = |args: &[&str]| -> Vec<String> {
            Command::new("docker")
                .args(args)
                .output()
                .map(|o| {
                    String::from_utf8_lossy(&o.stdout)
                        .lines()
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default()
        };
        for id in ids(&["ps", "-a", "-q", "--filter", &label]) {
            let _ = Command::new("docker")
                .args(["rm", "-f", "-v", &id])
                .output();
        }
        let name = format!("name=h-{}-", self.task_name);
        for filter in [&label, &name] {
            for id in ids(&["network", "ls", "-q", "--filter", filter]) {
                let _ = Command::new("docker").args(["network", "rm", &id]).output();
            }
            for id in ids(&["volume", "ls", "-q", "--filter", filter]) {
                let _ = Command::new("docker")
                    .args(["volume", "rm", "-f", &id])
                    .output();
            }
        }
    }
}

/// A prompt's text with its ```harness-protocol block cut out.
pub fn without_protocol_block(prompt: &str) -> String {
    let start = prompt
        .find("```harness-protocol\n")
        .expect("a protocol block");
    let end = start
        + prompt[start..]
            .find("\n```\n")
            .expect("the block is closed")
        + "\n```\n".len();
    format!("{}{}", &prompt[..start], &prompt[end..])
}
