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

/// The variable that forces a Compose CLI: `v1`, `v2`, or the path of a Compose program.
pub const FORCE_VAR: &str = "HARNESS_COMPOSE";

/// Which CLI to look for: the first of these that answers `version --short`.
fn candidates(forced: Option<&str>) -> Result<Vec<(Flavor, String, Vec<String>)>, EngineError> {
    let v2 = (
        Flavor::V2,
        "docker".to_string(),
        vec!["compose".to_string()],
    );
    let v1 = (Flavor::V1, "docker-compose".to_string(), vec![]);
    Ok(match forced.map(str::trim) {
        None | Some("") => vec![v2, v1],
        Some("v2") => vec![v2],
        Some("v1") => vec![v1],
        // A program named by path: its version says which flavour it is.
        Some(path) if path.contains('/') => vec![(Flavor::V2, path.to_string(), vec![])],
        Some(other) => {
            return Err(EngineError::ComposeChoice {
                value: other.to_string(),
            });
        }
    })
}

/// Compose v1's versions are 1.x; anything else (2.x, 5.x, `v2.40.3`) speaks v2.
fn flavor_of(version: &str) -> Flavor {
    if version.trim_start_matches('v').starts_with("1.") {
        Flavor::V1
    } else {
        Flavor::V2
    }
}

impl ComposeCli {
    /// The CLI the environment asks for (`HARNESS_COMPOSE`), else v2, else v1.
    pub async fn detect() -> Result<ComposeCli, EngineError> {
        let forced = std::env::var(FORCE_VAR).ok();
        let forced = forced.as_deref().filter(|v| !v.trim().is_empty());
        for (flavor, program, prefix) in candidates(forced)? {
            let cli = ComposeCli {
                flavor,
                version: String::new(),
                program,
                prefix,
            };
            if let Some(found) = cli.ask_version().await {
                return Ok(found);
            }
        }
        Err(match forced {
            Some(value) => EngineError::ComposeForcedMissing {
                value: value.to_string(),
            },
            None => EngineError::ComposeMissing,
        })
    }

