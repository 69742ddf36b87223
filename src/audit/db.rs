//! The audit's side of the scoreboard: its read errors as the audit words them, the prompts
//! it names, and what a run UUID must look like. The queries are `store::Reader`'s.

use std::path::PathBuf;

use uuid::Uuid;

use super::AuditError;
pub(crate) use crate::store::chain_hash;
use crate::store::{ReadError, Reader};

impl From<ReadError> for AuditError {
    fn from(e: ReadError) -> AuditError {
        match e {
            ReadError::NoStore { path } => AuditError::NoStore { path },
            ReadError::Open { path, source } => AuditError::Open { path, source },
            ReadError::Sql { path, source } => AuditError::Sql { path, source },
        }
    }
}

/// The prompt file each task was recorded from (`harness run --task`), where it still is:
/// the prompts an audit checks when none are named.
pub(crate) fn task_prompts(
    reader: &Reader,
    task: Option<&str>,
) -> Result<Vec<PathBuf>, AuditError> {
    let mut paths = Vec::new();
    for (name, path) in reader.task_paths()? {
        let path = PathBuf::from(path);
        if task.is_none_or(|t| t == name) && path.is_file() {
            paths.push(path);
        }
    }
    Ok(paths)
}

/// Why a recorded UUID is not one the harness could have written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum UuidProblem {
    #[error("`{value}` is not a UUID: {reason}")]
    NotAUuid { value: String, reason: String },
    #[error("`{value}` is a UUID but not a random UUID v4 (version {version})")]
    NotV4 { value: String, version: usize },
    #[error(
        "`{value}` is not in canonical form `{canonical}`: `grep` for the canonical UUID would miss it"
    )]
    NotCanonical { value: String, canonical: Uuid },
}

/// The UUID if `value` is a canonical (lower-case, hyphenated) UUID v4, else why not.
pub(crate) fn uuid_v4(value: &str) -> Result<Uuid, UuidProblem> {
    let uuid = Uuid::try_parse(value).map_err(|e| UuidProblem::NotAUuid {
        value: value.to_string(),
        reason: e.to_string(),
    })?;
    if uuid.get_version() != Some(uuid::Version::Random)
        || uuid.get_variant() != uuid::Variant::RFC4122
    {
        return Err(UuidProblem::NotV4 {
            value: value.to_string(),
            version: uuid.get_version_num(),
        });
    }
    if uuid.to_string() != value {
        return Err(UuidProblem::NotCanonical {
            value: value.to_string(),
            canonical: uuid,
        });
    }
    Ok(uuid)
}
