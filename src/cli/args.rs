use std::path::PathBuf;

use crate::propose::{ProposerKind, ProposerOptions};
use clap::{Args, Parser, Subcommand};

/// Make a Docker Compose deployment prove itself.
#[derive(Debug, Parser)]
#[command(name = "harness", version, about, long_about = None)]
pub struct Cli {
    /// Print machine-readable JSON instead of terminal lines.
    #[arg(long, global = true)]
    pub json: bool,

    /// Where run files and their evidence go.
    #[arg(long, global = true, env = "HARNESS_RUNS_DIR", default_value = "runs")]
    pub runs_dir: PathBuf,

    /// The SQLite scoreboard (created on first run).
    #[arg(
        long,
        global = true,
        env = "HARNESS_DB",
        default_value = "scoreboard.db"
    )]
    pub db: PathBuf,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Deploy the candidate once, run the protocol, record the run.
    Run(RunArgs),
    /// Write a task prompt for a compose file: the protocol inferred from it and
    /// confirmed by deploying it once.
    Init(InitArgs),
    /// Run the current version, propose (or --apply) the next mutation, until graduated.
    Iterate(IterateArgs),
    /// Print the next mutation for the task's current version, from its last failed run.
    Propose(ProposeArgs),
    /// Per version: runs, successes, failures, ratio, graduation.
    Scoreboard(ScoreboardArgs),
    /// Build the reference stack's images from host binaries (no registry needed).
    Images(ImagesArgs),
    /// Static rules on a compose file or a task's candidate; exit 1 on errors.
    Lint(LintArgs),
    /// Remove what runs of dead harness processes left on the engine.
    Gc(GcArgs),
    /// Verify every run in runs/, the scoreboard's hash chain and the prompts; exit 1 on findings.
    Audit(AuditArgs),
    /// One run's steps, evidence paths and verdict, by UUID or prefix.
    Show(ShowArgs),
    /// Stream every run as JSON lines: task, version, scoreboard row, run file, chain hash.
    Export(ExportArgs),
    /// Load a `harness export --jsonl` stream into this scoreboard and runs dir, verified.
    Import(ImportArgs),
    /// Write a static HTML report (scoreboard, ratio charts, history, runs) to a directory.
    Report(ReportArgs),
    /// Remove the runs of harnesses that die (runs inside the reaper container).
    #[command(hide = true)]
    Reaper(ReaperArgs),
    /// Connect to HOST:PORT over TCP; exit 0 when it accepts (the dependency check runs it
    /// in a container inside the project's network).
    #[command(hide = true)]
    TcpConnect(TcpConnectArgs),
}

#[derive(Debug, Args)]
pub struct TcpConnectArgs {
    /// HOST:PORT, e.g. a compose service name and its container port.
    pub address: String,
    #[arg(long, default_value_t = 3000, value_parser = clap::value_parser!(u64).range(1..=DAY * 1000))]
    pub timeout_ms: u64,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// The compose file to write a task for.
    #[arg(long)]
    pub config: PathBuf,

    /// Where to write the task prompt (`<task>.md`).
    #[arg(long)]
    pub task: PathBuf,

    /// Infer from the file alone; do not deploy it to confirm the endpoints.
    #[arg(long)]
    pub no_deploy: bool,

    /// Overwrite the task file if it exists.
    #[arg(long)]
    pub force: bool,

    /// Upper bound in seconds of the trial deployment's `up` and wait.
    #[arg(long, default_value_t = 90, value_parser = seconds(1))]
    pub timeout: u64,

    #[command(flatten)]
    pub reaper: ReaperFlags,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The directory to write index.html into.
    #[arg(long, default_value = "runs/report")]
    pub out: PathBuf,
}

#[derive(Debug, Args)]
pub struct AuditArgs {
    #[command(flatten)]
    pub only: TaskFilter,

    /// Prompt files to cross-check (default: the prompt each task was recorded from).
    #[arg(long = "prompt")]
    pub prompts: Vec<PathBuf>,

