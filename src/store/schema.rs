use rusqlite_migration::{M, Migrations};

/// Append only: a released migration never changes, so every existing scoreboard upgrades.
pub(crate) fn migrations() -> Migrations<'static> {
    Migrations::new(vec![
        M::up(
            "CREATE TABLE task (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            path TEXT NOT NULL
        );
        CREATE TABLE version (
            id INTEGER PRIMARY KEY,
            task_id INTEGER NOT NULL REFERENCES task(id),
            number INTEGER NOT NULL,
            hash TEXT NOT NULL,
            parent_id INTEGER REFERENCES version(id),
            mutation TEXT NOT NULL,
            reason TEXT NOT NULL,
            config TEXT NOT NULL,
            created_at TEXT NOT NULL,
            UNIQUE (task_id, number),
            UNIQUE (task_id, hash)
        );
        CREATE TABLE run (
            seq INTEGER PRIMARY KEY,
            uuid TEXT NOT NULL UNIQUE,
            task_id INTEGER NOT NULL REFERENCES task(id),
            version_id INTEGER NOT NULL REFERENCES version(id),
            started_at TEXT NOT NULL,
            success INTEGER NOT NULL,
            duration_ms INTEGER NOT NULL,
            file TEXT NOT NULL,
            json TEXT NOT NULL,
            prev_hash TEXT NOT NULL,
            hash TEXT NOT NULL
        );
        CREATE INDEX run_by_version ON run (version_id, success);
        CREATE INDEX run_by_task ON run (task_id, seq);
        CREATE TABLE step (
            run_seq INTEGER NOT NULL REFERENCES run(seq) ON DELETE CASCADE,
            idx INTEGER NOT NULL,
            name TEXT NOT NULL,
            status TEXT NOT NULL,
            duration_ms INTEGER NOT NULL,
            signature TEXT,
            evidence TEXT NOT NULL,
            PRIMARY KEY (run_seq, idx)
        );
        CREATE INDEX step_by_signature ON step (signature) WHERE signature IS NOT NULL;",
        ),
        // Every mutation the proposer tried for a version, accepted or rejected, and why.
        M::up(
            "CREATE TABLE mutation_attempt (
            id INTEGER PRIMARY KEY,
            version_id INTEGER NOT NULL REFERENCES version(id),
            mutation TEXT NOT NULL,
            accepted INTEGER NOT NULL,
            reason TEXT NOT NULL,
            created_at TEXT NOT NULL
        );",
        ),
        // The scoreboard's tally reads this index alone instead of every run row: with
        // 100 000 runs `harness scoreboard` takes ~25 ms for it instead of ~240 ms.
        M::up("CREATE INDEX run_tally ON run (version_id, success, started_at);"),
        // A run's status: only `success` and `failure` count toward the ratio. Older rows
        // said only success or not; a success that was not the whole protocol (fewer than
        // the eleven steps of the time, or a skipped step) becomes `partial`, which
        // `harness audit` then reports (its file still claims success).
        M::up(
            "ALTER TABLE run ADD COLUMN status TEXT NOT NULL DEFAULT 'failure';
            UPDATE run SET status = 'success' WHERE success = 1;
            UPDATE run SET status = 'interrupted' WHERE success = 0 AND EXISTS
                (SELECT 1 FROM step s WHERE s.run_seq = run.seq AND s.signature = 'interrupted');
            UPDATE run SET status = 'partial' WHERE success = 1 AND
                (json_array_length(json, '$.steps') < 11 OR EXISTS
                    (SELECT 1 FROM step s WHERE s.run_seq = run.seq AND s.status = 'skip'));
            ALTER TABLE step ADD COLUMN fault TEXT;
            CREATE INDEX run_status_tally ON run (version_id, status, started_at);",
        ),
        // Who proposed a version, and what it cost: the proposer, the model, sha256 of
        // the request and the response, tokens, latency (a JSON document; never a secret).
        M::up(
            "CREATE TABLE version_provenance (
            version_id INTEGER PRIMARY KEY REFERENCES version(id),
            proposer TEXT NOT NULL,
            json TEXT NOT NULL,
            created_at TEXT NOT NULL
        );",
        ),
    ])
}

#[cfg(test)]
mod tests {
    #[test]
    fn migrations_are_valid() {
        assert!(super::migrations().validate().is_ok());
    }
}
