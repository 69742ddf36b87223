//! What a clean audit verified, kept so that the next audit need not read it again.
//!
//! Per run: a digest of its scoreboard row (every column outside the chained json, its
//! hash, its step rows) and the stamps of the files its verdict rests on. A later audit
//! that finds the chain sound, the digest equal and every stamp equal takes the run as
//! verified without opening its files — as `git status` trusts its index. A stamp holds
//! the change time, which any write or `touch` moves and a file's owner cannot set back;
//! files changed in the second before an audit started are never trusted this way.
//! `harness audit --full` ignores the cache.
//!
//! The cache sits beside the scoreboard (`<db>-audit`), is rebuilt from scratch whenever
//! it cannot be read, and failing to write it costs only speed.

use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use nix::fcntl::AtFlags;
use nix::sys::stat::fstatat;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::run::RunDir;
use crate::store::{self, AuditCacheDb, CacheError, CachedVerdict, RunRow, StepRow};

/// How long before an audit a file must have last changed for its stamp to be trusted:
/// well above the kernel's coarse timestamp tick, and a network file system's clock skew.
pub(crate) const SETTLE: Duration = Duration::from_secs(1);

/// The bytes of one encoded stamp: a presence byte and four 64-bit fields.
const SLOT: usize = 33;

/// Bumped when what a verdict covers changes: an older cache is then ignored.
const FORMAT: i64 = 1;

/// A file as `stat` sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stamp {
    ino: u64,
    size: u64,
    mtime_ns: i64,
    ctime_ns: i64,
}

impl Stamp {
    /// The stamp of `path` under the directory `dir`, or `None` if there is nothing there.
    /// Relative to an open directory: the kernel walks three components, not the whole path.
    fn at(dir: &File, path: &Path) -> Option<Stamp> {
        let st = fstatat(dir, path, AtFlags::empty()).ok()?;
        Some(Stamp {
            ino: st.st_ino,
            size: u64::try_from(st.st_size).unwrap_or_default(),
            mtime_ns: st.st_mtime * 1_000_000_000 + st.st_mtime_nsec,
            ctime_ns: st.st_ctime * 1_000_000_000 + st.st_ctime_nsec,
        })
    }

    fn changed_since(&self, ns: i64) -> bool {
        self.mtime_ns >= ns || self.ctime_ns >= ns
    }
}

/// The files a run's clean verdict rests on, each present with its stamp or absent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Basis {
    run_file: Option<Stamp>,
    override_file: Option<Stamp>,
    logs: Logs,
}

/// The captured logs a clean verdict rests on: the one that carried the UUID (others may
/// come and go without changing the verdict), or that there was no log directory at all.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Logs {
    Carrier { name: String, stamp: Option<Stamp> },
    NoDir { dir: Option<Stamp> },
}

impl Basis {
    /// The basis as it stands now, under the runs directory `dir`; `carrier` names the log
    /// that carried the UUID.
    fn now(dir: &File, row: &RunRow, uuid: Uuid, carrier: Option<&str>) -> Basis {
        // Relative to the runs directory `dir` the stamps are taken in.
        let evidence = RunDir::new(Path::new(""), uuid.into());
        let logs = evidence.logs();
        Basis {
            run_file: Stamp::at(dir, Path::new(store::file_name(&row.file))),
            override_file: Stamp::at(dir, &evidence.override_file()),
            logs: match carrier {
                Some(name) => Logs::Carrier {
                    name: name.to_string(),
                    stamp: Stamp::at(dir, &logs.join(name)),
                },
                None => Logs::NoDir {
                    dir: Stamp::at(dir, &logs),
                },
            },
        }
    }

    fn last(&self) -> Option<Stamp> {
        match &self.logs {
            Logs::Carrier { stamp, .. } => *stamp,
            Logs::NoDir { dir } => *dir,
        }
    }

    /// Whether every file settled [`SETTLE`] before `ns`: a file changed within the clock's
    /// granularity of the audit could change again and keep its stamp.
    fn settled_before(&self, ns: i64) -> bool {
        [self.run_file, self.override_file, self.last()]
            .iter()
            .flatten()
            .all(|s| !s.changed_since(ns - SETTLE.as_nanos() as i64))
    }

    /// Three slots (run file, override, carrier or log dir), each a presence byte and four
    /// little-endian 64-bit fields; the carrier's name goes beside them.
    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(3 * SLOT);
        for slot in [self.run_file, self.override_file, self.last()] {
            let s = slot.unwrap_or(Stamp {
                ino: 0,
                size: 0,
                mtime_ns: 0,
                ctime_ns: 0,
            });
            out.push(u8::from(slot.is_some()));
            out.extend_from_slice(&s.ino.to_le_bytes());
            out.extend_from_slice(&s.size.to_le_bytes());
            out.extend_from_slice(&s.mtime_ns.to_le_bytes());
            out.extend_from_slice(&s.ctime_ns.to_le_bytes());
        }
        out
    }

    fn decode(bytes: &[u8], carrier: Option<String>) -> Option<Basis> {
        if bytes.len() != 3 * SLOT {
            return None;
        }
        let mut slots = bytes.chunks_exact(SLOT).map(|b| {
            let field = |i: usize| -> [u8; 8] {
                let mut f = [0; 8];
                f.copy_from_slice(&b[1 + 8 * i..9 + 8 * i]);
                f
            };
            (b[0] == 1).then(|| Stamp {
                ino: u64::from_le_bytes(field(0)),
                size: u64::from_le_bytes(field(1)),
                mtime_ns: i64::from_le_bytes(field(2)),
                ctime_ns: i64::from_le_bytes(field(3)),
            })
        });
        let (run_file, override_file, last) = (slots.next()?, slots.next()?, slots.next()?);
        let logs = match carrier {
            Some(name) => Logs::Carrier { name, stamp: last },
            None => Logs::NoDir { dir: last },
        };
        Some(Basis {
            run_file,
            override_file,
            logs,
        })
    }
}

