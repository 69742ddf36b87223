//! The harness's side: one connection to the reaper for the life of the process, reopened
//! (and the reaper restarted) when it drops, so a killed reaper does not leave runs bare.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use super::auth::Secret;
use super::wire::{self, Challenge, PROTOCOL, Reply, Request};
use super::{Options, Reached, ReaperError, ensure};
use crate::engine::Docker;
use crate::owner::Session;

/// A just-started reaper's published port accepts before the reaper listens: retry that long.
const ANSWER_WAIT: Duration = Duration::from_secs(10);
const REPLY_WAIT: Duration = Duration::from_secs(5);
const RECONNECT_ATTEMPTS: usize = 10;

type Answer = oneshot::Sender<Result<(), ReaperError>>;

/// Held by a live harness; its runs are removed when the process dies without it.
/// Clones share the one connection.
#[derive(Clone)]
pub struct Guard {
    tx: mpsc::Sender<(Request, Answer)>,
    pub addr: SocketAddr,
}

impl std::fmt::Debug for Guard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Guard").field("addr", &self.addr).finish()
    }
}

impl Guard {
    pub async fn start(docker: &Docker, opts: &Options) -> Result<Guard, ReaperError> {
        let reached = ensure(docker, opts).await?;
        let addr = reached.addr;
        let conn = Conn::open(&reached, opts.grace).await?;
        let (tx, rx) = mpsc::channel(8);
        let keeper = Keeper {
            docker: docker.clone(),
            opts: opts.clone(),
            runs: Vec::new(),
        };
        tokio::spawn(keeper.keep(conn, rx));
        Ok(Guard { tx, addr })
    }

    /// Registers a run before anything of it exists on the engine; returns once the reaper
    /// has acknowledged it.
    pub async fn watch(&self, run: Uuid) -> Result<(), ReaperError> {
        self.ask(Request::Watch { run }).await
    }

    /// Registers anonymous volumes of a run's containers before a `down` orphans them;
    /// returns once the reaper has checked and acknowledged them. A reaper that replaces
    /// a killed one is not told again: by then the volumes may no longer be mounted.
    pub async fn orphans(&self, run: Uuid, volumes: &[String]) -> Result<(), ReaperError> {
        let volumes = volumes.to_vec();
        self.ask(Request::Orphans { run, volumes }).await
    }

    async fn ask(&self, request: Request) -> Result<(), ReaperError> {
        let (answer, answered) = oneshot::channel();
        self.tx
            .send((request, answer))
            .await
            .map_err(|_| lost(&self.addr))?;
        answered.await.map_err(|_| lost(&self.addr))?
    }
}

struct Conn {
    lines: Lines<BufReader<OwnedReadHalf>>,
    write: OwnedWriteHalf,
    addr: SocketAddr,
}

