//! The Compose CLI, v2 (`docker compose`) or v1 (`docker-compose`), detected once.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::process::Command;

use super::EngineError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Flavor {
    /// The `docker compose` plugin.
    V2,
    /// The Python `docker-compose`; it rejects a top-level `name:` key.
    V1,
}

#[derive(Debug, Clone, Serialize)]
pub struct ComposeCli {
    pub flavor: Flavor,
    pub version: String,
    #[serde(skip)]
    program: String,
    #[serde(skip)]
    prefix: Vec<String>,
}

/// What one Compose CLI call did. Failing calls are results too: their stderr is evidence.
#[derive(Debug, Clone, Serialize)]
pub struct CmdOutput {
    pub command: String,
    pub success: bool,
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub duration_ms: u64,
}

impl ComposeCli {
    pub async fn detect() -> Result<ComposeCli, EngineError> {
        let candidates = [
            (Flavor::V2, "docker", vec!["compose".to_string()]),
            (Flavor::V1, "docker-compose", vec![]),
        ];
        for (flavor, program, prefix) in candidates {
            let cli = ComposeCli {
                flavor,
                version: String::new(),
                program: program.to_string(),
                prefix,
            };
            if let Ok(out) = cli.command().args(["version", "--short"]).output().await
                && out.status.success()
            {
                let version = String::from_utf8_lossy(&out.stdout).trim().to_string();
                tracing::debug!(?flavor, %version, "compose CLI detected");
                return Ok(ComposeCli { version, ..cli });
            }
        }
        Err(EngineError::ComposeMissing)
    }

    /// The bare command with the environment every call needs.
    fn command(&self) -> Command {
        let mut cmd = Command::new(&self.program);
        cmd.args(&self.prefix);
        if self.flavor == Flavor::V1 {
            // docker-py pins an API version of its own; let it negotiate with the daemon.
            cmd.env("COMPOSE_API_VERSION", "auto");
        }
        cmd.stdin(Stdio::null()).kill_on_drop(true);
        cmd
    }

    pub fn display_name(&self) -> String {
        match self.flavor {
            Flavor::V2 => format!("docker compose {}", self.version),
            Flavor::V1 => format!("docker-compose {}", self.version),
        }
    }

    pub fn project(&self, name: &str, files: Vec<PathBuf>) -> Project {
        Project {
            cli: self.clone(),
            name: name.to_string(),
            files,
            env_remove: Vec::new(),
            env_set: Vec::new(),
        }
    }
}

/// One compose project: a name and the files that define it.
#[derive(Debug, Clone)]
pub struct Project {
    cli: ComposeCli,
    pub name: String,
    pub files: Vec<PathBuf>,
    /// Variables taken out of the environment the CLI sees (the missing-key step).
    pub env_remove: Vec<String>,
    /// Variables set for the CLI (the dummy-key step).
    pub env_set: Vec<(String, String)>,
}

impl Project {
    async fn run(&self, args: &[&str], timeout: Duration) -> Result<CmdOutput, EngineError> {
        let mut cmd = self.cli.command();
        cmd.arg("-p").arg(&self.name);
        for file in &self.files {
            cmd.arg("-f").arg(file);
        }
        cmd.args(args);
        for var in &self.env_remove {
            cmd.env_remove(var);
        }
        for (var, value) in &self.env_set {
            cmd.env(var, value);
        }
        let command = format!(
            "{} -p {} {}",
            self.cli.display_name(),
            self.name,
            args.join(" ")
        );
        tracing::debug!(%command, "compose");
        let started = Instant::now();
        let child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|source| EngineError::Spawn {
                program: self.cli.program.clone(),
                source,
            })?;
        let result = tokio::time::timeout(timeout, child.wait_with_output()).await;
        let duration_ms = started.elapsed().as_millis() as u64;
        Ok(match result {
            Ok(Ok(out)) => CmdOutput {
                command,
                success: out.status.success(),
                code: out.status.code(),
                stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
                stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
                duration_ms,
            },
            Ok(Err(source)) => {
                return Err(EngineError::Spawn {
                    program: self.cli.program.clone(),
                    source,
                });
            }
            // kill_on_drop ends the CLI; the caller's cleanup takes what it created.
            Err(_) => CmdOutput {
                command,
                success: false,
                code: None,
                stdout: String::new(),
                stderr: format!("timed out after {} s", timeout.as_secs()),
                duration_ms,
            },
        })
    }

    /// `up -d`: create and start; with v1 this also waits for `service_healthy` dependencies.
    pub async fn up(&self, timeout: Duration) -> Result<CmdOutput, EngineError> {
        self.run(&["up", "-d", "--no-build"], timeout).await
    }

    /// `down`; with `volumes` also the project's named and anonymous volumes.
    pub async fn down(
        &self,
        volumes: bool,
        stop_timeout: Duration,
    ) -> Result<CmdOutput, EngineError> {
        let secs = stop_timeout.as_secs().to_string();
        let mut args = vec!["down", "--remove-orphans", "--timeout", secs.as_str()];
        if volumes {
            args.push("-v");
        }
        self.run(&args, stop_timeout + Duration::from_secs(60))
            .await
    }

    /// `config -q`: does the CLI that will run the file accept it?
    pub async fn validate(&self) -> Result<CmdOutput, EngineError> {
        self.run(&["config", "-q"], Duration::from_secs(60)).await
    }

    /// `stop`: SIGTERM, then SIGKILL after `stop_timeout` — what `down` does first.
    pub async fn stop(&self, stop_timeout: Duration) -> Result<CmdOutput, EngineError> {
        let secs = stop_timeout.as_secs().to_string();
        self.run(
            &["stop", "--timeout", secs.as_str()],
            stop_timeout + Duration::from_secs(60),
        )
        .await
    }
}
