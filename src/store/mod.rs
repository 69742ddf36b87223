//! The scoreboard: SQLite in WAL mode, migrated on open, safe for several harness processes.

mod export;
mod imp;
mod import;
mod schema;

pub use export::{ExportLine, FORMAT, RunLine, TaskLine, TransferError, VersionLine, export};
pub use imp::{
    GENESIS_HASH, NewRun, NewVersion, Store, StoreError, VersionRow, VersionTally, chain_hash,
};
pub use import::{Entry, Outcome, read_stream};
