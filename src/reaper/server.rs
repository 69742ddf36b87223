//! The reaper's side: who may connect (a proof of the secret), sessions, their grace
//! periods, and the removal of a gone session's runs — only objects labelled with that
//! session, and the anonymous volumes its runs' containers were seen to mount.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use uuid::Uuid;

use super::ReaperError;
use super::auth::{self, Secret};
use super::wire::{self, Challenge, PROTOCOL, Reply, Request};
use crate::engine::{self, Docker, LABEL_RUN, LABEL_SESSION};
use crate::owner::session_id;

/// A client that has not proved itself within this long is dropped, so unauthenticated
/// connections cannot pile up.
const HELLO_WAIT: Duration = Duration::from_secs(5);

/// A session's id: derived from the key only its harness holds.
type SessionId = String;
/// Removal is retried this often: a `compose up` the dead harness started may still be
/// creating objects when the first pass runs.
const REAP_PASSES: usize = 10;
const REAP_PAUSE: Duration = Duration::from_secs(1);

/// Why a connection was turned away; its text is the refusal the client is sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
enum Refusal {
    #[error("session {0} was away longer than its grace period and its runs are being removed")]
    Reaping(SessionId),
    #[error("the proof of the reaper's secret is wrong")]
    WrongProof,
    #[error("this reaper speaks protocol {PROTOCOL}, the client {0}")]
    Protocol(u32),
    #[error("the first line must be a hello with a proof of the reaper's secret")]
    NoHello,
    #[error("a grace of {0} ms is longer than the reaper keeps a session's runs (a day)")]
    Grace(u64),
}

#[derive(Default)]
struct Session {
    runs: BTreeSet<Uuid>,
    /// Anonymous volumes of those runs, removed with them: they carry no label.
    orphans: BTreeMap<Uuid, BTreeSet<String>>,
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
    sessions: HashMap<SessionId, Session>,
    quiet_since: Instant,
}

impl State {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panicked connection task cannot leave the map half-updated in a way that
        // matters more than losing the reaper, so a poisoned lock is still used.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn attach(&self, session: &str, grace: Duration) -> Result<(), Refusal> {
        let mut inner = self.lock();
        let s = inner.sessions.entry(session.to_string()).or_default();
        if s.reaping {
            return Err(Refusal::Reaping(session.to_string()));
        }
        s.grace = grace;
        s.connections += 1;
        s.generation += 1;
        Ok(())
    }

    fn watch(&self, session: &str, run: Uuid) {
        if let Some(s) = self.lock().sessions.get_mut(session) {
            s.runs.insert(run);
        }
    }

    fn orphans(&self, session: &str, run: Uuid, volumes: &[String]) {
        if let Some(s) = self.lock().sessions.get_mut(session) {
            s.runs.insert(run);
            s.orphans
                .entry(run)
                .or_default()
                .extend(volumes.iter().cloned());
        }
    }

    /// The session's last connection closed: when to reap, and which generation to expect.
    fn detach(&self, session: &str) -> Option<(Duration, u64)> {
        let mut inner = self.lock();
        let s = inner.sessions.get_mut(session)?;
        s.connections = s.connections.saturating_sub(1);
        (s.connections == 0).then_some((s.grace, s.generation))
    }

    /// The runs to remove, and their orphaned volumes, if the session stayed away for its
    /// whole grace period.
    fn due(&self, session: &str, generation: u64) -> Option<Due> {
        let mut inner = self.lock();
        let s = inner.sessions.get_mut(session)?;
        if s.connections > 0 || s.generation != generation {
            return None;
        }
        s.reaping = true;
        Some(Due {
            runs: s.runs.iter().copied().collect(),
            volumes: s.orphans.values().flatten().cloned().collect(),
        })
    }

    fn forget(&self, session: &str) {
        let mut inner = self.lock();
        inner.sessions.remove(session);
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

/// What a gone session leaves to remove.
#[derive(Debug, PartialEq)]
struct Due {
    runs: Vec<Uuid>,
    volumes: Vec<String>,
}

/// Serves until no harness has been connected (and nothing is pending) for `idle`; admits
/// only clients that prove they know `secret`.
pub async fn serve(addr: &str, idle: Duration, secret: Secret) -> Result<(), ReaperError> {
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
    let secret = Arc::new(secret);
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let conn = connection(stream, peer.to_string(), state.clone(), docker.clone(), secret.clone());
                    tokio::spawn(conn);
                }
                Err(e) => tracing::warn!(error = %e, "accept failed"),
            },
            _ = tick.tick() => {
                if state.idle_for().is_some_and(|d| d >= idle) {
                    tracing::info!("no harness connected for {}s: exiting", idle.as_secs());
                    super::container::leave_own_network(&docker).await;
                    return Ok(());
                }
            }
        }
    }
}

