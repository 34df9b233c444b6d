//! What the accept loop does when `accept` fails: never crash, never spin, never flood the log.
//! Running out of file descriptors is answered by closing the oldest idle connection and
//! waiting a moment; the error is logged at most once a second, with a count of the rest.

use super::registry::Registry;
use rustix::io::Errno;
use std::io;
use std::time::Duration;
use tokio::time::Instant;

/// Long enough for a freed descriptor to be released, short enough that a waiting `/healthz`
/// is still answered well within a second.
const BACK_OFF: Duration = Duration::from_millis(20);
const LOG_EVERY: Duration = Duration::from_secs(1);

#[derive(Default)]
pub struct AcceptErrors {
    last_logged: Option<Instant>,
    unlogged: u64,
}

impl AcceptErrors {
    /// Handles one failed `accept`; returns once the loop may try again.
    pub async fn handle(&mut self, error: &io::Error, registry: &Registry) {
        if is_about_one_connection(error) {
            // The client gave up while queued; the listener is fine.
            return;
        }
        if is_out_of_descriptors(error) {
            registry.evict_oldest_idle();
        }
        self.log(error);
        tokio::time::sleep(BACK_OFF).await;
    }

    fn log(&mut self, error: &io::Error) {
        let now = Instant::now();
        match self.last_logged {
            Some(at) if now.duration_since(at) < LOG_EVERY => self.unlogged += 1,
            _ => {
                tracing::warn!(%error, also_failed = self.unlogged, "accepting a connection failed");
                self.last_logged = Some(now);
                self.unlogged = 0;
            }
        }
    }
}

fn is_about_one_connection(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::Interrupted
    )
}

fn is_out_of_descriptors(error: &io::Error) -> bool {
    matches!(
        Errno::from_io_error(error),
        Some(Errno::MFILE | Errno::NFILE | Errno::NOBUFS | Errno::NOMEM)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn running_out_of_descriptors_is_recognised() {
        let emfile = io::Error::from_raw_os_error(Errno::MFILE.raw_os_error());
        assert!(is_out_of_descriptors(&emfile));
        assert!(!is_about_one_connection(&emfile));
        let aborted = io::Error::from(io::ErrorKind::ConnectionAborted);
        assert!(is_about_one_connection(&aborted));
        assert!(!is_out_of_descriptors(&aborted));
    }
}