    /// Read every run again, even those an earlier audit verified and whose row and
    /// files have not changed since (kept in `<db>-audit`).
    #[arg(long)]
    pub full: bool,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// A run's UUID, or a unique prefix of it.
    pub uuid: String,
}

#[derive(Debug, Args)]
pub struct GcArgs {
    /// Only list what would be removed.
    #[arg(long)]
    pub dry_run: bool,

    /// Remove this run (UUID or a unique prefix) whoever owns it: for a run gc reports as
    /// not its own to judge (another PID namespace, host, user, or an older harness).
    #[arg(long, value_name = "RUN")]
    pub force: Option<String>,
}

#[derive(Debug, Args)]
pub struct LintArgs {
    /// Compose files (default: the task's candidate). A sibling `.env` and
    /// `compose.override.yml` are read as Compose reads them.
    pub files: Vec<PathBuf>,

    /// The task whose candidate to lint when no FILE is given (default: `task` in
    /// harness.toml).
    #[arg(long, env = "HARNESS_TASK")]
    pub task: Option<PathBuf>,

    /// List the rules instead of linting.
    #[arg(long)]
    pub rules: bool,

    /// Output format (`--json` is short for `--format json`).
    #[arg(long, value_enum)]
    pub format: Option<LintFormat>,

    /// Rule levels and rules off/on (default: `.harness-lint.yml` beside the file).
    #[arg(long, value_name = "PATH")]
    pub config: Option<PathBuf>,

    /// Which choices are errors: `default` (files; fixed names and host ports are
    /// warnings) or `multi-instance` (the harness's gate; the task's candidate). Wins
    /// over the config file's `profile:`.
    #[arg(long, value_enum)]
    pub profile: Option<crate::lint::Profile>,

    /// Print the fixes as a unified diff; nothing is written.
    #[arg(long)]
    pub fix: bool,

    /// With --fix: write the fixed files, after re-lint and `compose config` accept them.
    #[arg(long, requires = "fix")]
    pub apply: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LintFormat {
    Human,
    Json,
    Sarif,
    Github,
    Junit,
}

#[derive(Debug, Args, Clone)]
pub struct RunArgs {
    /// The task: a prompt file with the candidate config in a ```yaml block (default:
    /// `task` in harness.toml).
    #[arg(long, env = "HARNESS_TASK")]
    pub task: Option<PathBuf>,

    /// Deploy this compose file instead of the task's candidate (recorded under the task).
    #[arg(long)]
    pub config: Option<PathBuf>,

    /// Only these steps, comma-separated (lint, deploy, port_discovery, api_probe, ws_probe,
    /// redis, missing_key, multi_instance, restart, persistence, shutdown).
    #[arg(long, value_delimiter = ',')]
    pub steps: Vec<String>,

    /// Leave out these steps, comma-separated.
    #[arg(long, value_delimiter = ',')]
    pub skip: Vec<String>,

    /// Upper bound in seconds of each step that waits on the engine.
    #[arg(long, default_value_t = 90, value_parser = seconds(1))]
    pub timeout: u64,

    /// Seconds containers get to stop after SIGTERM.
    #[arg(long, default_value_t = 10, value_parser = seconds(0))]
    pub stop_timeout: u64,

    /// Also write the run(s) as JUnit XML to this file (one testsuite per run).
    #[arg(long)]
    pub junit: Option<PathBuf>,

    #[command(flatten)]
    pub bar: GraduationBar,

    /// How many instances multi_instance runs at once (the main one included); default:
    /// the task's own `instances` (2 unless its protocol block says otherwise).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=crate::spec::MAX_INSTANCES as u64))]
    pub instances: Option<u64>,

    /// Range mode: lease the stack's host ports from FIRST-LAST (shared with every harness
    /// on this machine, under a lock) instead of letting the engine pick them.
    #[arg(long, env = "HARNESS_PORT_RANGE")]
    pub port_range: Option<crate::protocol::PortRange>,