impl Conn {
    async fn open(reaper: &Reached, grace: Duration) -> Result<Conn, ReaperError> {
        let addr = reaper.addr;
        let deadline = Instant::now() + ANSWER_WAIT;
        loop {
            let problem = match Conn::try_open(reaper, grace).await {
                Ok(conn) => return Ok(conn),
                Err(Refused(problem)) => {
                    return Err(ReaperError::Unanswered {
                        addr: addr.to_string(),
                        problem,
                    });
                }
                Err(NotYet(problem)) => problem,
            };
            if Instant::now() >= deadline {
                return Err(ReaperError::Unanswered {
                    addr: addr.to_string(),
                    problem,
                });
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn try_open(reaper: &Reached, grace: Duration) -> Result<Conn, Attempt> {
        let stream = TcpStream::connect(reaper.addr)
            .await
            .map_err(|e| NotYet(e.to_string()))?;
        let (read, write) = stream.into_split();
        let mut conn = Conn {
            lines: BufReader::new(read).lines(),
            write,
            addr: reaper.addr,
        };
        let challenge = conn.read_line().await?;
        let Ok(Challenge {
            protocol: PROTOCOL,
            nonce,
        }) = serde_json::from_str(&challenge)
        else {
            return Err(Refused(format!(
                "not a protocol {PROTOCOL} reaper's challenge: {challenge}"
            )));
        };
        conn.ask(&hello(&reaper.secret, &nonce, grace)).await?;
        Ok(conn)
    }

    async fn read_line(&mut self) -> Result<String, Attempt> {
        tokio::time::timeout(REPLY_WAIT, self.lines.next_line())
            .await
            .map_err(|_| NotYet(format!("no reply within {}s", REPLY_WAIT.as_secs())))?
            .map_err(|e| NotYet(e.to_string()))?
            .ok_or_else(|| NotYet("closed before replying".into()))
    }

    async fn ask(&mut self, request: &Request) -> Result<(), Attempt> {
        self.write
            .write_all(wire::line(request).as_bytes())
            .await
            .map_err(|e| NotYet(e.to_string()))?;
        let line = self.read_line().await?;
        match serde_json::from_str::<Reply>(&line) {
            Ok(Reply { ok: true, .. }) => Ok(()),
            Ok(Reply { error, .. }) => Err(Refused(error.unwrap_or_default())),
            Err(_) => Err(Refused(format!("not a reaper reply: {line}"))),
        }
    }
}

/// Why an attempt to talk to the reaper failed: worth retrying, or a definite no.
enum Attempt {
    NotYet(String),
    Refused(String),
}
use Attempt::{NotYet, Refused};

/// This process's hello: its session's key, proved with the secret over the nonce.
fn hello(secret: &Secret, nonce: &str, grace: Duration) -> Request {
    let session_key = Session::current().key.clone();
    let grace_ms = grace.as_millis() as u64;
    Request::Hello {
        protocol: PROTOCOL,
        proof: secret.proof(nonce, &session_key, grace_ms),
        session_key,
        grace_ms,
    }
}

struct Keeper {
    docker: Docker,
    opts: Options,
    runs: Vec<Uuid>,
}

impl Keeper {
    async fn keep(mut self, conn: Conn, mut rx: mpsc::Receiver<(Request, Answer)>) {
        let mut conn = Some(conn);
        loop {
            let Some(live) = conn.as_mut() else {
                conn = self.reopen().await;
                if conn.is_none() {
                    // Nothing more to keep: watch() now reports the loss to its caller.
                    return;
                }
                continue;
            };
            tokio::select! {
                asked = rx.recv() => {
                    // The harness is done with the guard: dropping the connection lets the
                    // reaper's grace period run out on runs that are already cleaned up.
                    let Some((request, answer)) = asked else { return };
                    if let Request::Watch { run } = request {
                        self.runs.push(run);
                    }
                    match live.ask(&request).await {
                        Ok(()) => {
                            let _ = answer.send(Ok(()));
                        }
                        // The reaper's considered no to these volumes: a new connection
                        // would hear the same.
                        Err(Refused(problem)) if matches!(request, Request::Orphans { .. }) => {
                            let addr = live.addr.to_string();
                            let _ = answer.send(Err(ReaperError::Refused { addr, problem }));
                        }
                        Err(NotYet(_) | Refused(_)) => {
                            conn = self.reopen().await;
                            let _ = answer.send(match conn {
                                Some(_) => Ok(()),
                                None => Err(lost(&self.opts.name)),
                            });
                        }
                    }
                }
                // The reaper never speaks first: anything here means it went away.
                _ = live.lines.next_line() => {
                    tracing::warn!(addr = %live.addr, "lost the connection to the reaper; reopening it");
                    conn = None;
                }
            }
        }
    }

    /// A new connection (starting a new reaper if the old one died), with every run
    /// watched again.
    async fn reopen(&self) -> Option<Conn> {
        for attempt in 1..=RECONNECT_ATTEMPTS {
            match self.try_reopen().await {
                Ok(conn) => {
                    tracing::info!(addr = %conn.addr, attempt, "reconnected to the reaper");
                    return Some(conn);
                }
                Err(e) => tracing::warn!(attempt, error = %e, "cannot reach the reaper"),
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        tracing::error!(
            "the reaper is unreachable: if this harness is killed, only `harness gc` will clean up after it"
        );
        None
    }

    async fn try_reopen(&self) -> Result<Conn, ReaperError> {
        let reached = ensure(&self.docker, &self.opts).await?;
        let addr = reached.addr;
        let mut conn = Conn::open(&reached, self.opts.grace).await?;
        for run in &self.runs {
            conn.ask(&Request::Watch { run: *run }).await.map_err(
                |(NotYet(problem) | Refused(problem))| ReaperError::Unanswered {
                    addr: addr.to_string(),
                    problem,
                },
            )?;
        }
        Ok(conn)
    }
}

/// The keeper gave up on the reaper: the run goes ahead unwatched.
fn lost(reaper: &impl std::fmt::Display) -> ReaperError {
    ReaperError::Unanswered {
        addr: reaper.to_string(),
        problem: "the connection to the reaper is lost and could not be reopened".into(),
    }
}