    /// [`ComposeCli::detect`] for callers outside an async runtime (tests, scripts).
    pub fn detect_blocking() -> Result<ComposeCli, EngineError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|source| EngineError::Spawn {
                program: "tokio runtime".to_string(),
                source,
            })?;
        runtime.block_on(ComposeCli::detect())
    }

    /// This CLI with the version it reports, if it runs at all.
    async fn ask_version(self) -> Option<ComposeCli> {
        // v1 is a Python program: asking its version costs ~0.5 s of CPU on every run, so
        // the answer is kept, keyed by the program file (a new install is asked again).
        let cache = (self.program == "docker-compose")
            .then(|| version_cache::Key::of(&self.program))
            .flatten();
        if let Some(version) = cache.as_ref().and_then(version_cache::Key::load) {
            tracing::debug!(flavor = ?self.flavor, %version, "compose CLI detected (cached version)");
            return Some(ComposeCli {
                flavor: flavor_of(&version),
                version,
                ..self
            });
        }
        let out = self
            .command()
            .args(["version", "--short"])
            .output()
            .await
            .ok()
            .filter(|out| out.status.success())?;
        let version = String::from_utf8_lossy(&out.stdout).trim().to_string();
        tracing::debug!(flavor = ?self.flavor, %version, "compose CLI detected");
        if let Some(key) = &cache {
            key.store(&version);
        }
        Some(ComposeCli {
            flavor: flavor_of(&version),
            version,
            ..self
        })
    }

    /// The CLI as a blocking command, with the environment every call needs.
    pub fn std_command(&self) -> std::process::Command {
        let mut cmd = std::process::Command::new(&self.program);
        cmd.args(&self.prefix);
        if self.program != "docker" {
            // docker-py pins an API version of its own; let it negotiate with the daemon.
            // (v2 ignores the variable.)
            cmd.env("COMPOSE_API_VERSION", "auto");
        }
        cmd
    }

    /// The bare command with the environment every call needs.
    fn command(&self) -> Command {
        let mut cmd = Command::from(self.std_command());
        cmd.stdin(Stdio::null()).kill_on_drop(true);
        cmd
    }

    pub fn display_name(&self) -> String {
        let mut words = vec![self.program.as_str()];
        words.extend(self.prefix.iter().map(String::as_str));
        words.push(&self.version);
        words.join(" ")
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

#[cfg(test)]
mod tests {
    use super::{Flavor, candidates, flavor_of};

    #[test]
    fn the_variable_narrows_the_candidates_and_a_bad_value_is_named() {
        let programs = |forced| {
            candidates(forced)
                .unwrap()
                .into_iter()
                .map(|(_, program, prefix)| format!("{program} {}", prefix.join(" ")))
                .collect::<Vec<_>>()
        };
        assert_eq!(programs(None), ["docker compose", "docker-compose "]);
        assert_eq!(programs(Some("v2")), ["docker compose"]);
        assert_eq!(programs(Some("v1")), ["docker-compose "]);
        assert_eq!(programs(Some("/opt/dc")), ["/opt/dc "]);
        let err = candidates(Some("v3")).unwrap_err().to_string();
        assert!(
            err.contains("HARNESS_COMPOSE=v3") && err.contains("`v1`, `v2`"),
            "{err}"
        );
    }

    #[test]
    fn the_version_says_the_flavor() {
        assert_eq!(flavor_of("1.29.2"), Flavor::V1);
        assert_eq!(flavor_of("2.40.3"), Flavor::V2);
        assert_eq!(flavor_of("v2.40.3"), Flavor::V2);
    }
}

/// The version a Compose v1 program reported, remembered per program file (path, size and
/// modification time) under the user's cache directory. Best effort: any failure to read or
/// write the cache only means the program is asked again.
mod version_cache {
    use std::path::PathBuf;
    use std::time::UNIX_EPOCH;

    pub struct Key {
        file: PathBuf,
        /// `<program path> <size> <mtime ns>`: what the cached version belongs to.
        stamp: String,
    }

    impl Key {
        /// The key of `program` as found on PATH, if it is there and a cache dir exists.
        pub fn of(program: &str) -> Option<Key> {
            let path = std::env::var_os("PATH")?;
            let exe = std::env::split_paths(&path)
                .map(|d| d.join(program))
                .find(|p| p.is_file())?;
            let meta = std::fs::metadata(&exe).ok()?;
            let mtime = meta.modified().ok()?.duration_since(UNIX_EPOCH).ok()?;
            let dir = match std::env::var_os("XDG_CACHE_HOME") {
                Some(d) if !d.is_empty() => PathBuf::from(d),
                _ => PathBuf::from(std::env::var_os("HOME")?).join(".cache"),
            };
            Some(Key {
                file: dir.join("harness").join(format!("{program}.version")),
                stamp: format!("{} {} {}", exe.display(), meta.len(), mtime.as_nanos()),
            })
        }

        pub fn load(&self) -> Option<String> {
            let text = std::fs::read_to_string(&self.file).ok()?;
            let (stamp, version) = text.trim_end().split_once('\n')?;
            (stamp == self.stamp && !version.is_empty()).then(|| version.to_string())
        }

        pub fn store(&self, version: &str) {
            let Some(dir) = self.file.parent() else {
                return;
            };
            let tmp = self
                .file
                .with_extension(format!("tmp{}", std::process::id()));
            let written = std::fs::create_dir_all(dir)
                .and_then(|_| std::fs::write(&tmp, format!("{}\n{version}\n", self.stamp)))
                .and_then(|_| std::fs::rename(&tmp, &self.file));
            if let Err(e) = written {
                let _ = std::fs::remove_file(&tmp);
                tracing::debug!(error = %e, "cannot cache the compose version");
            }
        }
    }

    #[cfg(test)]
    mod tests {
        use super::Key;

        #[test]
        fn a_version_is_kept_for_the_same_program_file_only() {
            let dir = tempfile::tempdir().unwrap();
            let key = Key {
                file: dir.path().join("harness/docker-compose.version"),
                stamp: "/usr/bin/docker-compose 100 1".into(),
            };
            assert_eq!(key.load(), None);
            key.store("1.29.2");
            assert_eq!(key.load().as_deref(), Some("1.29.2"));
            let reinstalled = Key {
                stamp: "/usr/bin/docker-compose 100 2".into(),
                ..key
            };
            assert_eq!(reinstalled.load(), None);
        }
    }
}
