//! `Traefik`: a real Traefik in front of the gateway and an application, configured by the
//! project's examples `deploy/traefik/traefik.yml` and `dynamic.yml` with nothing changed but
//! addresses, the dynamic file's path and the log level, so the documented config is the one
//! the front-door tests run. Each lives in its own temp dir on a free loopback port and is
//! killed when dropped.

use crate::deploy_example::{self, write};
use crate::free_port;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tempfile::TempDir;

const STATIC_EXAMPLE: &str = "deploy/traefik/traefik.yml";
const DYNAMIC_EXAMPLE: &str = "deploy/traefik/dynamic.yml";
/// The examples' placeholders; a test that ran with one left in would be testing nothing.
const LISTEN: &str = "address: \":8000\"";
const DYNAMIC_PATH: &str = "filename: /etc/traefik/dynamic.yml";
const GATEWAY: &str = "http://portcullis:8080";
const APP: &str = "http://app:9000";
/// Matches tests/services.sh, which fetches this version when Traefik is missing.
const VERSION: &str = "3.7.13";
const ATTEMPTS: usize = 5;

pub struct Traefik {
    port: u16,
    child: Child,
    // Declared after `child`: the files go only once `drop` has stopped Traefik.
    _dir: TempDir,
}

impl Traefik {
    /// Starts Traefik routing to the gateway at `gateway` and the application at `app`, and
    /// returns once its routes are loaded. Fails the test if it cannot.
    pub async fn start(gateway: SocketAddr, app: SocketAddr) -> Self {
        let binary = binary();
        let dir = tempfile::tempdir().expect("traefik temp dir");
        let dynamic = deploy_example::read(DYNAMIC_EXAMPLE, &[GATEWAY, APP])
            .replace(GATEWAY, &format!("http://{gateway}"))
            .replace(APP, &format!("http://{app}"));
        let dynamic_path = dir.path().join("dynamic.yml");
        write(&dynamic_path, &dynamic);
        let static_config = deploy_example::read(STATIC_EXAMPLE, &[LISTEN, DYNAMIC_PATH])
            .replace(
                DYNAMIC_PATH,
                &format!("filename: {}", dynamic_path.display()),
            )
            .replace("level: INFO", "level: ERROR");
        for _ in 0..ATTEMPTS {
            let port = free_port();
            let config = dir.path().join("traefik.yml");
            write(
                &config,
                &static_config.replace(LISTEN, &format!("address: \"127.0.0.1:{port}\"")),
            );
            let log = std::fs::File::create(dir.path().join("traefik.log")).expect("log file");
            let mut child = Command::new(&binary)
                .arg(format!("--configFile={}", config.display()))
                .stdin(Stdio::null())
                .stdout(log.try_clone().expect("log file"))
                .stderr(log)
                .spawn()
                .expect("traefik starts");
            if wait_until_routing(&mut child, port, dir.path()).await {
                return Self {
                    port,
                    child,
                    _dir: dir,
                };
            }
        }
        panic!(
            "traefik did not start in {ATTEMPTS} attempts; its log:\n{}",
            log(dir.path())
        );
    }

    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for Traefik {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// True once Traefik routes `/healthz` to the gateway (so the dynamic file is loaded); false if
/// it exited first (most likely the port was taken meanwhile).
async fn wait_until_routing(child: &mut Child, port: u16, dir: &Path) -> bool {
    let deadline = Instant::now() + Duration::from_secs(20);
    let client = reqwest::Client::new();
    let url = format!("http://127.0.0.1:{port}/healthz");
    loop {
        if let Ok(Some(_)) = child.try_wait() {
            return false;
        }
        let routed = client
            .get(&url)
            .send()
            .await
            .is_ok_and(|response| response.status().is_success());
        if routed {
            return true;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "traefik did not route /healthz on port {port} within 20 s; its log:\n{}",
                log(dir)
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// `TRAEFIK_BIN`, else on PATH, else where tests/services.sh installs it.
fn binary() -> PathBuf {
    let named = std::env::var_os("TRAEFIK_BIN").map(PathBuf::from);
    if let Some(binary) = named.filter(|binary| binary.is_file()) {
        return binary;
    }
    let cached = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| Path::new(&home).join(".cache")))
        .map(|cache| {
            cache
                .join("portcullis-test-tools")
                .join(format!("traefik-{VERSION}"))
                .join("bin")
                .join("traefik")
        });
    deploy_example::find_binary("traefik", cached).unwrap_or_else(|| {
        panic!(
            "traefik is not installed: run `just services` (it fetches Traefik {VERSION}) or set \
             TRAEFIK_BIN"
        )
    })
}

fn log(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("traefik.log"))
        .unwrap_or_else(|e| format!("(unreadable: {e})"))
}
