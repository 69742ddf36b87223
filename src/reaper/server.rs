//! The reaper's side: sessions, their grace periods, and the removal of a gone session's runs.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use uuid::Uuid;

use super::ReaperError;
use super::wire::{self, PROTOCOL, Reply, Request};
use crate::engine::Docker;

/// Removal is retried this often: a `compose up` the dead harness started may still be
/// creating objects when the first pass runs.
const REAP_PASSES: usize = 10;
const REAP_PAUSE: Duration = Duration::from_secs(1);

#[derive(Default)]
struct Session {
    runs: BTreeSet<Uuid>,
    grace: Duration,
    connections: usize,
    /// Bumped on every connect, so a grace timer knows whether the session came back.
    generation: u64,
    reaping: bool,
}

#[derive(Clone)]
struct State {
    inner: Arc<Mutex<Inner>>,
}

struct Inner {
    sessions: HashMap<Uuid, Session>,
    quiet_since: Instant,
}

impl State {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panicked connection task cannot leave the map half-updated in a way that
        // matters more than losing the reaper, so a poisoned lock is still used.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn attach(&self, session: Uuid, grace: Duration) -> Result<(), String> {
        let mut inner = self.lock();
        let s = inner.sessions.entry(session).or_default();
        if s.reaping {
            return Err(format!(
                "session {session} was away longer than its grace period and its runs are being removed"
            ));
        }
        s.grace = grace;
        s.connections += 1;
        s.generation += 1;
        Ok(())
    }

    fn watch(&self, session: Uuid, run: Uuid) {
        if let Some(s) = self.lock().sessions.get_mut(&session) {
            s.runs.insert(run);
        }
    }

    /// The session's last connection closed: when to reap, and which generation to expect.
    fn detach(&self, session: Uuid) -> Option<(Duration, u64)> {
        let mut inner = self.lock();
        let s = inner.sessions.get_mut(&session)?;
        s.connections = s.connections.saturating_sub(1);
        (s.connections == 0).then_some((s.grace, s.generation))
    }

    /// The runs to remove, if the session stayed away for its whole grace period.
    fn due(&self, session: Uuid, generation: u64) -> Option<Vec<Uuid>> {
        let mut inner = self.lock();
        let s = inner.sessions.get_mut(&session)?;
        if s.connections > 0 || s.generation != generation {
            return None;
        }
        s.reaping = true;
        Some(s.runs.iter().copied().collect())
    }

    fn forget(&self, session: Uuid) {
        let mut inner = self.lock();
        inner.sessions.remove(&session);
        inner.quiet_since = Instant::now();
    }

    fn idle_for(&self) -> Option<Duration> {
        let inner = self.lock();
        inner
            .sessions
            .is_empty()
            .then(|| inner.quiet_since.elapsed())
    }
}

/// Serves until no harness has been connected (and nothing is pending) for `idle`.
pub async fn serve(addr: &str, idle: Duration) -> Result<(), ReaperError> {
    let docker = Docker::connect().await?;
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| ReaperError::Listen {
            addr: addr.to_string(),
            source,
        })?;
    tracing::info!(%addr, idle_s = idle.as_secs(), "reaper listening");
    let state = State {
        inner: Arc::new(Mutex::new(Inner {
            sessions: HashMap::new(),
            quiet_since: Instant::now(),
        })),
    };
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    tokio::spawn(connection(stream, state.clone(), docker.clone()));
                }
                Err(e) => tracing::warn!(error = %e, "accept failed"),
            },
            _ = tick.tick() => {
                if state.idle_for().is_some_and(|d| d >= idle) {
                    tracing::info!("no harness connected for {}s: exiting", idle.as_secs());
                    return Ok(());
                }
            }
        }
    }
}

