//! `--proposer command`: any program as a proposer. It reads the context as JSON on
//! stdin and writes the candidate YAML (bare or fenced) on stdout; a non-zero exit, an
//! empty answer or a timeout is "no proposal".

use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::context::ProposerContext;
use super::proposer::{Answer, Candidate, Proposer, Provenance, digest, yaml_of};

/// An answer larger than this is not a compose file: the rest is not read.
const MAX_ANSWER: u64 = 1 << 20;
/// The tail of stderr that explains a failure.
const STDERR_TAIL: usize = 600;

pub struct CommandProposer {
    pub command: String,
    pub timeout: Duration,
}

impl Proposer for CommandProposer {
    fn name(&self) -> &'static str {
        "command"
    }

    async fn propose(&self, ctx: &ProposerContext) -> Answer {
        let request = ctx.json();
        let started = Instant::now();
        let ran = match self.run(request.as_bytes()).await {
            Ok(ran) => ran,
            Err(why) => return Answer::Nothing(format!("`{}` {why}", self.command)),
        };
        let latency_ms = started.elapsed().as_millis() as u64;
        if !ran.success {
            return Answer::Nothing(format!(
                "`{}` failed ({}): {}",
                self.command,
                ran.status,
                ran.stderr.trim()
            ));
        }
        let stdout = String::from_utf8_lossy(&ran.stdout).to_string();
        let Some(yaml) = yaml_of(&stdout) else {
            return Answer::Nothing(format!("`{}` answered nothing", self.command));
        };
        Answer::Candidate(Box::new(Candidate {
            label: "command",
            reason: format!("proposed by `{}`", self.command),
            answers: failing(ctx),
            yaml,
            provenance: Provenance {
                proposer: "command".into(),
                request_sha256: Some(digest(request.as_bytes())),
                response_sha256: Some(digest(&ran.stdout)),
                latency_ms,
                ..Provenance::default()
            },
            transcript: Some(format!(
                "# command: {}\n## stdin\n{request}\n## stdout\n{stdout}\n## stderr\n{}\n",
                self.command, ran.stderr
            )),
        }))
    }
}

/// The failing steps and signatures the context names: what an open-ended proposal answers.
pub fn failing(ctx: &ProposerContext) -> String {
    let names: Vec<String> = ctx
        .failing_steps
        .iter()
        .map(|s| format!("{} {}", s.step, s.signature))
        .collect();
    names.join(", ")
}

struct Ran {
    success: bool,
    status: String,
    stdout: Vec<u8>,
    stderr: String,
}

impl CommandProposer {
    /// Runs the command in its own process group, so a timeout kills all it started.
    async fn run(&self, stdin: &[u8]) -> Result<Ran, String> {
        let mut child = tokio::process::Command::new("sh")
            .arg("-c")
            .arg(&self.command)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("could not start: {e}"))?;
        let pid = child.id();
        let (mut input, mut out, mut err) =
            match (child.stdin.take(), child.stdout.take(), child.stderr.take()) {
                (Some(i), Some(o), Some(e)) => (i, o, e),
                _ => return Err("could not start: no pipes".into()),
            };
        let stdin = stdin.to_vec();
        // A command that never reads its stdin must not block the harness writing it.
        let writer = tokio::spawn(async move {
            let _ = input.write_all(&stdin).await;
        });
        let exchange = async {
            let mut stdout = Vec::new();
            let mut stderr = Vec::new();
            let mut limited = (&mut out).take(MAX_ANSWER);
            let mut limited_err = (&mut err).take(MAX_ANSWER);
            let (_, _, status) = tokio::join!(
                limited.read_to_end(&mut stdout),
                limited_err.read_to_end(&mut stderr),
                child.wait()
            );
            (stdout, stderr, status)
        };
        let result = tokio::time::timeout(self.timeout, exchange).await;
        writer.abort();
        let Ok((stdout, stderr, status)) = result else {
            kill_group(pid);
            return Err(format!(
                "gave no answer within {} s (--proposer-timeout); killed",
                self.timeout.as_secs()
            ));
        };
        let status = status.map_err(|e| format!("could not be waited for: {e}"))?;
        let stderr = String::from_utf8_lossy(&stderr);
        let tail_start = stderr.len().saturating_sub(STDERR_TAIL);
        let tail_start = (tail_start..=stderr.len())
            .find(|i| stderr.is_char_boundary(*i))
            .unwrap_or(stderr.len());
        Ok(Ran {
            success: status.success(),
            status: status.to_string(),
            stdout,
            stderr: stderr[tail_start..].to_string(),
        })
    }
}

fn kill_group(pid: Option<u32>) {
    use nix::sys::signal::{Signal, killpg};
    use nix::unistd::Pid;
    if let Some(pid) = pid.and_then(|p| i32::try_from(p).ok()) {
        // The group is the command's own (process_group(0)): nothing else is in it.
        if let Err(e) = killpg(Pid::from_raw(pid), Signal::SIGKILL) {
            tracing::debug!(error = %e, "the proposer's process group was already gone");
        }
    }
}
