//! A run's identity and every name derived from it: the short id that names its evidence
//! directory and run file, and the compose project of each of its instances. These names
//! are built and parsed here only, so a run file, an evidence directory and a container
//! left on the engine always agree on which run they belong to.

use std::path::Path;

use uuid::Uuid;

/// Every compose project the harness makes starts with this, so a user's own projects are
/// never taken for the harness's (gc removes only projects it can parse back).
const PROJECT_PREFIX: &str = "h-";

/// The project `compose config` validates a proposal under; it is never deployed.
pub const VALIDATE_PROJECT: &str = "h-validate";

/// How many hex digits of the UUID name a run on disk and in project names: short enough
/// to read, and `fresh` rules out a collision among the runs already on disk.
const SHORT_LEN: usize = 8;

/// Most tries `fresh` makes: with all but a handful of 4 billion short ids free, the first
/// try nearly always wins.
const FRESH_TRIES: usize = 64;

/// A run's UUID, the one name every trace of the run carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RunId(Uuid);

impl From<Uuid> for RunId {
    fn from(uuid: Uuid) -> Self {
        RunId(uuid)
    }
}

impl std::fmt::Display for RunId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl RunId {
    pub fn uuid(self) -> Uuid {
        self.0
    }

    /// A label's text as a run's id; `None` for a label the harness did not write.
    pub fn parse(text: &str) -> Option<RunId> {
        Uuid::parse_str(text).ok().map(RunId)
    }

    /// A new run's id whose evidence directory `runs/<uuid8>/` is not taken yet. Eight hex
    /// digits collide about once in 77 000 runs (the birthday bound), and a run that shared
    /// a directory would overwrite an older run's logs and override.
    pub fn fresh(runs: &Path) -> RunId {
        Self::fresh_from(runs, Uuid::new_v4)
    }

    pub(crate) fn fresh_from(runs: &Path, mut next: impl FnMut() -> Uuid) -> RunId {
        let mut id = RunId(next());
        for _ in 0..FRESH_TRIES {
            if !super::RunDir::new(runs, id).path().exists() {
                break;
            }
            id = RunId(next());
        }
        id
    }

    /// The short id `uuid8`: the first eight hex digits of the UUID.
    pub fn short(self) -> String {
        let mut hex = self.0.simple().to_string();
        hex.truncate(SHORT_LEN);
        hex
    }

    /// The run file's name, `<timestamp>_<uuid8>.json`.
    pub fn file_name(self, stamp: &str) -> String {
        format!("{stamp}{}", self.file_suffix())
    }

    /// The run file's name while it is written: hidden, so a reader of `runs/` never
    /// takes a half-written file for a run.
    pub fn temp_file_name(self, stamp: &str) -> String {
        format!(".{}.tmp", self.file_name(stamp))
    }

    /// How every one of this run's file names ends, `_<uuid8>.json`, whatever its timestamp.
    pub fn file_suffix(self) -> String {
        format!("_{}.json", self.short())
    }

    /// Whether `name` may be a run file: a visible `.json` file (a hidden one is still
    /// being written).
    pub fn is_file_name(name: &str) -> bool {
        !name.starts_with('.') && name.ends_with(".json")
    }

    /// The short id a run file's name ends in, `<timestamp>_<uuid8>.json`; `None` for a
    /// name that is no run file.
    pub fn file_short_id(name: &str) -> Option<&str> {
        if !Self::is_file_name(name) {
            return None;
        }
        name.strip_suffix(".json")?.rsplit('_').next()
    }

    /// What a person typed to name a run, normalised: lower-case, trimmed, and — for a
    /// hyphen-less prefix longer than 8 — hyphenated where the canonical form has its
    /// hyphens, so `3f1c9a528d7e` finds `3f1c9a52-8d7e-…`. `None` unless it is a UUID or
    /// a non-empty prefix of one (an empty prefix would name every run).
    pub fn prefix(input: &str) -> Option<String> {
        let value = input.trim().to_ascii_lowercase();
        if let Ok(uuid) = Uuid::try_parse(&value) {
            return Some(uuid.to_string());
        }
        let valid = !value.is_empty()
            && value.len() <= 36
            && value.chars().all(|c| c.is_ascii_hexdigit() || c == '-');
        if !valid {
            return None;
        }
        if value.contains('-') {
            return Some(value);
        }
        let mut out = String::with_capacity(value.len() + 4);
        for (i, c) in value.chars().enumerate() {
            if matches!(i, 8 | 12 | 16 | 20) {
                out.push('-');
            }
            out.push(c);
        }
        Some(out)
    }

    /// The part of a (normalised) UUID prefix a short id can show.
    pub fn short_of_prefix(prefix: &str) -> String {
        prefix.chars().take(SHORT_LEN).collect()
    }

    /// Whether `name` is this run's file name, whatever its timestamp.
    pub fn names_file(self, name: &str) -> bool {
        name.ends_with(&self.file_suffix())
    }

