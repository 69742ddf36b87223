//! What the HTML report shows, read from the scoreboard through a read-only connection.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags};

use super::ReportError;

pub(crate) struct Task {
    pub id: i64,
    pub name: String,
    pub versions: Vec<Version>,
}

pub(crate) struct Version {
    pub id: i64,
    pub number: i64,
    pub parent: Option<i64>,
    pub mutation: String,
    pub reason: String,
    pub created_at: String,
    /// Oldest first.
    pub runs: Vec<Run>,
}

impl Version {
    pub fn successes(&self) -> u64 {
        self.runs.iter().filter(|r| r.success).count() as u64
    }

    pub fn failures(&self) -> u64 {
        self.runs.len() as u64 - self.successes()
    }

    pub fn last_run(&self) -> Option<&str> {
        self.runs.iter().map(|r| r.started_at.as_str()).max()
    }

    /// Failure signatures of the version's runs, most frequent first (ties by name).
    pub fn signatures(&self) -> Vec<(String, usize)> {
        let mut counts: HashMap<&str, usize> = HashMap::new();
        for step in self.runs.iter().flat_map(|r| &r.failed_steps) {
            *counts
                .entry(step.signature.as_deref().unwrap_or("unknown"))
                .or_default() += 1;
        }
        let mut out: Vec<(String, usize)> = counts
            .into_iter()
            .map(|(s, n)| (s.to_string(), n))
            .collect();
        out.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        out
    }
}

pub(crate) struct Run {
    pub uuid: String,
    pub started_at: String,
    pub success: bool,
    /// The `file` column as recorded (a full path when written).
    pub file: String,
    pub error: Option<String>,
    pub failed_steps: Vec<FailedStep>,
}

pub(crate) struct FailedStep {
    pub name: String,
    pub signature: Option<String>,
}

pub(crate) fn open(path: &Path) -> Result<Connection, ReportError> {
    if !path.is_file() {
        return Err(ReportError::NoStore {
            path: path.to_path_buf(),
        });
    }
    let open_err = |source| ReportError::Open {
        path: path.to_path_buf(),
        source,
    };
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags).map_err(open_err)?;
    conn.busy_timeout(std::time::Duration::from_secs(30))
        .map_err(open_err)?;
    Ok(conn)
}

/// Every task with its versions (by number) and their runs (oldest first). Columns are cast
/// in SQL, so a tampered type shows as text rather than stopping the report.
pub(crate) fn load(conn: &Connection, path: &Path) -> Result<Vec<Task>, ReportError> {
    let sql = |source| ReportError::Sql {
        path: path.to_path_buf(),
        source,
    };
    let mut tasks: Vec<Task> = conn
        .prepare("SELECT id, CAST(name AS TEXT) FROM task ORDER BY name, id")
        .and_then(|mut s| {
            s.query_map([], |r| {
                Ok(Task {
                    id: r.get(0)?,
                    name: r.get::<_, Option<String>>(1)?.unwrap_or_default(),
                    versions: Vec::new(),
                })
            })?
            .collect()
        })
        .map_err(sql)?;

    let mut failed: HashMap<i64, Vec<FailedStep>> = HashMap::new();
    {
        let mut stmt = conn
            .prepare(
                "SELECT run_seq, CAST(name AS TEXT), CAST(signature AS TEXT) FROM step
                 WHERE status = 'fail' ORDER BY run_seq, idx",
            )
            .map_err(sql)?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    FailedStep {
                        name: r.get::<_, Option<String>>(1)?.unwrap_or_default(),
                        signature: r.get(2)?,
                    },
                ))
            })
            .map_err(sql)?;
        for row in rows {
            let (seq, step) = row.map_err(sql)?;
            failed.entry(seq).or_default().push(step);
        }
    }

    let mut runs: HashMap<i64, Vec<Run>> = HashMap::new();
    {
        let mut stmt = conn
            .prepare(
                "SELECT seq, version_id, CAST(uuid AS TEXT), CAST(started_at AS TEXT),
                        CAST(success AS INTEGER), CAST(file AS TEXT),
                        CASE WHEN success = 0 AND json_valid(json) THEN json_extract(json, '$.error') END
                 FROM run ORDER BY seq",
            )
            .map_err(sql)?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, Option<i64>>(1)?,
                    r.get::<_, i64>(0)?,
                    r.get::<_, Option<String>>(2)?.unwrap_or_default(),
                    r.get::<_, Option<String>>(3)?.unwrap_or_default(),
                    r.get::<_, Option<i64>>(4)?.unwrap_or(0) != 0,
                    r.get::<_, Option<String>>(5)?.unwrap_or_default(),
                    r.get::<_, Option<String>>(6).ok().flatten(),
                ))
            })
            .map_err(sql)?;
        for row in rows {
            let (version_id, seq, uuid, started_at, success, file, error) = row.map_err(sql)?;
            let Some(version_id) = version_id else {
                continue;
            };
            runs.entry(version_id).or_default().push(Run {
                uuid,
                started_at,
                success,
                file,
                error,
                failed_steps: failed.remove(&seq).unwrap_or_default(),
            });
        }
    }

    let mut versions: BTreeMap<i64, Vec<Version>> = BTreeMap::new();
    {
        let mut stmt = conn
            .prepare(
                "SELECT v.id, v.task_id, v.number, p.number, CAST(v.mutation AS TEXT),
                        CAST(v.reason AS TEXT), CAST(v.created_at AS TEXT)
                 FROM version v LEFT JOIN version p ON p.id = v.parent_id
                 ORDER BY v.task_id, v.number, v.id",
            )
            .map_err(sql)?;
        let rows = stmt
            .query_map([], |r| {
                let id: i64 = r.get(0)?;
                Ok((
                    r.get::<_, i64>(1)?,
                    Version {
                        id,
                        number: r.get(2)?,
                        parent: r.get(3)?,
                        mutation: r.get::<_, Option<String>>(4)?.unwrap_or_default(),
                        reason: r.get::<_, Option<String>>(5)?.unwrap_or_default(),
                        created_at: r.get::<_, Option<String>>(6)?.unwrap_or_default(),
                        runs: Vec::new(),
                    },
                ))
            })
            .map_err(sql)?;
        for row in rows {
            let (task_id, mut version) = row.map_err(sql)?;
            version.runs = runs.remove(&version.id).unwrap_or_default();
            versions.entry(task_id).or_default().push(version);
        }
    }
    for task in &mut tasks {
        task.versions = versions.remove(&task.id).unwrap_or_default();
    }
    Ok(tasks)
}

impl Run {
    /// The run file: the recorded file name, under `runs_dir` (where `harness audit` looks).
    pub fn path_in(&self, runs_dir: &Path) -> PathBuf {
        let name = self.file.rsplit(['/', '\\']).next().unwrap_or(&self.file);
        runs_dir.join(name)
    }
}
