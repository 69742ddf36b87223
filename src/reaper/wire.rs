//! What harness and reaper say to each other: one JSON object per line. The reaper speaks
//! first, with a challenge; the harness's hello answers it with a proof of the secret.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Bumped when a message changes: an old reaper and a new harness refuse each other. It
/// is also in the reaper's image tag and container name, so they never meet at all.
pub const PROTOCOL: u32 = 3;

/// The reaper's first line on every connection.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Challenge {
    pub protocol: u32,
    /// Fresh per connection: a proof made for one nonce is refused on every other.
    pub nonce: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "snake_case")]
pub enum Request {
    /// The harness's first line; a reconnecting harness sends its session again. The
    /// session's id (on the run's objects) is derived from `session_key`, which only its
    /// harness knows, so no client can speak for another's session.
    Hello {
        protocol: u32,
        session_key: String,
        grace_ms: u64,
        /// HMAC-SHA256 of the challenge's nonce and these fields under the reaper's secret.
        proof: String,
    },
    /// Remove this run's objects if the session's harness goes away.
    Watch { run: Uuid },
    /// Anonymous volumes the run's containers mount now and a `down` without -v is about
    /// to orphan: they carry no label, so only their names can find them afterwards.
    /// Refused unless every one is anonymous and mounted by a container of the run in
    /// this session, so no client can have another's volumes removed.
    Orphans { run: Uuid, volumes: Vec<String> },
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Reply {
    pub ok: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Reply {
    pub fn ok() -> Reply {
        Reply {
            ok: true,
            error: None,
        }
    }

    pub fn refuse(error: impl Into<String>) -> Reply {
        Reply {
            ok: false,
            error: Some(error.into()),
        }
    }
}

pub fn line<T: Serialize>(message: &T) -> String {
    let mut text = serde_json::to_string(message).unwrap_or_default();
    text.push('\n');
    text
}

/// The longest grace a session may ask for. A session's pending grace keeps the reaper
/// up, so an unbounded one (a client's `u64::MAX`) would keep it up for ever.
pub const MAX_GRACE: Duration = Duration::from_secs(24 * 60 * 60);

/// The grace asked for, if within [`MAX_GRACE`].
pub fn grace(grace_ms: u64) -> Option<Duration> {
    Some(Duration::from_millis(grace_ms)).filter(|g| *g <= MAX_GRACE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_round_trip_as_single_lines() {
        let hello = Request::Hello {
            protocol: PROTOCOL,
            session_key: "k".into(),
            grace_ms: 10_000,
            proof: "p".into(),
        };
        let text = line(&hello);
        assert_eq!(text.matches('\n').count(), 1, "{text}");
        assert_eq!(serde_json::from_str::<Request>(&text).unwrap(), hello);
        let refused = line(&Reply::refuse("protocol 2"));
        assert_eq!(
            serde_json::from_str::<Reply>(&refused)
                .unwrap()
                .error
                .as_deref(),
            Some("protocol 2")
        );
    }
}
