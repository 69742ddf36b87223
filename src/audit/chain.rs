//! The scoreboard's hash chain, checked in three parts so that the costly one runs in
//! parallel: [`Links`] (sequential, where the rows are read) compares each row's
//! `prev_hash` with the row before it; [`Link::check`] (per run, anywhere) hashes the
//! row's json; [`Breaks`] (sequential, in scoreboard order) marks every row after a task's
//! first break as unverifiable.

use super::FindingKind;
use super::db;
use crate::store::GENESIS_HASH;
use crate::store::RunRow;

/// Where the current task's chain stands, for the rows as they are read.
#[derive(Default)]
pub(crate) struct Links {
    task_id: Option<Option<i64>>,
    /// The previous row's stored hash (genesis at a task's start).
    last_hash: String,
    /// The previous row: seq and uuid.
    last: Option<(i64, String)>,
}

/// A row's link to the row before it: why it is broken, if it is.
#[derive(Debug)]
pub(crate) struct Link(Option<String>);

impl Links {
    pub fn next(&mut self, row: &RunRow) -> Link {
        if self.task_id != Some(row.task_id) {
            *self = Links {
                task_id: Some(row.task_id),
                last_hash: GENESIS_HASH.to_string(),
                last: None,
            };
        }
        let broken = (row.prev_hash != self.last_hash).then(|| match &self.last {
            None => format!(
                "the first row of task {} does not start from the genesis hash: earlier rows were deleted, or this row was inserted",
                row.task_label()
            ),
            Some((seq, prev)) => format!(
                "its prev_hash is not the hash of the task's previous row (seq {seq}, {prev}): a row between them was deleted, or this row was inserted or reordered"
            ),
        });
        self.last_hash.clone_from(&row.hash);
        self.last = Some((row.seq, row.uuid.clone()));
        Link(broken)
    }
}

/// A row's own chain findings.
pub(crate) struct LinkCheck {
    pub findings: Vec<(FindingKind, String)>,
}

impl LinkCheck {
    /// The row's json is the one chained, after the row it claims to follow.
    pub fn is_sound(&self) -> bool {
        self.findings.is_empty()
    }
}

impl Link {
    /// The link and the row's own hash; `file` (the run file's bytes, if read) tells which
    /// side of a hash mismatch was changed.
    pub fn check(&self, row: &RunRow, file: Option<&[u8]>) -> LinkCheck {
        let seq = row.seq;
        let mut findings = Vec::new();
        if let Some(why) = &self.0 {
            findings.push((FindingKind::ChainBroken, format!("seq {seq}: {why}")));
        }
        if db::chain_hash(&row.prev_hash, &row.json) != row.hash {
            let file_matches = file.is_some_and(|b| db::chain_hash(&row.prev_hash, b) == row.hash);
            let detail = if file_matches {
                "its json was changed in the scoreboard; the run file still matches the chain"
            } else {
                "the row (json or hash) was changed"
            };
            findings.push((
                FindingKind::HashMismatch,
                format!("seq {seq}: the stored hash is not sha256(prev_hash ‖ json): {detail}"),
            ));
        }
        LinkCheck { findings }
    }
}

/// Where each task's chain first broke, for the rows in scoreboard order.
#[derive(Default)]
pub(crate) struct Breaks {
    task_id: Option<Option<i64>>,
    /// The task's first broken link: seq and uuid.
    first: Option<(i64, String)>,
}

impl Breaks {
    /// Why a sound row cannot be verified, if its task's chain broke before it.
    pub fn next(&mut self, row: &RunRow, sound: bool) -> Option<String> {
        if self.task_id != Some(row.task_id) {
            *self = Breaks {
                task_id: Some(row.task_id),
                first: None,
            };
        }
        match &self.first {
            Some((seq, at)) if sound => Some(format!(
                "seq {}: cannot be verified: the chain of task {} is broken at seq {seq} ({at})",
                row.seq,
                row.task_label()
            )),
            None if !sound => {
                self.first = Some((row.seq, row.uuid.clone()));
                None
            }
            _ => None,
        }
    }
}
