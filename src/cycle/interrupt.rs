//! SIGINT and SIGTERM, listened to for the whole life of a run or iterate: once tokio has
//! taken a signal over, nobody else handles it, so a listener that came and went with each
//! run would leave a signal between runs (while iterate proposes) silently ignored.

use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::watch;

/// The shell's convention for a process ended by a signal: 128 + its number.
pub const SIGINT_EXIT: u8 = 130;
pub const SIGTERM_EXIT: u8 = 143;

#[derive(Clone)]
pub struct Interrupt {
    rx: watch::Receiver<Option<u8>>,
}

impl Interrupt {
    pub fn listen() -> Interrupt {
        let (tx, rx) = watch::channel(None);
        tokio::spawn(async move {
            let Ok(mut term) = signal(SignalKind::terminate()) else {
                return;
            };
            let code = tokio::select! {
                _ = tokio::signal::ctrl_c() => SIGINT_EXIT,
                _ = term.recv() => SIGTERM_EXIT,
            };
            let _ = tx.send(Some(code));
        });
        Interrupt { rx }
    }

    /// The exit code of the signal received so far, if any.
    pub fn received(&self) -> Option<u8> {
        *self.rx.borrow()
    }

    /// Resolves with the exit code once a signal arrives (at once if one already did).
    pub async fn wait(&self) -> u8 {
        let mut rx = self.rx.clone();
        match rx.wait_for(Option::is_some).await {
            Ok(code) => code.unwrap_or(SIGTERM_EXIT),
            // The listener could not be installed: no signal will ever be reported.
            Err(_) => std::future::pending().await,
        }
    }
}
