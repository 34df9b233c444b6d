//! [`Replica`]: the real `portcullis` binary as a separate process, configured through the
//! environment the way an operator would, so tests can run several replicas and kill one -9.

use crate::tier::TestStorage;
use crate::ALLOWED_ORIGIN;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
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
    child: Option<Child>,
}

impl Replica {
    /// Starts a replica on `storage` with extra `PORTCULLIS_*` settings.
    pub async fn start(storage: &TestStorage, settings: &[(&str, &str)]) -> Self {
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
        let mut replica = Self {
            base: format!("http://127.0.0.1:{port}"),
            port,
            env,
            child: None,
        };
        replica.launch().await;
        replica
    }

    async fn launch(&mut self) {
        let child = Command::new(binary())
            .arg("serve")
            .env("PORTCULLIS_LISTEN", format!("127.0.0.1:{}", self.port))
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("portcullis starts");
        self.child = Some(child);
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(response) = client.get(format!("{}/healthz", self.base)).send().await {
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