async fn connection(stream: TcpStream, state: State, docker: Docker) {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read).lines();
    let Ok(Some(first)) = lines.next_line().await else {
        return;
    };
    let session = match serde_json::from_str::<Request>(&first) {
        Ok(Request::Hello {
            protocol: PROTOCOL,
            session,
            grace_ms,
        }) => match state.attach(session, wire::grace(grace_ms)) {
            Ok(()) => session,
            Err(refusal) => {
                let _ = write
                    .write_all(wire::line(&Reply::refuse(refusal)).as_bytes())
                    .await;
                return;
            }
        },
        Ok(Request::Hello { protocol, .. }) => {
            let refusal = format!("this reaper speaks protocol {PROTOCOL}, the harness {protocol}");
            let _ = write
                .write_all(wire::line(&Reply::refuse(refusal)).as_bytes())
                .await;
            return;
        }
        _ => {
            let _ = write
                .write_all(wire::line(&Reply::refuse("the first line must be a hello")).as_bytes())
                .await;
            return;
        }
    };
    tracing::info!(%session, "harness connected");
    let mut open = write
        .write_all(wire::line(&Reply::ok()).as_bytes())
        .await
        .is_ok();
    while open {
        let Ok(Some(text)) = lines.next_line().await else {
            break;
        };
        let reply = match serde_json::from_str::<Request>(&text) {
            Ok(Request::Watch { run }) => {
                state.watch(session, run);
                tracing::info!(%session, %run, "watching");
                Reply::ok()
            }
            _ => Reply::refuse(format!("not a request: {text}")),
        };
        open = write.write_all(wire::line(&reply).as_bytes()).await.is_ok();
    }
    let Some((grace, generation)) = state.detach(session) else {
        return;
    };
    tracing::info!(%session, grace_ms = grace.as_millis() as u64, "harness gone");
    tokio::time::sleep(grace).await;
    if let Some(runs) = state.due(session, generation) {
        reap(&docker, session, &runs).await;
        state.forget(session);
    }
}

/// Removes every run's objects, passing again until one pass finds nothing left.
async fn reap(docker: &Docker, session: Uuid, runs: &[Uuid]) {
    for pass in 1..=REAP_PASSES {
        let mut left = 0;
        for run in runs {
            match crate::gc::remove_run(docker, &run.to_string(), false).await {
                Ok(removed) if !removed.is_empty() => {
                    left += 1;
                    tracing::info!(%session, %run, pass, ?removed, "removed");
                }
                Ok(_) => {}
                Err(e) => {
                    left += 1;
                    tracing::warn!(%session, %run, pass, error = %e, "removal failed; retrying");
                }
            }
        }
        if left == 0 {
            tracing::info!(%session, runs = runs.len(), pass, "nothing of the session's runs is left");
            return;
        }
        tokio::time::sleep(REAP_PAUSE).await;
    }
    tracing::warn!(%session, "objects remained after {REAP_PASSES} passes; `harness gc` will find them");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state() -> State {
        State {
            inner: Arc::new(Mutex::new(Inner {
                sessions: HashMap::new(),
                quiet_since: Instant::now(),
            })),
        }
    }

    #[test]
    fn a_session_that_comes_back_within_grace_is_not_reaped() {
        let s = state();
        let session = Uuid::new_v4();
        let run = Uuid::new_v4();
        s.attach(session, Duration::from_secs(10)).unwrap();
        s.watch(session, run);
        let (_, generation) = s.detach(session).unwrap();
        s.attach(session, Duration::from_secs(10)).unwrap();
        assert_eq!(s.due(session, generation), None, "it reconnected");
        let (_, generation) = s.detach(session).unwrap();
        assert_eq!(s.due(session, generation), Some(vec![run]));
        assert!(
            s.attach(session, Duration::from_secs(10)).is_err(),
            "a session being reaped cannot come back and lose objects it still uses"
        );
    }

    #[test]
    fn one_of_two_connections_closing_does_not_start_the_grace_period() {
        let s = state();
        let session = Uuid::new_v4();
        s.attach(session, Duration::from_secs(1)).unwrap();
        s.attach(session, Duration::from_secs(1)).unwrap();
        assert_eq!(s.detach(session), None);
        assert!(s.detach(session).is_some());
    }

    #[test]
    fn idle_only_with_no_session_at_all() {
        let s = state();
        let session = Uuid::new_v4();
        s.attach(session, Duration::from_secs(1)).unwrap();
        assert_eq!(s.idle_for(), None);
        s.detach(session);
        assert_eq!(
            s.idle_for(),
            None,
            "a pending grace period keeps the reaper up"
        );
        s.forget(session);
        assert!(s.idle_for().is_some());
    }
}
