//! `Nginx`: a real nginx in front of the gateway and an application, configured by the project's
//! example `deploy/nginx/portcullis.conf` with nothing changed but its three addresses, so the
//! config we document is the config the front-door tests run. Each one lives in its own temp dir
//! on a free loopback port and is stopped when dropped; it never touches a system nginx, its
//! config or its logs.

use crate::deploy_example::{self, write};
use crate::free_port;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rustix::process::{kill_process, Pid, Signal};
use tempfile::TempDir;

const EXAMPLE: &str = "deploy/nginx/portcullis.conf";
/// The example's placeholders: the file is a contract, and a test that silently ran with one of
/// them left in would be testing nothing.
const GATEWAY: &str = "server 127.0.0.1:8080;";
const APP: &str = "server 127.0.0.1:9000;";
const LISTEN: &str = "listen 8000;";
/// The free port is found before nginx binds it, so another process may take it in between.
const ATTEMPTS: usize = 5;

pub struct Nginx {
    port: u16,
    child: Child,
    // Declared after `child`: the files go only once `drop` has stopped nginx.
    _dir: TempDir,
}

impl Nginx {
    /// Starts nginx proxying to the gateway at `gateway` and the application at `app`, and
    /// returns once it accepts connections. Fails the test if it cannot.
    pub async fn start(gateway: SocketAddr, app: SocketAddr) -> Self {
        let binary = binary();
        let site = site_config(gateway, app);
        let dir = tempfile::tempdir().expect("nginx temp dir");
        write(&dir.path().join("nginx.conf"), &main_config(dir.path()));

        for _ in 0..ATTEMPTS {
            let port = free_port();
            let listen = format!("listen 127.0.0.1:{port};");
            write(
                &dir.path().join("portcullis.conf"),
                &site.replace(LISTEN, &listen),
            );
            check_config(&binary, dir.path()).await;
            let mut child = nginx(&binary, dir.path())
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("nginx starts");
            if wait_until_serving(&mut child, port, dir.path()).await {
                return Self {
                    port,
                    child,
                    _dir: dir,
                };
            }
            // It exited early: most likely the port was taken in the meantime.
        }
        panic!(
            "nginx did not start in {ATTEMPTS} attempts; its error.log:\n{}",
            error_log(dir.path())
        );
    }

    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        stop(&mut self.child);
    }
}

/// True once nginx serves `port`; false if it exited first. A connection alone could be
/// accepted by whoever took the port, so the pid file must also name our nginx: it writes the
/// file only after binding its sockets (`nginx -t` leaves its own pid there, never ours).
async fn wait_until_serving(child: &mut Child, port: u16, dir: &Path) -> bool {
    let deadline = Instant::now() + Duration::from_secs(10);
    let pid_file = dir.join("nginx.pid");
    loop {
        if let Ok(Some(_)) = child.try_wait() {
            return false;
        }
        let ours = std::fs::read_to_string(&pid_file)
            .is_ok_and(|pid| pid.trim() == child.id().to_string());
        if ours
            && tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
        {
            return true;
        }
        if Instant::now() >= deadline {
            stop(child);
            panic!(
                "nginx did not accept connections on port {port} within 10 s; its error.log:\n{}",
                error_log(dir)
            );
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Stops nginx and reaps it. SIGKILL would end the master alone, and its orphaned worker would
/// go on serving the port; a fast shutdown (SIGTERM) through the master takes the worker along.
fn stop(child: &mut Child) {
    if let Ok(Some(_)) = child.try_wait() {
        return;
    }
    // Not yet reaped, so the pid is still this child's and cannot name another process.
    if let Some(pid) = i32::try_from(child.id()).ok().and_then(Pid::from_raw) {
        let _ = kill_process(pid, Signal::TERM);
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// The example config with the gateway and application addresses put in; `listen` is left for
/// each attempt's port.
fn site_config(gateway: SocketAddr, app: SocketAddr) -> String {
    deploy_example::read(EXAMPLE, &[GATEWAY, APP, LISTEN])
        .replace(GATEWAY, &format!("server {gateway};"))
        .replace(APP, &format!("server {app};"))
}

/// Everything nginx writes stays in `dir`: pid, logs and temp files, which would otherwise go to
/// system paths a test may not write (or should not touch).
fn main_config(dir: &Path) -> String {
    let dir = dir.display();
    // Workers drop to `nobody` when the master runs as root, and could not use the temp dirs.
    let user = if running_as_root() {
        "user root;\n"
    } else {
        ""
    };
    format!(
        "{user}daemon off;
master_process on;
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 256; }}
http {{
    access_log off;
    client_body_temp_path {dir}/client_body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    include {dir}/portcullis.conf;
}}
"
    )
}

/// `nginx -t`, so a broken config fails with nginx's own explanation rather than a timeout.
async fn check_config(binary: &Path, dir: &Path) {
    let output = tokio::process::Command::from(nginx(binary, dir))
        .arg("-t")
        .output()
        .await
        .expect("nginx -t runs");
    assert!(
        output.status.success(),
        "nginx rejects the config built from {EXAMPLE}:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// `-e` points the startup log at `dir` too: without it nginx opens /var/log/nginx/error.log
/// before reading the config.
fn nginx(binary: &Path, dir: &Path) -> Command {
    let mut command = Command::new(binary);
    command
        .arg("-e")
        .arg(dir.join("error.log"))
        .arg("-p")
        .arg(dir)
        .arg("-c")
        .arg(dir.join("nginx.conf"));
    command
}

/// On PATH, or where Debian puts it: /usr/sbin is not on every user's PATH.
fn binary() -> PathBuf {
    deploy_example::find_binary("nginx", [PathBuf::from("/usr/sbin/nginx")]).unwrap_or_else(|| {
        panic!(
            "nginx is not installed: run `just services` (it installs nginx on Debian) or \
             `apt-get install -y nginx`"
        )
    })
}

/// /proc/self belongs to the effective user; no `unsafe` `geteuid` needed.
fn running_as_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

fn error_log(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("error.log")).unwrap_or_else(|e| format!("(unreadable: {e})"))
}
