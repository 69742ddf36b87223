//! The task, read once: its prompt, its own candidate config and an outside `--config`;
//! then registered, so each config is a [`Version`] of the task.

use std::path::{Path, PathBuf};

use super::CycleError;
use crate::compose::ComposeFile;
use crate::protocol::PortRange;
use crate::protocol::port_range::RangeError;
use crate::redact::Redactor;
use crate::spec::ProtocolSpec;
use crate::store::{NewVersion, Store, VersionRow};
use crate::task::Prompt;

/// A config of the task as the scoreboard knows it: the file that deploys and its row
/// (id, number, hash of the recorded text, parent, mutation, reason), carried from the run
/// through the record and the proposal to `apply` and `promote`.
#[derive(Clone)]
pub struct Version {
    pub file: ComposeFile,
    pub row: VersionRow,
}

impl Version {
    pub fn label(&self) -> String {
        self.row.label()
    }

    pub fn number(&self) -> i64 {
        self.row.number
    }

    /// The content address of the config as recorded (redacted).
    pub fn hash(&self) -> &str {
        &self.row.hash
    }

    /// The scoreboard id of the version it was made from; `None` for the task's seed.
    pub fn parent(&self) -> Option<i64> {
        self.row.parent
    }

    /// What made it: a mutation's id, `seed`, or `external`.
    pub fn mutation(&self) -> &str {
        &self.row.mutation
    }
}

/// The task as read and checked, before the scoreboard is opened: bad input fails here,
/// without touching the disk or the engine.
pub struct TaskFile {
    prompt: Prompt,
    own: ComposeFile,
    spec: ProtocolSpec,
    external: Option<(PathBuf, ComposeFile)>,
}

impl TaskFile {
    pub fn path(&self) -> &Path {
        self.prompt.path()
    }

    /// The task's name, as the scoreboard will know it.
    pub fn name(&self) -> &str {
        self.prompt.name()
    }

    /// `protocol`: the project's block for a prompt without one of its own.
    pub fn load(
        path: &Path,
        config: Option<&Path>,
        protocol: Option<&Path>,
    ) -> Result<TaskFile, CycleError> {
        let prompt = Prompt::load(path)?;
        let own = own_config(&prompt)?;
        let spec = ProtocolSpec::of_prompt(&prompt, &own, protocol)?;
        let external = match config {
            None => None,
            Some(path) => {
                let text = crate::user_file::read_to_string(path).map_err(|source| {
                    CycleError::Config {
                        path: path.to_path_buf(),
                        source,
                    }
                })?;
                let file = ComposeFile::parse(&path.to_string_lossy(), &text, 1)?;
                spec.fits(path, &file)?;
                Some((path.to_path_buf(), file))
            }
        };
        Ok(TaskFile {
            prompt,
            own,
            spec,
            external,
        })
    }

    /// The config that will deploy: `--config`, else the task's own.
    pub fn candidate(&self) -> &ComposeFile {
        self.external.as_ref().map_or(&self.own, |(_, file)| file)
    }

    /// With `--port-range`, the range must have a free port for every port the candidate
    /// publishes; other harnesses may hold some of it.
    pub fn fits(&self, range: Option<PortRange>) -> Result<(), CycleError> {
        let Some(range) = range else {
            return Ok(());
        };
        let needed = crate::protocol::port_range::needed(self.candidate());
        let free = range.free()?;
        if free < needed {
            return Err(RangeError::Exhausted {
                range,
                needed,
                free,
            }
            .into());
        }
        Ok(())
    }

    /// Registers the task and its configs. The task's own candidate is always registered
    /// first, so version numbers follow the task's history even when `--config` is used.
    pub fn register(self, store: &mut Store) -> Result<Task, CycleError> {
        let id = store.task_id(self.prompt.name(), &self.prompt.path().to_string_lossy())?;
        let own = register_own(store, id, &self.prompt, self.own)?;
        let external = match self.external {
            None => None,
            Some((path, file)) => Some(register(
                store,
                id,
                &Redactor::from_env(),
                file,
                Some(own.row.id),
                "external",
                &format!("config from {}", path.display()),
            )?),
        };
        Ok(Task {
            prompt: self.prompt,
            spec: self.spec,
            id,
            own,
            external,
        })
    }
}

/// A registered task: what every run, proposal and promotion of it reads.
pub struct Task {
    /// As loaded: its name, path and config. The recorder re-reads the file under a lock
    /// (other harnesses record into it), and so does [`Task::replace_config`].
    prompt: Prompt,
    /// Read once with the prompt: the harness never rewrites the protocol block.
    spec: ProtocolSpec,
    id: i64,
    own: Version,
    external: Option<Version>,
}

impl Task {
    pub fn name(&self) -> &str {
        self.prompt.name()
    }

    pub fn path(&self) -> &Path {
        self.prompt.path()
    }

    pub fn prompt(&self) -> &Prompt {
        &self.prompt
    }

    /// What the protocol checks, as the task declares it.
    pub fn spec(&self) -> &ProtocolSpec {
        &self.spec
    }

    /// The scoreboard's id of the task.
    pub fn id(&self) -> i64 {
        self.id
    }

    /// The task's own config, the parent of what `apply` writes into it.
    pub fn own(&self) -> &Version {
        &self.own
    }

    /// The version that runs: `--config`, else the task's own.
    pub fn current(&self) -> &Version {
        self.external.as_ref().unwrap_or(&self.own)
    }

    /// Writes `yaml` as the task's config and takes it as the task's own version. The
    /// prompt is read again first: the recorder has written runs into it since it was
    /// loaded, and other harnesses may have too.
    pub fn replace_config(&mut self, store: &mut Store, yaml: &str) -> Result<(), CycleError> {
        let prompt = Prompt::load(self.prompt.path())?;
        let text = prompt.replace_config(yaml)?;
        Prompt::save(prompt.path(), &text)?;
        let prompt = Prompt::parse(prompt.path().to_path_buf(), text)?;
        let own = own_config(&prompt)?;
        self.own = register_own(store, self.id, &prompt, own)?;
        self.prompt = prompt;
        Ok(())
    }
}

fn own_config(prompt: &Prompt) -> Result<ComposeFile, CycleError> {
    Ok(ComposeFile::parse(
        &prompt.path().to_string_lossy(),
        prompt.config_yaml(),
        prompt.config_line(),
    )?)
}

/// The task's own config, registered as its seed: named after the first row of its history.
fn register_own(
    store: &mut Store,
    task_id: i64,
    prompt: &Prompt,
    file: ComposeFile,
) -> Result<Version, CycleError> {
    let seed_reason = prompt
        .history()
        .first()
        .map(|r| r.change.clone())
        .unwrap_or_else(|| "the task's candidate config".into());
    register(
        store,
        task_id,
        &Redactor::from_env(),
        file,
        None,
        "seed",
        &seed_reason,
    )
}

/// A config as a version of the task: recorded, and addressed, as `redactor` writes it;
/// a config the scoreboard already has keeps its row (number, parent, mutation, reason).
pub(super) fn register(
    store: &mut Store,
    task_id: i64,
    redactor: &Redactor,
    file: ComposeFile,
    parent: Option<i64>,
    mutation: &str,
    reason: &str,
) -> Result<Version, CycleError> {
    let recorded = redactor.config(&file);
    let row = store.version(
        task_id,
        &NewVersion {
            hash: &recorded.hash,
            config: &recorded.text,
            parent,
            mutation,
            reason,
        },
    )?;
    Ok(Version { file, row })
}
