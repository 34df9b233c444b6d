//! [`Replica`]: the real `portcullis` binary as a separate process, configured through the
//! environment the way an operator would, so tests can run several replicas, kill one -9, or
//! stop one with SIGTERM and see how it exits.

use crate::tier::TestStorage;
use crate::{Browser, Reply, ALLOWED_ORIGIN, PASSWORD};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// The `portcullis` binary built next to the test executable (`just test` builds it first).
pub fn binary() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target directory");
    let binary = dir.join("portcullis");
    assert!(
        binary.exists(),
        "{} is missing: build it with `cargo build -p portcullis` (or run `just test`)",
        binary.display()
    );
    binary
}

pub struct Replica {
    pub base: String,
    port: u16,
    env: Vec<(String, String)>,
    /// Asks `/healthz` whether it is up: a client trusting its certificate when it serves TLS.
    probe: reqwest::Client,
    /// Where its standard error (the log) goes; inherited when `None`.
    log: Option<PathBuf>,
    child: Option<Child>,
}

impl Replica {
    /// Starts a replica on `storage` with extra `PORTCULLIS_*` settings.
    pub async fn start(storage: &TestStorage, settings: &[(&str, &str)]) -> Self {
        Self::start_with_log(storage, settings, None, None).await
    }

    /// As [`Replica::start`], appending the process's log to the file `log`.
    pub async fn start_logging_to(
        storage: &TestStorage,
        settings: &[(&str, &str)],
        log: &Path,
    ) -> Self {
        Self::start_with_log(storage, settings, Some(log.to_path_buf()), None).await
    }

    /// As [`Replica::start_logging_to`], for a replica serving HTTPS (its `settings` name the
    /// certificate); `probe` trusts that certificate.
    pub async fn start_tls_logging_to(
        storage: &TestStorage,
        settings: &[(&str, &str)],
        probe: reqwest::Client,
        log: &Path,
    ) -> Self {
        Self::start_with_log(storage, settings, Some(log.to_path_buf()), Some(probe)).await
    }

    async fn start_with_log(
        storage: &TestStorage,
        settings: &[(&str, &str)],
        log: Option<PathBuf>,
        tls_probe: Option<reqwest::Client>,
    ) -> Self {
        let mut env = storage.env();
        env.push((
            "PORTCULLIS_ALLOWED_ORIGINS".to_owned(),
            ALLOWED_ORIGIN.to_owned(),
        ));
        env.push(("RUST_LOG".to_owned(), "warn".to_owned()));
        env.extend(
            settings
                .iter()
                .map(|(key, value)| ((*key).to_owned(), (*value).to_owned())),
        );
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let scheme = if tls_probe.is_some() { "https" } else { "http" };
        let mut replica = Self {
            base: format!("{scheme}://127.0.0.1:{port}"),
            port,
            env,
            probe: tls_probe.unwrap_or_default(),
            log,
            child: None,
        };
        replica.launch().await;
        replica
    }

    async fn launch(&mut self) {
        let stderr = match &self.log {
            None => Stdio::inherit(),
            Some(path) => std::fs::File::options()
                .create(true)
                .append(true)
                .open(path)
                .expect("log file")
                .into(),
        };
        let child = Command::new(binary())
            .arg("serve")
            .env("PORTCULLIS_LISTEN", format!("127.0.0.1:{}", self.port))
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .expect("portcullis starts");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let probed = self
                .probe
                .get(format!("{}/healthz", self.base))
                .send()
                .await;
            if let Ok(response) = probed {
                if response.status().is_success() {
                    return;
                }
            }
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                panic!("replica exited during start-up: {status}");
            }
            assert!(
                Instant::now() < deadline,
                "replica on port {} did not come up",
                self.port
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// SIGKILL: no shutdown, no flush, no goodbye.
    pub fn kill_hard(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Sends SIGTERM, as an orchestrator stopping the process does; see [`Replica::exited`].
    pub fn terminate(&self) {
        self.signal(rustix::process::Signal::TERM);
    }

    /// Sends SIGHUP, as an operator does after renewing the certificate.
    pub fn hang_up(&self) {
        self.signal(rustix::process::Signal::HUP);
    }

    fn signal(&self, signal: rustix::process::Signal) {
        let child = self.child.as_ref().expect("the replica is running");
        rustix::process::kill_process(rustix::process::Pid::from_child(child), signal)
            .unwrap_or_else(|error| panic!("{signal:?} not sent: {error}"));
    }

    /// Waits until the process has exited and says how; fails the test after `within`.
    pub async fn exited(&mut self, within: Duration) -> ExitStatus {
        let mut child = self.child.take().expect("the replica is running");
        let pid = child.id();
        let waited = tokio::time::timeout(
            within,
            tokio::task::spawn_blocking(move || (child.wait(), child)),
        )
        .await;
        match waited {
            Ok(joined) => {
                let (status, _) = joined.expect("waiting thread");
                status.expect("exit status")
            }
            Err(_) => {
                // The child went with the waiting thread; it is not ours to leave running.
                let pid = i32::try_from(pid)
                    .ok()
                    .and_then(rustix::process::Pid::from_raw)
                    .expect("pid");
                let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
                panic!("the replica did not exit within {within:?}");
            }
        }
    }

    /// Registers a fresh user and returns their email.
    pub async fn new_user(&self) -> String {
        let email = format!("user-{}@example.com", uuid::Uuid::new_v4().simple());
        let response = reqwest::Client::new()
            .post(format!("{}/auth/register", self.base))
            .json(&serde_json::json!({ "email": email, "password": PASSWORD }))
            .send()
            .await
            .expect("register request");
        let reply = Reply::read(response).await;
        assert_eq!(reply.status, reqwest::StatusCode::CREATED, "{reply:?}");
        email
    }

    /// A browser pointed at this replica.
    pub fn browser(&self) -> Browser {
        Browser::new(reqwest::Client::new(), self.base.clone())
    }

    /// The address it listens on.
    pub fn addr(&self) -> std::net::SocketAddr {
        std::net::SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// Starts the same replica again, on the same port and storage.
    pub async fn restart(&mut self) {
        self.kill_hard();
        self.launch().await;
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        self.kill_hard();
    }
}

/// Runs `portcullis admin key create` against `storage` and returns the printed key.
pub fn create_admin_key(storage: &TestStorage, name: &str) -> String {
    let created = Command::new(binary())
        .args(["admin", "key", "create", "--name", name])
        .envs(storage.env())
        .env("RUST_LOG", "warn")
        .output()
        .expect("portcullis admin key create");
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    String::from_utf8_lossy(&created.stdout)
        .lines()
        .next()
        .expect("key line")
        .trim()
        .to_owned()
}

/// Runs `portcullis admin ARGS --json` against `storage` and returns the JSON it printed.
pub fn admin_json(storage: &TestStorage, args: &[&str]) -> serde_json::Value {
    let output = Command::new(binary())
        .arg("admin")
        .args(args)
        .arg("--json")
        .envs(storage.env())
        .env("RUST_LOG", "warn")
        .output()
        .expect("portcullis admin");
    assert!(
        output.status.success(),
        "portcullis admin {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap_or_else(|error| {
        panic!(
            "portcullis admin {args:?} printed no JSON ({error}): {}",
            String::from_utf8_lossy(&output.stdout)
        )
    })
}