async fn connection(
    stream: TcpStream,
    peer: String,
    state: State,
    docker: Docker,
    secret: Arc<Secret>,
) {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read).lines();
    let Some(session) = greet(&mut lines, &mut write, &peer, &state, &secret).await else {
        return;
    };
    tracing::info!(%session, %peer, "harness connected");
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
                state.watch(&session, run);
                tracing::info!(%session, %run, "watching");
                Reply::ok()
            }
            Ok(Request::Orphans { run, volumes }) => {
                match mounted_by(&docker, &session, run, &volumes).await {
                    Ok(()) => {
                        state.orphans(&session, run, &volumes);
                        tracing::info!(%session, %run, ?volumes, "watching anonymous volumes");
                        Reply::ok()
                    }
                    Err(why) => {
                        tracing::warn!(%session, %run, ?volumes, reason = %why, "refused volumes");
                        Reply::refuse(why)
                    }
                }
            }
            _ => Reply::refuse("not a request"),
        };
        open = write.write_all(wire::line(&reply).as_bytes()).await.is_ok();
    }
    let Some((grace, generation)) = state.detach(&session) else {
        return;
    };
    tracing::info!(%session, grace_ms = grace.as_millis() as u64, "harness gone");
    tokio::time::sleep(grace).await;
    if let Some(due) = state.due(&session, generation) {
        reap(&docker, &session, &due).await;
        state.forget(&session);
    }
}

/// Whether a client may have these volumes removed with its run: each one anonymous and
/// mounted now by a container of that run in the client's own session. A named volume,
/// or one only another session's container mounts, is refused — the text says which.
async fn mounted_by(
    docker: &Docker,
    session: &str,
    run: Uuid,
    volumes: &[String],
) -> Result<(), String> {
    if let Some(named) = volumes.iter().find(|v| !engine::is_anonymous_volume(v)) {
        return Err(format!("`{named}` is not an anonymous volume"));
    }
    let run_text = run.to_string();
    let labels = [(LABEL_RUN, run_text.as_str()), (LABEL_SESSION, session)];
    let mounted = docker
        .volumes_mounted_where(&labels)
        .await
        .map_err(|e| format!("cannot list the run's containers: {e}"))?;
    match volumes.iter().find(|v| !mounted.contains(*v)) {
        Some(other) => Err(format!(
            "`{other}` is not mounted by a container of run {run} in this session"
        )),
        None => Ok(()),
    }
}

/// Challenge, hello, proof: the attached session, or `None` after a refusal (logged).
async fn greet(
    lines: &mut Lines<BufReader<OwnedReadHalf>>,
    write: &mut OwnedWriteHalf,
    peer: &str,
    state: &State,
    secret: &Secret,
) -> Option<SessionId> {
    let nonce = match auth::nonce() {
        Ok(nonce) => nonce,
        Err(e) => {
            tracing::error!(error = %e, "no nonce for a connection");
            return None;
        }
    };
    let challenge = Challenge {
        protocol: PROTOCOL,
        nonce: nonce.clone(),
    };
    write
        .write_all(wire::line(&challenge).as_bytes())
        .await
        .ok()?;
    let first = match tokio::time::timeout(HELLO_WAIT, lines.next_line()).await {
        Ok(Ok(Some(first))) => first,
        _ => {
            tracing::warn!(%peer, "refused a connection: no hello within {}s", HELLO_WAIT.as_secs());
            return None;
        }
    };
    let admitted = admit(&first, &nonce, secret).and_then(|(session, grace)| {
        state.attach(&session, grace)?;
        Ok(session)
    });
    match admitted {
        Ok(session) => Some(session),
        Err(refusal) => {
            tracing::warn!(%peer, reason = %refusal, "refused a connection");
            let _ = write
                .write_all(wire::line(&Reply::refuse(refusal.to_string())).as_bytes())
                .await;
            None
        }
    }
}

/// A hello checked against this connection's nonce and the secret: its session and grace.
fn admit(line: &str, nonce: &str, secret: &Secret) -> Result<(SessionId, Duration), Refusal> {
    match serde_json::from_str::<Request>(line) {
        Ok(Request::Hello {
            protocol: PROTOCOL,
            session_key,
            grace_ms,
            proof,
        }) => {
            if !secret.verify(nonce, &session_key, grace_ms, &proof) {
                return Err(Refusal::WrongProof);
            }
            let grace = wire::grace(grace_ms).ok_or(Refusal::Grace(grace_ms))?;
            Ok((session_id(&session_key), grace))
        }
        Ok(Request::Hello { protocol, .. }) => Err(Refusal::Protocol(protocol)),
        _ => Err(Refusal::NoHello),
    }
}