    #[command(flatten)]
    pub reaper: ReaperFlags,
}

/// How a run is looked after if this process is killed.
#[derive(Debug, Args, Clone)]
pub struct ReaperFlags {
    /// Do not start or use the reaper container (it mounts the Docker socket); a killed
    /// harness is then cleaned up only by the next run or `harness gc`.
    #[arg(long, env = "HARNESS_NO_REAPER")]
    pub no_reaper: bool,

    /// Seconds the reaper waits for a lost harness to reconnect before removing its runs.
    #[arg(long, env = "HARNESS_REAPER_GRACE", default_value_t = 10,
          value_parser = clap::value_parser!(u64).range(0..=crate::reaper::MAX_GRACE.as_secs()))]
    pub reaper_grace: u64,

    /// The reaper container's name (default: one per user and wire protocol,
    /// `harness-reaper-v3-<uid>`, shared by every harness of that user).
    #[arg(long, env = "HARNESS_REAPER_NAME", hide = true)]
    pub reaper_name: Option<String>,

    /// Seconds a reaper started by this harness stays up with no harness connected.
    #[arg(long, env = "HARNESS_REAPER_IDLE", default_value_t = 60, hide = true, value_parser = seconds(1))]
    pub reaper_idle: u64,
}

impl ReaperFlags {
    pub fn options(&self) -> Option<crate::reaper::Options> {
        let secs = std::time::Duration::from_secs;
        let (grace, idle) = (secs(self.reaper_grace), secs(self.reaper_idle));
        let name = self.reaper_name.clone();
        (!self.no_reaper).then(|| crate::reaper::Options::resolve(name, grace, idle))?
    }
}

/// The reaper's own process, inside its container (started by run/iterate, not by hand).
#[derive(Debug, Args)]
pub struct ReaperArgs {
    /// Where to listen for harness connections.
    #[arg(long, default_value = "0.0.0.0:7470")]
    pub listen: String,

    /// Exit after this many seconds with no harness connected.
    #[arg(long, default_value_t = 60, value_parser = seconds(1))]
    pub idle: u64,

    /// The file holding the secret every client must prove it knows (copied into the
    /// container by the harness that starts it).
    #[arg(long)]
    pub secret_file: std::path::PathBuf,
}

#[derive(Debug, Args)]
pub struct IterateArgs {
    #[command(flatten)]
    pub run: RunArgs,

    /// Runs of each version before moving on (a failing version moves on at once).
    #[arg(
        long = "runs-per-version",
        visible_alias = "runs",
        default_value_t = 10,
        value_parser = clap::value_parser!(u32).range(1..)
    )]
    pub runs_per_version: u32,

    /// Up to this many runs of a version at once, each a whole run of its own (1: one
    /// after another). The first run that fails or graduates the version stops the others,
    /// which are recorded as interrupted and count for nothing.
    #[arg(long, value_name = "K", default_value_t = 2, value_parser = parallel)]
    pub parallel: u32,

    /// Write each accepted mutation into the task (default: only show it).
    #[arg(long, conflicts_with = "propose_only")]
    pub apply: bool,

    /// Show the next mutation as a diff and write nothing (the default).
    #[arg(long)]
    pub propose_only: bool,

    /// Keep going, version after version, until one graduates.
    #[arg(long)]
    pub until_graduated: bool,

    /// At most this many mutations (new versions) in one iterate.
    #[arg(long, default_value_t = 12)]
    pub max_iterations: u32,

    /// At most this many runs in one iterate: a version that keeps passing without
    /// graduating (a high --min-confidence) must not run for ever.
    #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_runs: u32,

    /// Where a graduated config is promoted to (default: `graduate_to` in harness.toml,
    /// else `<task>.graduated.yml` beside the task).
    #[arg(long)]
    pub graduate_to: Option<PathBuf>,

    #[command(flatten)]
    pub proposer: ProposerArgs,
}

