//! The scoreboard: SQLite in WAL mode, migrated on open, safe for several harness processes.

mod imp;
mod schema;

pub use imp::{
    GENESIS_HASH, NewRun, NewVersion, Store, StoreError, VersionRow, VersionTally, chain_hash,
};
