//! Redis access. Every call is time-bounded so a stalled Redis turns into
//! an error instead of a hung request.

use std::collections::HashMap;
use std::future::Future;
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{ErrorKind, RedisError, RedisResult};

use crate::execution::{ExecutionRecord, MalformedRecord};

pub const KV_PREFIX: &str = "executor:kv:";
pub const EXECUTION_PREFIX: &str = "executor:execution:";
pub const EXECUTIONS_LIST: &str = "executor:executions";

const OP_TIMEOUT: Duration = Duration::from_secs(1);

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Carries Redis' parse message only: the URL may hold a password.
    #[error("REDIS_URL is invalid: {0}")]
    InvalidUrl(String),
    #[error("redis unavailable: {0}")]
    Unavailable(String),
    #[error("redis did not answer within {}ms", .0.as_millis())]
    Timeout(Duration),
    #[error("redis rejected the command: {0}")]
    Command(String),
    #[error(transparent)]
    Malformed(#[from] MalformedRecord),
    /// The service was started without `REDIS_URL`: it keeps nothing.
    #[error("no store is configured (REDIS_URL is unset)")]
    NotConfigured,
}

impl StoreError {
    /// True when the failure is about reaching Redis rather than about the data.
    pub fn is_unavailable(&self) -> bool {
        matches!(
            self,
            Self::Unavailable(_) | Self::Timeout(_) | Self::NotConfigured
        )
    }

    fn from_redis(error: &RedisError) -> Self {
        match error.kind() {
            ErrorKind::Server(_) => Self::Command(error.to_string()),
            _ => Self::Unavailable(error.to_string()),
        }
    }
}

/// Cheap to clone; all clones share one multiplexed connection.
#[derive(Clone)]
pub struct Store {
    conn: ConnectionManager,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").finish_non_exhaustive()
    }
}

impl Store {
    /// Does not touch the network: the container may start before Redis
    /// accepts connections, so the first command connects and every I/O
    /// failure makes the manager reconnect on the next one.
    pub fn connect_lazy(url: &str) -> Result<Self, StoreError> {
        let client = redis::Client::open(url).map_err(|e| StoreError::InvalidUrl(e.to_string()))?;
        // Few, short retries: callers wait at most OP_TIMEOUT anyway, and a
        // failed attempt is retried by the next command.
        let config = ConnectionManagerConfig::new()
            .set_number_of_retries(1)
            .set_min_delay(Duration::from_millis(50))
            .set_max_delay(Duration::from_millis(250))
            .set_connection_timeout(Some(OP_TIMEOUT))
            .set_response_timeout(Some(OP_TIMEOUT));
        let conn = ConnectionManager::new_lazy_with_config(client, config)
            .map_err(|e| StoreError::from_redis(&e))?;
        Ok(Self { conn })
    }

    pub async fn ping(&self) -> Result<(), StoreError> {
        let mut conn = self.conn.clone();
        bounded(async move { redis::cmd("PING").query_async::<String>(&mut conn).await })
            .await
            .map(drop)
    }

    pub async fn kv_get(&self, key: &str) -> Result<Option<String>, StoreError> {
        let mut conn = self.conn.clone();
        let cmd = redis::cmd("GET").arg(kv_key(key)).clone();
        bounded(async move { cmd.query_async(&mut conn).await }).await
    }

    pub async fn kv_set(&self, key: &str, value: &str) -> Result<(), StoreError> {
        let mut conn = self.conn.clone();
        let cmd = redis::cmd("SET").arg(kv_key(key)).arg(value).clone();
        bounded(async move { cmd.query_async::<()>(&mut conn).await }).await
    }

    /// Writes the hash and the index entry in one MULTI so a reader never
    /// sees an id on the list without its record.
    pub async fn record_execution(&self, record: &ExecutionRecord) -> Result<(), StoreError> {
        let mut conn = self.conn.clone();
        let mut pipe = redis::pipe();
        pipe.atomic()
            .hset_multiple(execution_key(&record.execution_id), &record.to_fields())
            .ignore()
            .lpush(EXECUTIONS_LIST, &record.execution_id)
            .ignore();
        bounded(async move { pipe.query_async::<()>(&mut conn).await }).await
    }

    pub async fn execution(&self, id: &str) -> Result<Option<ExecutionRecord>, StoreError> {
        let mut conn = self.conn.clone();
        let cmd = redis::cmd("HGETALL").arg(execution_key(id)).clone();
        let fields: HashMap<String, String> =
            bounded(async move { cmd.query_async(&mut conn).await }).await?;
        if fields.is_empty() {
            return Ok(None);
        }
        Ok(Some(ExecutionRecord::from_fields(id, &fields)?))
    }
}

pub fn kv_key(key: &str) -> String {
    format!("{KV_PREFIX}{key}")
}

pub fn execution_key(id: &str) -> String {
    format!("{EXECUTION_PREFIX}{id}")
}

async fn bounded<T>(op: impl Future<Output = RedisResult<T>>) -> Result<T, StoreError> {
    match tokio::time::timeout(OP_TIMEOUT, op).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(error)) => Err(StoreError::from_redis(&error)),
        Err(_) => Err(StoreError::Timeout(OP_TIMEOUT)),
    }
}
