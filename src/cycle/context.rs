//! What the runs of one command share and what outlives each of them: one engine
//! connection, the Compose CLI, one scoreboard, the reaper's guard, the signal listener.

use std::path::Path;

use super::{CycleError, Interrupt};
use crate::engine::{ComposeCli, Docker};
use crate::reaper::{self, Guard};
use crate::run::record::RunRecord;
use crate::store::Store;

pub struct Context {
    pub docker: Docker,
    pub compose: ComposeCli,
    pub store: Store,
    /// Removes this process's runs if it is killed; `None` with --no-reaper.
    pub reaper: Option<Guard>,
    pub interrupt: Interrupt,
}

/// What a run's protocol borrows of the context: all of it but the scoreboard, which stays
/// free for recording the runs of a version that finish while others still run.
#[derive(Clone, Copy)]
pub struct Runner<'a> {
    pub docker: &'a Docker,
    pub compose: &'a ComposeCli,
    pub interrupt: &'a Interrupt,
    pub reaper: Option<&'a Guard>,
}

impl Context {
    /// The protocol's share of the context, and the scoreboard beside it.
    pub fn split(&mut self) -> (Runner<'_>, &mut Store) {
        let runner = Runner {
            docker: &self.docker,
            compose: &self.compose,
            interrupt: &self.interrupt,
            reaper: self.reaper.as_ref(),
        };
        (runner, &mut self.store)
    }

    pub async fn open(
        runs_dir: &Path,
        db: &Path,
        reaper: Option<reaper::Options>,
    ) -> Result<Context, CycleError> {
        let interrupt = Interrupt::listen();
        // Everything that can be checked is checked before anything is written or
        // deployed, so bad input or a missing engine never costs a deploy, and is never
        // recorded as the config's failure.
        let docker = Docker::connect().await?;
        let compose = ComposeCli::detect().await?;
        writable_dir(runs_dir)?;
        let store = Store::open_writable(db)?;
        // What a killed harness left would hold ports and names: collect it first.
        match crate::gc::collect(&docker, false).await {
            Ok(c) => {
                if !c.collected.is_empty() {
                    tracing::warn!(
                        runs = c.collected.len(),
                        "removed the leftovers of dead harness runs"
                    );
                }
                if !c.not_ours.is_empty() {
                    tracing::info!(
                        runs = c.not_ours.len(),
                        "left alone runs whose owner this harness cannot judge (see `harness gc --dry-run`)"
                    );
                }
            }
            Err(e) => tracing::warn!(error = %e, "could not collect leftovers of dead runs"),
        }
        let reaper = match reaper {
            Some(options) => guard(&docker, &options).await,
            None => None,
        };
        Ok(Context {
            docker,
            compose,
            store,
            reaper,
            interrupt,
        })
    }
}

/// Without a reaper the run still goes ahead: the next run's gc is the fallback.
async fn guard(docker: &Docker, options: &reaper::Options) -> Option<Guard> {
    match Guard::start(docker, options).await {
        Ok(guard) => {
            tracing::debug!(addr = %guard.addr, "the reaper looks after this harness");
            Some(guard)
        }
        Err(e) => {
            tracing::warn!(error = %e, "no reaper: if this harness is killed, its containers stay until the next run or `harness gc`");
            None
        }
    }
}

/// The runs directory takes a file, or can be made. Nothing is created here: bad input
/// must leave the disk as it was, and harnesses starting at once must never remove a
/// directory another one is about to write into (making and removing a probe directory
/// raced exactly so). A missing directory is judged by the nearest one that exists.
pub fn writable_dir(dir: &Path) -> Result<(), CycleError> {
    let unwritable = |source: std::io::Error| CycleError::RunsDir {
        dir: dir.to_path_buf(),
        source,
    };
    let existing = dir
        .ancestors()
        .find(|a| a.as_os_str().is_empty() || a.exists())
        .filter(|a| !a.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if !existing.is_dir() {
        return Err(unwritable(std::io::Error::from(
            std::io::ErrorKind::NotADirectory,
        )));
    }
    if existing != dir {
        use nix::unistd::{AccessFlags, access};
        return access(existing, AccessFlags::W_OK | AccessFlags::X_OK)
            .map_err(|e| unwritable(std::io::Error::from(e)));
    }
    let probe = dir.join(format!(".harness-write-test-{}", std::process::id()));
    let written = std::fs::write(&probe, b"");
    let _ = std::fs::remove_file(&probe);
    written.map_err(unwritable)
}

/// `--junit FILE`: the runs as JUnit XML, for CI servers.
pub fn write_junit(path: Option<&Path>, runs: &[RunRecord]) -> Result<(), CycleError> {
    let Some(path) = path else {
        return Ok(());
    };
    let xml = crate::report::junit(runs)?;
    std::fs::write(path, xml).map_err(|source| CycleError::Junit {
        path: path.to_path_buf(),
        source,
    })
}
