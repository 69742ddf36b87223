//! A run's evidence directory, `runs/<uuid8>/`, and every path in it. The protocol writes
//! these paths and audit, show, report and propose read them; naming them here only keeps
//! writer and readers on one layout.

use std::path::{Path, PathBuf};

use super::RunId;

/// `runs/<uuid8>/`: the compose files a run deployed from, its containers' logs and the
/// proposals made from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunDir {
    root: PathBuf,
}

impl RunDir {
    /// Run `id`'s directory under the runs directory `runs`.
    pub fn new(runs: &Path, id: RunId) -> RunDir {
        RunDir {
            root: runs.join(id.short()),
        }
    }

    /// `runs/<uuid8>/`.
    pub fn path(&self) -> &Path {
        &self.root
    }

    /// `compose/`: the compose files live apart from the rest of the evidence, so a
    /// config's relative bind mounts (`./logs:/app/logs`) land here and never mix with the
    /// harness's own files.
    pub fn compose(&self) -> PathBuf {
        self.root.join("compose")
    }

    /// `compose/candidate.yml`: the candidate as the task gave it.
    pub fn candidate(&self) -> PathBuf {
        self.compose().join("candidate.yml")
    }

    /// `compose/candidate-<i>.yml`: in range mode, instance `instance`'s own copy of the
    /// candidate with its leased host ports written in.
    pub fn pinned_candidate(&self, instance: usize) -> PathBuf {
        self.compose().join(format!("candidate-{instance}.yml"))
    }

    /// `compose/override.yml`: the labels that tie every object to the run.
    pub fn override_file(&self) -> PathBuf {
        self.compose().join("override.yml")
    }

    /// `logs/`: every container's log, saved before `down` removes it.
    pub fn logs(&self) -> PathBuf {
        self.root.join("logs")
    }

    /// `logs/<container>.log`.
    pub fn log(&self, container: &str) -> PathBuf {
        self.logs().join(format!("{container}.log"))
    }

    /// `proposals/`: scratch files of the proposals made from this run.
    pub fn proposals(&self) -> PathBuf {
        self.root.join("proposals")
    }
}

impl AsRef<Path> for RunDir {
    fn as_ref(&self) -> &Path {
        &self.root
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_layout_is_the_one_runs_have_always_had() {
        let id = RunId::parse("1234abcd-89db-4a6e-9c0f-1e2d3c4b5a69").unwrap();
        let dir = RunDir::new(Path::new("runs"), id);
        assert_eq!(dir.path(), Path::new("runs/1234abcd"));
        assert_eq!(dir.compose(), Path::new("runs/1234abcd/compose"));
        assert_eq!(
            dir.candidate(),
            Path::new("runs/1234abcd/compose/candidate.yml")
        );
        assert_eq!(
            dir.pinned_candidate(2),
            Path::new("runs/1234abcd/compose/candidate-2.yml")
        );
        assert_eq!(
            dir.override_file(),
            Path::new("runs/1234abcd/compose/override.yml")
        );
        assert_eq!(dir.logs(), Path::new("runs/1234abcd/logs"));
        assert_eq!(
            dir.log("h-web-1"),
            Path::new("runs/1234abcd/logs/h-web-1.log")
        );
        assert_eq!(dir.proposals(), Path::new("runs/1234abcd/proposals"));
    }
}
