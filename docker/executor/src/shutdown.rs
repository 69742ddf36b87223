//! Shutdown coordination: OS signals in, one broadcast "stop" out, and a
//! count of WebSocket sessions that must drain before the process exits.

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::signal::unix::{Signal, SignalKind, signal};
use tokio::sync::{Notify, watch};

/// SIGTERM/SIGINT handlers. As PID 1 in a container the kernel applies no
/// default action for these, so without handlers `docker stop` would wait
/// for its timeout and then SIGKILL us.
pub struct Signals {
    term: Signal,
    int: Signal,
}

impl Signals {
    /// Must run inside a Tokio runtime.
    pub fn install() -> io::Result<Self> {
        Ok(Self {
            term: signal(SignalKind::terminate())?,
            int: signal(SignalKind::interrupt())?,
        })
    }

    pub async fn recv(mut self) {
        let name = tokio::select! {
            _ = self.term.recv() => "SIGTERM",
            _ = self.int.recv() => "SIGINT",
        };
        tracing::info!(signal = name, "received signal");
    }
}

/// Fires the shutdown for every [`ShutdownSignal`] made by [`channel`].
#[derive(Debug)]
pub struct Trigger(watch::Sender<bool>);

impl Trigger {
    pub fn fire(&self) {
        self.0.send_replace(true);
    }
}

#[derive(Debug, Clone)]
pub struct ShutdownSignal(watch::Receiver<bool>);

impl ShutdownSignal {
    /// Also returns when the trigger is dropped, so a lost trigger cannot
    /// leave tasks waiting forever.
    pub async fn wait(&mut self) {
        let _ = self.0.wait_for(|stop| *stop).await;
    }

    pub async fn wait_owned(mut self) {
        self.wait().await;
    }
}

pub fn channel() -> (Trigger, ShutdownSignal) {
    let (tx, rx) = watch::channel(false);
    (Trigger(tx), ShutdownSignal(rx))
}

/// Axum hands upgraded WebSocket connections to detached tasks, so its own
/// graceful shutdown does not wait for them; this counter does.
#[derive(Debug, Clone, Default)]
pub struct SessionTracker(Arc<TrackerInner>);

#[derive(Debug, Default)]
struct TrackerInner {
    active: AtomicUsize,
    idle: Notify,
}

#[derive(Debug)]
pub struct SessionGuard(Arc<TrackerInner>);

impl SessionTracker {
    pub fn track(&self) -> SessionGuard {
        self.0.active.fetch_add(1, Ordering::SeqCst);
        SessionGuard(Arc::clone(&self.0))
    }

    pub fn active(&self) -> usize {
        self.0.active.load(Ordering::SeqCst)
    }

    pub async fn wait_idle(&self) {
        loop {
            let notified = self.0.idle.notified();
            tokio::pin!(notified);
            // Registering before the check closes the window where the last
            // guard drops between the load and the await.
            notified.as_mut().enable();
            if self.active() == 0 {
                return;
            }
            notified.await;
        }
    }
}

impl Drop for SessionGuard {
    fn drop(&mut self) {
        if self.0.active.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.0.idle.notify_waiters();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn tracker_waits_for_last_guard() {
        let tracker = SessionTracker::default();
        let first = tracker.track();
        let second = tracker.track();
        let waiter = tokio::spawn({
            let tracker = tracker.clone();
            async move { tracker.wait_idle().await }
        });
        drop(first);
        assert!(!waiter.is_finished());
        drop(second);
        tokio::time::timeout(Duration::from_secs(2), waiter)
            .await
            .unwrap()
            .unwrap();
    }

    #[tokio::test]
    async fn signal_fires_for_every_clone_and_on_drop() {
        let (trigger, signal) = channel();
        let mut other = signal.clone();
        trigger.fire();
        tokio::time::timeout(Duration::from_secs(2), other.wait())
            .await
            .unwrap();
        let (trigger, signal) = channel();
        drop(trigger);
        tokio::time::timeout(Duration::from_secs(2), signal.wait_owned())
            .await
            .unwrap();
    }
}