/// `--task NAME` of the commands that read the scoreboard.
#[derive(Debug, Args, Clone)]
pub struct TaskFilter {
    /// Only this task (its name, e.g. web_stack).
    #[arg(long)]
    pub task: Option<String>,
}

impl TaskFilter {
    /// A `--task` the scoreboard at `db` does not record is an error, not an empty answer
    /// that looks clean. Without a scoreboard the command says what it says of that.
    pub fn check(&self, db: &std::path::Path) -> Result<(), super::error::ExpectedError> {
        let (Some(name), true) = (&self.task, db.is_file()) else {
            return Ok(());
        };
        let known: Vec<String> = crate::store::Reader::open(db)?
            .task_paths()?
            .into_iter()
            .map(|(task, _)| task)
            .collect();
        if known.contains(name) {
            return Ok(());
        }
        Err(super::error::ExpectedError::UnknownTask {
            db: db.to_path_buf(),
            name: name.clone(),
            known: match known.is_empty() {
                true => "none yet".to_string(),
                false => known.join(", "),
            },
        })
    }
}

/// `--min-confidence` of the commands that judge graduation.
#[derive(Debug, Args, Clone, Copy)]
pub struct GraduationBar {
    /// Also require this Wilson 95 % lower bound (0–1) of the success rate for a version
    /// to graduate, on top of 10:1 and 10 successes.
    #[arg(long, value_parser = confidence)]
    pub min_confidence: Option<f64>,
}

/// A day, in seconds: the most any of the harness's waits may be given. More would
/// overflow the clock arithmetic, and no wait needs it.
const DAY: u64 = 24 * 60 * 60;

/// Seconds from `min` to a day.
fn seconds(min: u64) -> clap::builder::RangedU64ValueParser {
    clap::value_parser!(u64).range(min..=DAY)
}

/// The most runs `--parallel` starts at once: each deploys several instances, and a slip
/// of the finger (100 for 10) must not start hundreds of stacks.
const MAX_PARALLEL: u32 = 16;

fn parallel(text: &str) -> Result<u32, String> {
    match text.parse::<u32>() {
        Ok(k) if (1..=MAX_PARALLEL).contains(&k) => Ok(k),
        Ok(k) if k > MAX_PARALLEL => Err(format!(
            "`{k}` runs at once is more than {MAX_PARALLEL} (each deploys several instances of the stack): give 1 to {MAX_PARALLEL}"
        )),
        _ => Err(format!(
            "`{text}` runs nothing at once: give 1 (one run after another) or more, e.g. --parallel 2"
        )),
    }
}

/// `--since` as the text runs are stored with (UTC, milliseconds, `Z`), so that comparing
/// texts compares times whatever offset the user wrote.
fn since(text: &str) -> Result<String, String> {
    let utc = match chrono::DateTime::parse_from_rfc3339(text) {
        Ok(time) => time.with_timezone(&chrono::Utc),
        Err(_) => chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .map_err(|_| {
                format!(
                    "`{text}` is not a time: give a date (2026-11-23, from midnight UTC) or an \
                     RFC 3339 time (2026-11-23T14:00:00Z, 2026-11-23T15:00:00+01:00)"
                )
            })?
            .and_time(chrono::NaiveTime::MIN)
            .and_utc(),
    };
    Ok(utc.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
}

fn confidence(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(x) if (0.0..=1.0).contains(&x) => Ok(x),
        _ => Err(format!("`{text}` is not a number from 0 to 1 (e.g. 0.8)")),
    }
}

#[derive(Debug, Args)]
pub struct ProposeArgs {
    /// The task whose latest failed run to learn from.
    #[arg(long, env = "HARNESS_TASK")]
    pub task: Option<PathBuf>,

    #[command(flatten)]
    pub proposer: ProposerArgs,
}