/// A run's scoreboard row as the chain does not cover it: its hash stands for the json.
pub(crate) fn digest(row: &RunRow, steps: &[StepRow]) -> [u8; 32] {
    let mut h = Sha256::new();
    let mut field = |bytes: &[u8]| {
        h.update((bytes.len() as u64).to_le_bytes());
        h.update(bytes);
    };
    let int = |v: Option<i64>| v.map_or_else(|| "-".to_string(), |v| v.to_string());
    field(row.uuid.as_bytes());
    field(row.task_label().as_bytes());
    field(int(row.version).as_bytes());
    field(row.started_at.as_bytes());
    field(int(row.success).as_bytes());
    field(row.status.as_bytes());
    field(int(row.duration_ms).as_bytes());
    field(row.file.as_bytes());
    field(row.prev_hash.as_bytes());
    field(row.hash.as_bytes());
    for (name, status, signature) in steps {
        field(name.as_bytes());
        field(status.as_bytes());
        field(signature.as_deref().unwrap_or("\0").as_bytes());
    }
    h.finalize().into()
}

/// One run's clean verdict.
#[derive(Debug, Clone)]
pub(crate) struct Verified {
    pub digest: [u8; 32],
    pub basis: Basis,
}

impl Verified {
    /// The log that carried the UUID when this was verified.
    pub fn carrier(&self) -> Option<&str> {
        match &self.basis.logs {
            Logs::Carrier { name, .. } => Some(name),
            Logs::NoDir { .. } => None,
        }
    }
}

/// The verdicts of earlier audits, and when this one started.
pub(crate) struct AuditCache {
    path: PathBuf,
    runs_dir: String,
    /// The runs directory, open: stamps are taken relative to it.
    dir: Option<File>,
    verified: HashMap<String, Verified>,
    started_ns: i64,
}

impl AuditCache {
    /// `<db>-audit`, beside the scoreboard.
    pub fn path_for(store: &Path) -> PathBuf {
        let mut name = store.as_os_str().to_owned();
        name.push("-audit");
        PathBuf::from(name)
    }

    /// The cache at `path` for `runs_dir`; empty if it is missing, unreadable or for
    /// another runs directory.
    pub fn load(path: &Path, runs_dir: &Path, started: SystemTime) -> AuditCache {
        let started_ns = started
            .duration_since(UNIX_EPOCH)
            .unwrap_or(Duration::ZERO)
            .as_nanos() as i64;
        let runs_dir = std::fs::canonicalize(runs_dir)
            .unwrap_or_else(|_| runs_dir.to_path_buf())
            .display()
            .to_string();
        let verified = match read(path, &runs_dir) {
            Ok(v) => v,
            Err(e) => {
                tracing::debug!("audit cache {} not used: {e}", path.display());
                HashMap::new()
            }
        };
        AuditCache {
            path: path.to_path_buf(),
            dir: File::open(&runs_dir).ok(),
            runs_dir,
            verified,
            started_ns,
        }
    }

    pub fn get(&self, uuid: &str) -> Option<&Verified> {
        self.verified.get(uuid)
    }

    /// The files `row`'s verdict rests on, as they stand now.
    pub fn basis(&self, row: &RunRow, uuid: Uuid, carrier: Option<&str>) -> Option<Basis> {
        Some(Basis::now(self.dir.as_ref()?, row, uuid, carrier))
    }

    /// Whether `fresh` (verified by this audit) may be kept: its files had settled.
    pub fn admits(&self, basis: &Basis) -> bool {
        basis.settled_before(self.started_ns)
    }

    /// Adds this audit's verdicts. A cache that cannot be written is only a slower next audit.
    pub fn save(&self, fresh: &[(String, Verified)]) {
        if fresh.is_empty() {
            return;
        }
        let mut written = write(&self.path, &self.runs_dir, fresh);
        if let Err(e) = &written
            && e.is_not_a_database()
            && std::fs::remove_file(&self.path).is_ok()
        {
            // Not a cache at all (truncated, overwritten): start a new one.
            written = write(&self.path, &self.runs_dir, fresh);
        }
        if let Err(e) = written {
            tracing::warn!(
                "cannot write the audit cache {}: {e} — the next audit re-reads every run",
                self.path.display()
            );
        }
    }
}

fn db<'a>(path: &'a Path, runs_dir: &'a str) -> AuditCacheDb<'a> {
    AuditCacheDb {
        path,
        format: FORMAT,
        runs_dir,
    }
}

fn read(path: &Path, runs_dir: &str) -> Result<HashMap<String, Verified>, CacheError> {
    let mut verified = HashMap::new();
    db(path, runs_dir).read(|uuid, digest, basis, carrier| {
        // A verdict that does not decode is as good as none: the run is read again.
        if let (Ok(digest), Some(basis)) = (digest.try_into(), Basis::decode(&basis, carrier)) {
            verified.insert(uuid, Verified { digest, basis });
        }
    })?;
    Ok(verified)
}

fn write(path: &Path, runs_dir: &str, fresh: &[(String, Verified)]) -> Result<(), CacheError> {
    db(path, runs_dir).write(fresh.iter().map(|(uuid, v)| CachedVerdict {
        uuid,
        digest: &v.digest,
        basis: v.basis.encode(),
        carrier: v.carrier(),
    }))
}
