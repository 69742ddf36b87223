//! The project's defaults, `harness.toml` in the working directory: which task the
//! commands work on when `--task` is not given, and where a graduated config goes. The
//! harness itself knows no task; each project names its own.

use std::path::{Path, PathBuf};

use serde::Deserialize;

/// The file's name, looked up in the working directory only (like `runs/`).
pub const FILE: &str = "harness.toml";

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Project {
    /// The task prompt the commands use without `--task`.
    #[serde(default)]
    pub task: Option<PathBuf>,
    /// Where `iterate` promotes a graduated config without `--graduate-to`.
    #[serde(default)]
    pub graduate_to: Option<PathBuf>,
    /// The recipes file `harness images` builds the project's images from.
    #[serde(default)]
    pub images: Option<PathBuf>,
    /// The protocol block (a YAML file) for task prompts that have none of their own.
    #[serde(default)]
    pub protocol: Option<PathBuf>,
}

#[derive(Debug, thiserror::Error)]
pub enum ProjectError {
    #[error("cannot read `{}`: {source} — make it readable or remove it", .path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("`{}`: {message} — its keys are `task`, `graduate_to`, `images` and `protocol`, all paths, e.g. `task = \"prompts/<task>.md\"`", .path.display())]
    Malformed { path: PathBuf, message: String },
    #[error(
        "no task given: pass `--task FILE` (a prompt with the candidate config in a ```yaml block), \
         set HARNESS_TASK, or add `task = \"prompts/<task>.md\"` to {FILE} (`harness init` writes a task)"
    )]
    NoTask,
}

impl Project {
    /// `dir/harness.toml`, or no defaults when there is none.
    pub fn load(dir: &Path) -> Result<Project, ProjectError> {
        let path = dir.join(FILE);
        let text = match crate::user_file::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Project::default()),
            Err(source) => return Err(ProjectError::Read { path, source }),
        };
        toml::from_str(&text).map_err(|e| ProjectError::Malformed {
            path,
            message: e.message().to_string(),
        })
    }

    /// The working directory's project.
    pub fn here() -> Result<Project, ProjectError> {
        Project::load(Path::new("."))
    }

    /// The task to work on: the flag (or HARNESS_TASK) first, then the project's.
    pub fn task(&self, flag: Option<&Path>) -> Result<PathBuf, ProjectError> {
        flag.map(Path::to_path_buf)
            .or_else(|| self.task.clone())
            .ok_or(ProjectError::NoTask)
    }

    /// Where a graduated config goes: the flag, the project's, else beside the task as
    /// `<task>.graduated.yml`.
    pub fn graduate_to(&self, flag: Option<&Path>, task: &Path) -> PathBuf {
        flag.map(Path::to_path_buf)
            .or_else(|| self.graduate_to.clone())
            .unwrap_or_else(|| task.with_extension("graduated.yml"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(text: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(FILE), text).unwrap();
        dir
    }

    #[test]
    fn no_file_means_no_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let project = Project::load(dir.path()).unwrap();
        assert_eq!(project, Project::default());
        assert!(matches!(project.task(None), Err(ProjectError::NoTask)));
        let to = project.graduate_to(None, Path::new("prompts/web.md"));
        assert_eq!(to, Path::new("prompts/web.graduated.yml"));
    }

    #[test]
    fn the_flag_wins_over_the_file() {
        let dir = write("task = \"prompts/a.md\"\ngraduate_to = \"deploy/compose.yml\"\n");
        let project = Project::load(dir.path()).unwrap();
        assert_eq!(project.task(None).unwrap(), Path::new("prompts/a.md"));
        let flag = Path::new("other.md");
        assert_eq!(project.task(Some(flag)).unwrap(), flag);
        let to = project.graduate_to(None, flag);
        assert_eq!(to, Path::new("deploy/compose.yml"));
        assert_eq!(project.graduate_to(Some(flag), flag), flag);
    }

    #[test]
    fn a_typo_names_the_file_and_the_keys() {
        let dir = write("taks = \"prompts/a.md\"\n");
        let err = Project::load(dir.path()).unwrap_err().to_string();
        assert!(err.contains("harness.toml"), "{err}");
        assert!(err.contains("taks"), "{err}");
        assert!(
            err.contains("`task`, `graduate_to`, `images` and `protocol`"),
            "{err}"
        );
    }
}
