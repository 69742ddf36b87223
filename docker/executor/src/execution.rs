//! What an `execute` request asks for and what gets recorded about it.

use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

pub const MAX_CHUNKS: u32 = 1000;
pub const MAX_DELAY_MS: u64 = 1000;

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ExecuteParams {
    pub command: String,
    pub chunks: u32,
    pub delay_ms: u64,
}

impl Default for ExecuteParams {
    fn default() -> Self {
        Self {
            command: "echo".to_owned(),
            chunks: 3,
            delay_ms: 10,
        }
    }
}

impl ExecuteParams {
    /// Limits keep one request from occupying a connection for hours.
    pub fn validate(self) -> Result<Self, String> {
        if self.chunks > MAX_CHUNKS {
            return Err(format!("chunks must be at most {MAX_CHUNKS}"));
        }
        if self.delay_ms > MAX_DELAY_MS {
            return Err(format!("delay_ms must be at most {MAX_DELAY_MS}"));
        }
        Ok(self)
    }

    pub fn chunk_text(&self, seq: u32) -> String {
        format!("chunk {seq} of {}: {}", self.chunks, self.command)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExecutionStatus {
    Completed,
    /// The client went away before every chunk was delivered.
    Aborted,
}

impl ExecutionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Completed => "completed",
            Self::Aborted => "aborted",
        }
    }

    fn parse(raw: &str) -> Option<Self> {
        match raw {
            "completed" => Some(Self::Completed),
            "aborted" => Some(Self::Aborted),
            _ => None,
        }
    }
}

/// Times are milliseconds since the Unix epoch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExecutionRecord {
    pub execution_id: String,
    pub command: String,
    pub chunks: u32,
    pub status: ExecutionStatus,
    pub started_at: u64,
    pub finished_at: u64,
    pub execution_uuid: Option<String>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("execution record {id} has a missing or malformed field {field:?}")]
pub struct MalformedRecord {
    pub id: String,
    pub field: &'static str,
}

impl ExecutionRecord {
    /// Redis hashes hold only strings, so an absent UUID is stored as "".
    pub fn to_fields(&self) -> Vec<(&'static str, String)> {
        vec![
            ("command", self.command.clone()),
            ("chunks", self.chunks.to_string()),
            ("status", self.status.as_str().to_owned()),
            ("started_at", self.started_at.to_string()),
            ("finished_at", self.finished_at.to_string()),
            (
                "execution_uuid",
                self.execution_uuid.clone().unwrap_or_default(),
            ),
        ]
    }

    pub fn from_fields(
        id: &str,
        fields: &HashMap<String, String>,
    ) -> Result<Self, MalformedRecord> {
        let field = |name: &'static str| {
            fields.get(name).ok_or(MalformedRecord {
                id: id.to_owned(),
                field: name,
            })
        };
        let malformed = |name: &'static str| MalformedRecord {
            id: id.to_owned(),
            field: name,
        };
        Ok(Self {
            execution_id: id.to_owned(),
            command: field("command")?.clone(),
            chunks: field("chunks")?.parse().map_err(|_| malformed("chunks"))?,
            status: ExecutionStatus::parse(field("status")?).ok_or_else(|| malformed("status"))?,
            started_at: field("started_at")?
                .parse()
                .map_err(|_| malformed("started_at"))?,
            finished_at: field("finished_at")?
                .parse()
                .map_err(|_| malformed("finished_at"))?,
            execution_uuid: fields
                .get("execution_uuid")
                .filter(|uuid| !uuid.is_empty())
                .cloned(),
        })
    }
}

/// A clock before 1970 is a broken host, not a reason to fail a request.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(uuid: Option<&str>) -> ExecutionRecord {
        ExecutionRecord {
            execution_id: "e1".into(),
            command: "ls -l".into(),
            chunks: 4,
            status: ExecutionStatus::Completed,
            started_at: 10,
            finished_at: 20,
            execution_uuid: uuid.map(str::to_owned),
        }
    }

    fn roundtrip(record: &ExecutionRecord) -> Result<ExecutionRecord, MalformedRecord> {
        let fields = record
            .to_fields()
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect();
        ExecutionRecord::from_fields(&record.execution_id, &fields)
    }

    #[test]
    fn record_survives_hash_roundtrip() {
        for uuid in [None, Some("run-7")] {
            let original = record(uuid);
            assert_eq!(roundtrip(&original).unwrap(), original);
        }
    }

    #[test]
    fn malformed_hash_names_the_field() {
        let mut fields: HashMap<String, String> = record(None)
            .to_fields()
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect();
        fields.insert("chunks".into(), "many".into());
        let error = ExecutionRecord::from_fields("e1", &fields).unwrap_err();
        assert_eq!(error.field, "chunks");
    }

    #[test]
    fn params_default_and_limits() {
        let params: ExecuteParams = serde_json::from_str("{}").unwrap();
        assert_eq!(params, ExecuteParams::default());
        assert_eq!(params.chunk_text(1), "chunk 1 of 3: echo");
        let too_many = ExecuteParams {
            chunks: MAX_CHUNKS + 1,
            ..ExecuteParams::default()
        };
        assert!(too_many.validate().is_err());
        let too_slow = ExecuteParams {
            delay_ms: MAX_DELAY_MS + 1,
            ..ExecuteParams::default()
        };
        assert!(too_slow.validate().is_err());
        assert!(serde_json::from_str::<ExecuteParams>(r#"{"chunks": -1}"#).is_err());
        assert!(serde_json::from_str::<ExecuteParams>(r#"{"bogus": 1}"#).is_err());
    }
}
