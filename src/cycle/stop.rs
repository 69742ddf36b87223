//! How the runs of a version still in flight learn that another run of it decided the
//! version first (it failed, graduated it, or hit a harness fault).

use tokio::sync::watch;
use uuid::Uuid;

use crate::run::recorder::Cut;

/// The run that decided the version, and how, in words: "run … of v3 failed first".
#[derive(Debug, Clone)]
pub struct Stop {
    pub by: Uuid,
    pub why: String,
}

impl From<Stop> for Cut {
    fn from(stop: Stop) -> Cut {
        Cut::Stopped {
            by: stop.by,
            why: stop.why,
        }
    }
}

/// One per version: every run of the version listens to it.
pub struct Stopper(watch::Sender<Option<Stop>>);

impl Stopper {
    pub fn new() -> Stopper {
        Stopper(watch::channel(None).0)
    }

    pub fn signal(&self) -> StopSignal {
        StopSignal(self.0.subscribe())
    }

    /// The first stop stands: a later one would name a run that did not decide the version.
    pub fn stop(&self, stop: Stop) {
        self.0.send_if_modified(|current| {
            let first = current.is_none();
            if first {
                *current = Some(stop);
            }
            first
        });
    }
}

#[derive(Clone)]
pub struct StopSignal(watch::Receiver<Option<Stop>>);

impl StopSignal {
    /// A run nothing else can decide for (`harness run`).
    pub fn never() -> StopSignal {
        StopSignal(watch::channel(None).1)
    }

    /// Resolves once another run stopped the version; never for a run alone.
    pub async fn wait(&self) -> Stop {
        let mut rx = self.0.clone();
        // Cloned out at once: the borrow holds the channel's lock.
        let stop = match rx.wait_for(Option::is_some).await {
            Ok(stop) => stop.clone(),
            Err(_) => None,
        };
        match stop {
            Some(stop) => stop,
            None => std::future::pending().await,
        }
    }
}