    /// The compose project of instance `instance`, `h-<task>-<uuid8>-<i>`: unique per run
    /// and instance, so runs never collide with each other or a user's projects. The task
    /// is lowered to what Compose accepts in a project name.
    pub fn project(self, task: &str, instance: usize) -> String {
        let task: String = task
            .to_ascii_lowercase()
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                    c
                } else {
                    '-'
                }
            })
            .collect();
        format!("{PROJECT_PREFIX}{task}-{}-{instance}", self.short())
    }

    /// Whether `project` is one of this run's projects, as [`RunId::project`] names them.
    pub fn owns_project(self, project: &str) -> bool {
        project_short_id(project).is_some_and(|short| short == self.short())
    }
}

/// The short id in a project name `h-<task>-<uuid8>-<i>`, if it is one. The task may hold
/// dashes, so the name is read from its end.
fn project_short_id(project: &str) -> Option<&str> {
    let rest = project.strip_prefix(PROJECT_PREFIX)?;
    let (rest, instance) = rest.rsplit_once('-')?;
    let (task, short) = rest.rsplit_once('-')?;
    let well_formed = !task.is_empty()
        && !instance.is_empty()
        && instance.bytes().all(|b| b.is_ascii_digit())
        && short.len() == SHORT_LEN
        && short.bytes().all(|b| b.is_ascii_hexdigit());
    well_formed.then_some(short)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_prefix_names_part_of_a_uuid_and_never_nothing() {
        assert_eq!(RunId::prefix(" 3F1C9A52 ").as_deref(), Some("3f1c9a52"));
        assert_eq!(
            RunId::prefix("3f1c9a528d7e4").as_deref(),
            Some("3f1c9a52-8d7e-4")
        );
        for bad in ["", "  ", "3f1c*", "xyz", "zz;rm"] {
            assert_eq!(RunId::prefix(bad), None, "{bad:?}");
        }
    }

    fn id(text: &str) -> RunId {
        RunId::parse(text).unwrap()
    }

    #[test]
    fn names_derive_from_the_uuid() {
        let run = id("1234abcd-89db-4a6e-9c0f-1e2d3c4b5a69");
        assert_eq!(run.short(), "1234abcd");
        assert_eq!(
            run.file_name("20261123T140000Z"),
            "20261123T140000Z_1234abcd.json"
        );
        assert_eq!(
            run.temp_file_name("20261123T140000Z"),
            ".20261123T140000Z_1234abcd.json.tmp"
        );
        assert!(run.names_file("20261123T140000Z_1234abcd.json"));
        assert_eq!(
            RunId::file_short_id("20261123T140000Z_1234abcd.json"),
            Some("1234abcd")
        );
        assert_eq!(
            RunId::file_short_id(".20261123T140000Z_1234abcd.json.tmp"),
            None
        );
        assert_eq!(RunId::file_short_id("notes.txt"), None);
        assert_eq!(RunId::short_of_prefix("1234abcd-89db"), "1234abcd");
        assert_eq!(run.project("My Task", 2), "h-my-task-1234abcd-2");
        assert!(VALIDATE_PROJECT.starts_with(PROJECT_PREFIX));
    }

    #[test]
    fn projects_belong_to_a_run_by_its_uuid8() {
        let run = id("1234abcd-89db-4a6e-9c0f-1e2d3c4b5a69");
        let other = id("99999999-89db-4a6e-9c0f-1e2d3c4b5a69");
        assert!(
            run.owns_project("h-e2e_gc_0e73c848-1234abcd-0"),
            "task names may hold `_`"
        );
        assert!(run.owns_project("h-t-1234abcd-3"));
        assert!(run.owns_project("h-a-b-1234abcd-0"), "and dashes");
        assert!(run.owns_project(&run.project("E2E gc", 7)));
        assert!(!run.owns_project("h-t-99999999-0"));
        assert!(other.owns_project("h-t-99999999-0"));
        assert!(
            !run.owns_project("someone-1234abcd-0"),
            "only the harness's own projects"
        );
        assert!(!run.owns_project(VALIDATE_PROJECT));
    }

    #[test]
    fn a_new_run_never_shares_an_evidence_directory() {
        let runs = tempfile::tempdir().unwrap();
        let taken = Uuid::parse_str("2063e61c-89db-4a6e-9c0f-1e2d3c4b5a69").unwrap();
        let same_prefix = Uuid::parse_str("2063e61c-fa28-4b6a-8c0f-1e2d3c4b5a69").unwrap();
        let other = Uuid::parse_str("3f1c9a52-8d7e-4b6a-9c0f-1e2d3c4b5a69").unwrap();
        std::fs::create_dir(super::super::RunDir::new(runs.path(), taken.into()).path()).unwrap();
        let mut offered = [same_prefix, other].into_iter();
        let got = RunId::fresh_from(runs.path(), || offered.next().unwrap());
        assert_eq!(got.uuid(), other);
    }
}
