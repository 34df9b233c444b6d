//! Schemathesis, with every check on, against the real binary on the tier under test: requests
//! generated from `/openapi.json` (valid and invalid ones, examples, boundary values, and
//! chains of calls), every answer held to the document. No failure, no 5xx.
//!
//! `tests/schemathesis/setup.sh` installs the pinned Schemathesis (`just test` runs it);
//! `tests/schemathesis/schemathesis.toml` holds the settings, the credentials it uses, and
//! each narrow exception with its reason.

use portcullis_tests::replica::{create_admin_key, Replica};
use portcullis_tests::tier::{tier, TestStorage};
use portcullis_tests::PASSWORD;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// Test cases per operation and phase: with the fixed seed, about two minutes per tier on two
/// cores, most of it spent hashing the passwords of generated registrations and logins.
const MAX_EXAMPLES: &str = "100";
/// A fixed seed: a failure reproduces, and the run costs the same every time.
const SEED: &str = "20240613";

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

/// The `st` command of the pinned install, or `SCHEMATHESIS` when set. Missing fails the test
/// rather than skipping it.
fn schemathesis() -> PathBuf {
    let path = std::env::var_os("SCHEMATHESIS")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("target/schemathesis/bin/st"));
    assert!(
        path.exists(),
        "{} is missing: run tests/schemathesis/setup.sh (or `just test`)",
        path.display()
    );
    path
}

#[tokio::test]
async fn schemathesis_finds_no_failure_with_every_check_on() {
    let storage = TestStorage::create(tier()).await;
    // Login limits off: the run sends failed logins by the hundred from one address, some for
    // the account it logs in with, and would lock itself out. `login_limits.rs` tests them.
    let settings = [
        ("PORTCULLIS_LOGIN_MAX_FAILURES_PER_ACCOUNT", "0"),
        ("PORTCULLIS_LOGIN_MAX_FAILURES_PER_IP", "0"),
    ];
    let gateway = Replica::start(&storage, &settings).await;
    // After the gateway has created its database: no other command creates one.
    let admin_key = create_admin_key(&storage, "schemathesis");
    let email = gateway.new_user().await;
    // The account the destructive admin operations work on (see schemathesis.toml).
    let victim = gateway.new_user().await;

    let mut command = Command::new(schemathesis());
    command
        // Its crash cache lands in the test's own directory: every run starts afresh, and the
        // working tree stays clean.
        .current_dir(storage.data.path())
        .arg("--config-file")
        .arg(workspace().join("tests/schemathesis/schemathesis.toml"))
        .args(["run", &format!("{}/openapi.json", gateway.base)])
        .args(["--max-examples", MAX_EXAMPLES, "--seed", SEED])
        .arg("--no-color")
        .env("ST_USER_EMAIL", &email)
        .env("ST_USER_PASSWORD", PASSWORD)
        .env("ST_ADMIN_KEY", &admin_key)
        .env("ST_VICTIM_EMAIL", &victim);
    let started = Instant::now();
    let output = tokio::task::spawn_blocking(move || command.output())
        .await
        .expect("schemathesis thread")
        .expect("schemathesis starts");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "schemathesis found failures ({}):\n{stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    eprintln!(
        "schemathesis passed in {:?}: {}",
        started.elapsed(),
        stdout.lines().last().unwrap_or_default()
    );
    drop(gateway);
}