/// Who proposes the next version (`iterate`, `propose`).
#[derive(Debug, Args, Clone)]
pub struct ProposerArgs {
    /// catalog: the harness's own mutations; command: --proposer-command; llm: a model
    /// (its variables: README, Proposers); auto: the catalog, then the command if given,
    /// then the model if one is configured.
    #[arg(long, value_enum, default_value_t = ProposerKind::Auto)]
    pub proposer: ProposerKind,

    /// A shell command reading the proposer context (JSON) on stdin and writing the
    /// candidate compose YAML (bare or fenced) on stdout.
    #[arg(long, value_name = "CMD")]
    pub proposer_command: Option<String>,

    /// Seconds a command or a model has for one answer (retries included).
    #[arg(long, value_name = "SECS", default_value_t = 300, value_parser = seconds(1))]
    pub proposer_timeout: u64,

    /// Candidates an open-ended proposer may have rejected by the gates before it stops.
    #[arg(long, value_name = "N", default_value_t = 3,
          value_parser = clap::value_parser!(u32).range(1..=20))]
    pub proposal_attempts: u32,
}

impl ProposerArgs {
    pub fn options(&self) -> ProposerOptions {
        ProposerOptions {
            kind: self.proposer,
            command: self.proposer_command.clone(),
            timeout: std::time::Duration::from_secs(self.proposer_timeout),
            attempts: self.proposal_attempts,
        }
    }
}

#[derive(Debug, Args)]
pub struct ScoreboardArgs {
    #[command(flatten)]
    pub only: TaskFilter,

    /// Only runs started at or after this time: a date (2026-11-23, from midnight UTC) or
    /// an RFC 3339 time (2026-11-23T14:00:00Z, 2026-11-23T15:00:00+01:00).
    #[arg(long, value_parser = since)]
    pub since: Option<String>,

    #[command(flatten)]
    pub bar: GraduationBar,
}

#[derive(Debug, Args)]
pub struct ImagesArgs {
    /// The project's recipes file: which images to build out of which host binaries
    /// (default: `images` in harness.toml). Without one only the reaper's image is built.
    #[arg(long, env = "HARNESS_IMAGES")]
    pub recipes: Option<PathBuf>,

    /// Take the binary whose `host` ends in NAME from PATH instead (repeatable), e.g.
    /// `--binary app=target/debug/app`.
    #[arg(long = "binary", value_name = "NAME=PATH")]
    pub binaries: Vec<crate::images::BinaryOverride>,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// One JSON object per line (the only format, and the default).
    #[arg(long)]
    pub jsonl: bool,

    #[command(flatten)]
    pub only: TaskFilter,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// A file written by `harness export --jsonl`, or `-` for stdin.
    pub file: PathBuf,
}

#[cfg(test)]
mod tests {
    #[test]
    fn parallel_is_one_to_sixteen() {
        assert_eq!(super::parallel("1"), Ok(1));
        assert_eq!(super::parallel("16"), Ok(16));
        assert!(super::parallel("0").unwrap_err().contains("give 1"));
        assert!(super::parallel("100").unwrap_err().contains("1 to 16"));
        assert!(super::parallel("x").is_err());
    }

    #[test]
    fn since_is_compared_as_the_utc_text_runs_are_stored_with() {
        assert_eq!(
            super::since("2026-11-23").unwrap(),
            "2026-11-23T00:00:00.000Z"
        );
        assert_eq!(
            super::since("2026-11-23T15:00:00+01:00").unwrap(),
            "2026-11-23T14:00:00.000Z"
        );
        assert_eq!(
            super::since("2026-11-23T14:00:00.5Z").unwrap(),
            "2026-11-23T14:00:00.500Z"
        );
        for bad in [
            "yesterday",
            "2026-11",
            "2026-13-01",
            "",
            "2026-11-23T25:00:00Z",
        ] {
            let err = super::since(bad).unwrap_err();
            assert!(err.contains("RFC 3339"), "{bad}: {err}");
        }
    }
}
