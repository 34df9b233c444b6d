//! The files the gateway keeps hold secrets (password hashes, emails, addresses, the
//! key-encryption key): whatever it creates is owner-only however permissive the umask,
//! directories that existed before keep their mode, and a key file that others can read stops
//! the start with the fix in the message.
//!
//! The real binary runs under umask 022, the usual default, under which anything not created
//! owner-only on purpose comes out world-readable. The cases about SQLite and generated keys
//! configure the embedded tier themselves whatever `TEST_TIER` says, since only that tier
//! creates those files; the key-file check runs on the suite's tier.

use portcullis_tests::free_port;
use portcullis_tests::replica::binary;
use portcullis_tests::tier::{tier, TestStorage};
use reqwest::StatusCode;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};
use tempfile::TempDir;

/// A running `portcullis serve`, killed when dropped.
struct Server {
    base: String,
    child: Child,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

enum Start {
    Serving(Server),
    Exited(Output),
}

impl Start {
    fn serving(self) -> Server {
        match self {
            Start::Serving(server) => server,
            Start::Exited(output) => panic!(
                "portcullis exited during start-up ({}): {}",
                output.status,
                String::from_utf8_lossy(&output.stderr)
            ),
        }
    }
}

/// Starts `portcullis serve` with `env` under umask 022 and waits until it answers or exits.
async fn serve(env: &[(String, String)]) -> Start {
    let port = free_port();
    let mut child = Command::new("sh")
        .args(["-c", "umask 022 && exec \"$0\" serve"])
        .arg(binary())
        .env("PORTCULLIS_LISTEN", format!("127.0.0.1:{port}"))
        .env("RUST_LOG", "warn")
        .envs(env.iter().map(|(key, value)| (key, value)))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("portcullis runs");
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if child.try_wait().expect("child status").is_some() {
            return Start::Exited(child.wait_with_output().expect("child output"));
        }
        let health = client.get(format!("{base}/healthz")).send().await;
        if health.is_ok_and(|reply| reply.status().is_success()) {
            return Start::Serving(Server { base, child });
        }
        assert!(
            Instant::now() < deadline,
            "portcullis neither served nor exited"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|error| panic!("{}: {error}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

fn set_mode(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

fn assert_mode(path: &Path, expected: u32) {
    assert_eq!(
        format!("{:o}", mode(path)),
        format!("{expected:o}"),
        "mode of {}",
        path.display()
    );
}

fn setting(key: &str, value: impl AsRef<std::ffi::OsStr>) -> (String, String) {
    (
        key.to_owned(),
        value.as_ref().to_string_lossy().into_owned(),
    )
}

/// Registers a user, so the database has been written to (and has its `-wal` and `-shm`).
async fn write_something(server: &Server) {
    let reply = reqwest::Client::new()
        .post(format!("{}/auth/register", server.base))
        .json(&serde_json::json!({
            "email": "files@example.com",
            "password": "long enough password",
        }))
        .send()
        .await
        .expect("register");
    assert_eq!(reply.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn directories_that_already_exist_keep_their_mode() {
    let root = TempDir::new().expect("temporary directory");
    let etc = root.path().join("etc");
    let data = root.path().join("data");
    for dir in [&etc, &data] {
        std::fs::create_dir(dir).expect("mkdir");
        set_mode(dir, 0o755);
    }
    let kek = etc.join("portcullis.kek");
    let server = serve(&[
        setting("PORTCULLIS_DATA_DIR", &data),
        setting("PORTCULLIS_KEY_ENCRYPTION_KEY_FILE", &kek),
    ])
    .await
    .serving();
    write_something(&server).await;
    assert_mode(&etc, 0o755);
    assert_mode(&data, 0o755);
    assert_mode(&kek, 0o600);
    assert_mode(&data.join("portcullis.db"), 0o600);
}

#[tokio::test]
async fn a_missing_data_directory_is_created_owner_only_with_its_parents() {
    let root = TempDir::new().expect("temporary directory");
    set_mode(root.path(), 0o755);
    let parent = root.path().join("srv");
    let data = parent.join("portcullis");
    let server = serve(&[setting("PORTCULLIS_DATA_DIR", &data)])
        .await
        .serving();
    write_something(&server).await;
    assert_mode(root.path(), 0o755);
    assert_mode(&parent, 0o700);
    assert_mode(&data, 0o700);
    assert_mode(&data.join("kek"), 0o600);
    for file in ["portcullis.db", "portcullis.db-wal", "portcullis.db-shm"] {
        assert_mode(&data.join(file), 0o600);
    }
}

#[tokio::test]
async fn an_explicit_sqlite_database_and_its_journals_are_owner_only() {
    let root = TempDir::new().expect("temporary directory");
    set_mode(root.path(), 0o755);
    let database = root.path().join("x.db");
    let server = serve(&[
        setting("PORTCULLIS_DATA_DIR", root.path().join("data")),
        setting(
            "PORTCULLIS_DATABASE_URL",
            format!("sqlite://{}", database.display()),
        ),
    ])
    .await
    .serving();
    write_something(&server).await;
    assert_mode(root.path(), 0o755);
    for file in ["x.db", "x.db-wal", "x.db-shm"] {
        assert_mode(&root.path().join(file), 0o600);
    }
}

#[tokio::test]
async fn a_key_file_others_can_read_stops_the_start_and_names_the_fix() {
    for loose in [0o644, 0o640, 0o604] {
        let storage = TestStorage::create(tier()).await;
        let keys = TempDir::new().expect("temporary directory");
        let kek = keys.path().join("portcullis.kek");
        std::fs::write(&kek, &storage.key_encryption_key).expect("write key file");
        set_mode(&kek, loose);
        let mut env: Vec<_> = storage
            .env()
            .into_iter()
            .filter(|(key, _)| key != "PORTCULLIS_KEY_ENCRYPTION_KEY")
            .collect();
        env.push(setting("PORTCULLIS_KEY_ENCRYPTION_KEY_FILE", &kek));

        let output = match serve(&env).await {
            Start::Exited(output) => output,
            Start::Serving(_) => panic!("started with a key file of mode {loose:o}"),
        };
        assert!(!output.status.success());
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains(&kek.display().to_string()),
            "names the file: {stderr}"
        );
        assert!(
            stderr.contains(&format!("chmod 600 {}", kek.display())),
            "says the fix: {stderr}"
        );
        assert_mode(&kek, loose);

        set_mode(&kek, 0o600);
        let fixed = serve(&env).await.serving();
        drop(fixed);
    }
}