/// Removes every run's objects, then their orphaned volumes, passing again until one pass
/// finds nothing left.
async fn reap(docker: &Docker, session: &str, due: &Due) {
    let runs = &due.runs;
    for pass in 1..=REAP_PASSES {
        let mut left = 0;
        for run in runs {
            match crate::gc::remove_session_run(docker, &run.to_string(), session).await {
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
        // After the containers: a volume goes only once nothing mounts it.
        if let Err(e) = docker.remove_volumes(&due.volumes).await {
            left += 1;
            tracing::warn!(%session, pass, error = %e, "an orphaned volume stays; retrying");
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
        let session = Uuid::new_v4().to_string();
        let run = Uuid::new_v4();
        s.attach(&session, Duration::from_secs(10)).unwrap();
        s.watch(&session, run);
        let (_, generation) = s.detach(&session).unwrap();
        s.attach(&session, Duration::from_secs(10)).unwrap();
        assert_eq!(s.due(&session, generation), None, "it reconnected");
        let (_, generation) = s.detach(&session).unwrap();
        let due = Due {
            runs: vec![run],
            volumes: vec![],
        };
        assert_eq!(s.due(&session, generation), Some(due));
        assert!(
            s.attach(&session, Duration::from_secs(10)).is_err(),
            "a session being reaped cannot come back and lose objects it still uses"
        );
    }

    #[test]
    fn one_of_two_connections_closing_does_not_start_the_grace_period() {
        let s = state();
        let session = Uuid::new_v4().to_string();
        s.attach(&session, Duration::from_secs(1)).unwrap();
        s.attach(&session, Duration::from_secs(1)).unwrap();
        assert_eq!(s.detach(&session), None);
        assert!(s.detach(&session).is_some());
    }

    #[test]
    fn idle_only_with_no_session_at_all() {
        let s = state();
        let session = Uuid::new_v4().to_string();
        s.attach(&session, Duration::from_secs(1)).unwrap();
        assert_eq!(s.idle_for(), None);
        s.detach(&session);
        assert_eq!(
            s.idle_for(),
            None,
            "a pending grace period keeps the reaper up"
        );
        s.forget(&session);
        assert!(s.idle_for().is_some());
    }

    #[test]
    fn only_a_proof_of_the_secret_for_this_nonce_admits() {
        let secret = Secret::generate().unwrap();
        let hello = |proof: &str| {
            wire::line(&Request::Hello {
                protocol: PROTOCOL,
                session_key: "key".into(),
                grace_ms: 1000,
                proof: proof.into(),
            })
        };
        let good = secret.proof("n", "key", 1000);
        let (session, grace) = admit(&hello(&good), "n", &secret).unwrap();
        assert_eq!(
            session,
            session_id("key"),
            "the session is the key's, not the client's word"
        );
        assert_eq!(grace, Duration::from_secs(1));
        assert!(admit(&hello(""), "n", &secret).is_err(), "no proof");
        let wrong = Secret::generate().unwrap().proof("n", "key", 1000);
        assert!(admit(&hello(&wrong), "n", &secret).is_err(), "wrong secret");
        assert!(admit(&hello(&good), "m", &secret).is_err(), "replayed");
        let v1 = r#"{"hello":{"protocol":1,"session":"5c1c8f4e-9a43-4c50-9d59-6d7b8b1d2f3a","grace_ms":1}}"#;
        assert!(admit(v1, "n", &secret).is_err(), "an old harness's hello");
    }

    #[test]
    fn a_grace_longer_than_a_day_is_refused_even_with_a_good_proof() {
        let secret = Secret::generate().unwrap();
        let hello = |grace_ms: u64| {
            let proof = secret.proof("n", "key", grace_ms);
            let line = wire::line(&Request::Hello {
                protocol: PROTOCOL,
                session_key: "key".into(),
                grace_ms,
                proof,
            });
            admit(&line, "n", &secret).map(|(_, grace)| grace)
        };
        let day = wire::MAX_GRACE.as_millis() as u64;
        assert_eq!(hello(day), Ok(wire::MAX_GRACE));
        assert_eq!(hello(day + 1), Err(Refusal::Grace(day + 1)));
        assert_eq!(hello(u64::MAX), Err(Refusal::Grace(u64::MAX)));
    }
}
