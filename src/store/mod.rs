//! The scoreboard: SQLite in WAL mode, migrated on open, safe for several harness processes.
//! Every SQL statement of the harness lives here; the rest reads through typed views.

mod agree;
mod audit_cache;
mod export;
mod imp;
mod import;
mod read;
mod schema;

pub use agree::{Difference, RowColumns, Success, row_differences};
pub(crate) use audit_cache::{AuditCacheDb, CacheError, CachedVerdict};
pub use export::{
    ExportLine, FORMAT, LineError, RunLine, TaskLine, TransferError, VersionLine, export,
};
pub use imp::{
    GENESIS_HASH, NewRun, NewVersion, Store, StoreError, VersionRow, VersionTally, chain_hash,
};
pub use import::{Conflict, Entry, Fate, ImportSummary, read_file, read_stream};
pub use read::{
    FailedStepEntry, ReadError, Reader, RunEntry, RunPlace, RunRow, Snapshot, StepRow, StepView,
    TaskEntry, VersionEntry, file_name,
};
