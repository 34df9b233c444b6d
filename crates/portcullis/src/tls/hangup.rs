//! SIGHUP re-reads the certificate and key from the same files, as nginx and HAProxy do, so a
//! renewed certificate is served without a restart: new handshakes get it, open connections
//! keep theirs. A reload that fails is logged (the error names the file, never its contents)
//! and the previous certificate stays.

use super::current::CurrentCertificate;
use std::sync::Arc;
use tokio::signal::unix::{signal, SignalKind};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Starts reloading `certificate` on every SIGHUP until `stop` is cancelled. The handler is
/// installed before this returns, so a SIGHUP that comes once the server is up never takes
/// the signal's default action (ending the process).
pub fn reload_on_hangup(
    certificate: Arc<CurrentCertificate>,
    stop: CancellationToken,
) -> std::io::Result<JoinHandle<()>> {
    let mut hangups = signal(SignalKind::hangup())?;
    Ok(tokio::spawn(async move {
        loop {
            tokio::select! {
                () = stop.cancelled() => return,
                received = hangups.recv() => if received.is_none() { return },
            }
            let reloading = Arc::clone(&certificate);
            // Files on a network mount may be slow to read: not on a runtime thread.
            let reloaded = tokio::task::spawn_blocking(move || reloading.reload()).await;
            let files = certificate.files();
            match reloaded {
                Ok(Ok(())) => tracing::info!(
                    chain = %files.chain.display(),
                    key = %files.key.display(),
                    "SIGHUP: TLS certificate reloaded"
                ),
                Ok(Err(error)) => tracing::error!(
                    %error,
                    "SIGHUP: TLS certificate reload failed; still serving the previous certificate"
                ),
                Err(error) => tracing::error!(
                    %error,
                    "SIGHUP: TLS certificate reload did not finish; still serving the previous \
                     certificate"
                ),
            }
        }
    }))
}
