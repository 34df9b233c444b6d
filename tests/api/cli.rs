//! The `portcullis` command line, run as the real binary.

use portcullis_tests::eventually;
use portcullis_tests::replica::{binary, create_admin_key, Replica};
use portcullis_tests::tier::{tier, TestStorage};
use portcullis_tests::TestApp;
use reqwest::StatusCode;
use std::io::Write;
use std::process::{Command, Stdio};

/// Runs the binary against `storage`, configured through the environment as an operator would.
fn portcullis(storage: &TestStorage, args: &[&str], stdin: &str) -> std::process::Output {
    let mut child = Command::new(binary())
        .args(args)
        .envs(storage.env())
        .env("RUST_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("portcullis runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write stdin");
    child.wait_with_output().expect("portcullis exits")
}

#[tokio::test]
async fn user_add_reads_the_password_from_stdin_and_grants_roles() {
    let app = TestApp::spawn().await;
    let storage = app.storage();
    let output = portcullis(
        &storage,
        &[
            "user",
            "add",
            "--email",
            "Admin@Example.com",
            "--role",
            "admin",
            "--role",
            "ops",
        ],
        "s3cret-password\n",
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let user_id = String::from_utf8(output.stdout)
        .expect("utf8")
        .trim()
        .to_owned();
    assert!(
        uuid::Uuid::parse_str(&user_id).is_ok(),
        "prints the new user id, got {user_id:?}"
    );

    let reply = app
        .browser()
        .login("admin@example.com", "s3cret-password")
        .await;
    assert_eq!(
        reply.status,
        StatusCode::OK,
        "the running server sees the new user"
    );
    let verify = app.verify(&reply.access_token()).await;
    assert_eq!(verify.header("x-auth-roles"), Some("admin,ops"));
    assert_eq!(verify.header("x-auth-user-id"), Some(user_id.as_str()));
}

#[tokio::test]
async fn user_add_refuses_a_weak_password_and_a_taken_email() {
    let storage = TestStorage::create(tier()).await;
    // A new deployment is created by `migrate` (or `serve`), never by another command.
    let migrated = portcullis(&storage, &["migrate"], "");
    assert!(
        migrated.status.success(),
        "{}",
        String::from_utf8_lossy(&migrated.stderr)
    );
    let weak = portcullis(
        &storage,
        &["user", "add", "--email", "a@example.com"],
        "short\n",
    );
    assert!(!weak.status.success());
    assert!(String::from_utf8_lossy(&weak.stderr).contains("password"));
    let first = portcullis(
        &storage,
        &["user", "add", "--email", "a@example.com"],
        "long enough password\n",
    );
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let again = portcullis(
        &storage,
        &["user", "add", "--email", "a@example.com"],
        "long enough password\n",
    );
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));
}

#[tokio::test]
async fn the_startup_line_says_where_the_gateway_and_the_demo_answer() {
    let storage = TestStorage::create(tier()).await;
    for demo in [false, true] {
        let log = storage.data.path().join(format!("demo-{demo}.log"));
        let settings = [
            ("PORTCULLIS_DEMO", if demo { "true" } else { "false" }),
            ("PORTCULLIS_LOG_FORMAT", "text"),
            ("RUST_LOG", "info"),
        ];
        let replica = Replica::start_logging_to(&storage, &settings, &log).await;
        let base = replica.base.clone();
        drop(replica);
        let text = std::fs::read_to_string(&log).expect("log");
        let line = text
            .lines()
            .find(|line| line.contains("portcullis listening on"))
            .unwrap_or_else(|| panic!("no startup line in {text}"));
        let expected = if demo {
            format!("portcullis listening on {base} (demo at {base}/demo/)")
        } else {
            format!("portcullis listening on {base} ")
        };
        assert!(line.contains(&expected), "{expected:?} in {line}");
        assert_eq!(line.contains("demo at"), demo, "{line}");
    }
}

#[tokio::test]
async fn migrate_creates_the_database() {
    let storage = TestStorage::create(tier()).await;
    let output = portcullis(&storage, &["migrate"], "");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    match &storage.database {
        None => assert!(storage.data.path().join("portcullis.db").exists()),
        Some(database) => {
            let mut connection = <sqlx::PgConnection as sqlx::Connection>::connect(&database.url)
                .await
                .expect("connect");
            let applied: i64 =
                sqlx::query_scalar("SELECT count(*) FROM _sqlx_migrations WHERE success")
                    .fetch_one(&mut connection)
                    .await
                    .expect("migrations table");
            assert!(applied >= 1);
        }
    }
}

#[tokio::test]
async fn admin_commands_reach_a_running_server() {
    let app = TestApp::spawn().await;
    let storage = app.storage();
    let (mut browser, email, token) = app.logged_in().await;
    let sessions = portcullis(&storage, &["admin", "sessions", &email, "--json"], "");
    assert!(
        sessions.status.success(),
        "{}",
        String::from_utf8_lossy(&sessions.stderr)
    );
    let listed: serde_json::Value = serde_json::from_slice(&sessions.stdout).expect("json");
    assert_eq!(listed.as_array().map(Vec::len), Some(1));

    let output = portcullis(&storage, &["admin", "revoke-user", &email], "");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("1 session ended"), "{stdout}");
    eventually("the server refuses the revoked token", async || {
        app.verify(&token).await.status == StatusCode::UNAUTHORIZED
    })
    .await;
    assert_eq!(browser.refresh().await.error(), "session_revoked");

    // A session ended by a lock says so.
    let (_, fresh) = {
        let mut again = app.browser();
        let reply = again.login(&email, portcullis_tests::PASSWORD).await;
        (again, reply.access_token())
    };
    let lock = portcullis(&storage, &["admin", "lock", &email], "");
    assert!(lock.status.success());
    let stdout = String::from_utf8_lossy(&lock.stdout);
    assert!(stdout.contains("ended 1 session"), "{stdout}");
    let sessions = portcullis(&storage, &["admin", "sessions", &email, "--json"], "");
    let sessions: serde_json::Value = serde_json::from_slice(&sessions.stdout).expect("json");
    let reasons: Vec<&str> = sessions
        .as_array()
        .expect("sessions")
        .iter()
        .filter_map(|session| session["revoked_reason"].as_str())
        .collect();
    assert!(reasons.contains(&"user_locked"), "{reasons:?}");
    assert!(reasons.contains(&"user_revoked"), "{reasons:?}");
    // (This test runs the command line while blocking its own runtime, so the in-process
    // server merges the lock once the command has returned.)
    eventually("the server refuses the locked user's token", async || {
        app.verify(&fresh).await.status == StatusCode::UNAUTHORIZED
    })
    .await;
    assert_eq!(
        app.browser()
            .login(&email, portcullis_tests::PASSWORD)
            .await
            .error(),
        "account_locked"
    );
    assert!(portcullis(&storage, &["admin", "unlock", &email], "")
        .status
        .success());
    assert_eq!(
        app.browser()
            .login(&email, portcullis_tests::PASSWORD)
            .await
            .status,
        StatusCode::OK
    );

    let events = portcullis(
        &storage,
        &[
            "admin",
            "events",
            "--user",
            &email,
            "--kind",
            "user_revoked",
            "--json",
        ],
        "",
    );
    let events: serde_json::Value = serde_json::from_slice(&events.stdout).expect("json");
    assert_eq!(events[0]["actor"], "cli");
    let missing = portcullis(&storage, &["admin", "lock", "nobody@example.com"], "");
    assert!(!missing.status.success());
    // What was not found, and where it was looked for, said once.
    let stderr = String::from_utf8_lossy(&missing.stderr);
    let using = stderr
        .lines()
        .find_map(|line| line.strip_prefix("using "))
        .expect("the storage is named");
    assert_eq!(stderr.matches("using ").count(), 1, "{stderr}");
    assert!(
        stderr.contains(&format!("no user \"nobody@example.com\" in {using}")),
        "{stderr}"
    );
    assert!(
        using.starts_with("sqlite:///") || using.starts_with("postgres://"),
        "{using}"
    );
}

/// Run from the wrong directory, a command must not start an empty deployment of its own and
/// then answer "not found": it refuses, creates nothing, and says where it looked and how to
/// point it elsewhere. Only `serve` and `migrate` create a database or a key.
#[tokio::test]
async fn a_command_pointed_at_no_deployment_creates_nothing_and_says_where_it_looked() {
    let elsewhere = tempfile::tempdir().expect("temp dir");
    let data_dir = elsewhere.path().join("data");
    let run = |args: &[&str]| {
        Command::new(binary())
            .args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("PORTCULLIS_DATA_DIR", &data_dir)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .output()
            .expect("portcullis runs")
    };
    for args in [
        &["admin", "lock", "alice@example.com"][..],
        &["admin", "key", "create", "--name", "ops"],
        &["keys", "list"],
        &["user", "add", "--email", "alice@example.com"],
    ] {
        let output = run(args);
        assert!(!output.status.success(), "{args:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        let expected = format!(
            "no database at sqlite://{}",
            data_dir.join("portcullis.db").display()
        );
        if args[0] != "user" {
            assert!(stderr.contains(&expected), "{args:?}: {stderr}");
            assert!(stderr.contains("PORTCULLIS_DATA_DIR"), "{stderr}");
            assert!(stderr.contains("PORTCULLIS_DATABASE_URL"), "{stderr}");
            assert!(stderr.contains("--config"), "{stderr}");
        }
        assert!(
            !data_dir.exists(),
            "{args:?} created {}",
            data_dir.display()
        );
    }
    // `migrate` does create it (and its key); then the same command finds the deployment.
    let migrated = run(&["migrate"]);
    assert!(
        migrated.status.success(),
        "{}",
        String::from_utf8_lossy(&migrated.stderr)
    );
    assert!(data_dir.join("portcullis.db").exists() && data_dir.join("kek").exists());
    let listed = run(&["keys", "list"]);
    assert!(
        listed.status.success(),
        "{}",
        String::from_utf8_lossy(&listed.stderr)
    );
    // A created admin key is all standard output holds, so `$(...)` captures exactly it.
    let created = run(&["admin", "key", "create", "--name", "ops"]);
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    let stdout = String::from_utf8(created.stdout).expect("utf8");
    assert_eq!(stdout.lines().count(), 1, "{stdout:?}");
    assert!(stdout.starts_with("pcl_admin_"), "{stdout:?}");
    let stderr = String::from_utf8_lossy(&created.stderr);
    assert!(stderr.contains("not shown again"), "{stderr}");
    assert!(
        !stderr.contains('\u{1b}'),
        "no colour codes off a terminal: {stderr:?}"
    );
}

#[tokio::test]
async fn an_admin_key_made_on_the_command_line_works_once_and_stops_when_revoked() {
    let app = TestApp::spawn().await;
    let storage = app.storage();
    let key = create_admin_key(&storage, "incident-42");
    assert!(key.starts_with("pcl_admin_"));
    let events = || {
        app.http()
            .get(app.url("/admin/events"))
            .bearer_auth(&key)
            .send()
    };
    assert_eq!(events().await.expect("request").status(), StatusCode::OK);
    let list = portcullis(&storage, &["admin", "key", "list"], "");
    let listing = String::from_utf8_lossy(&list.stdout);
    assert!(
        listing.contains("incident-42") && !listing.contains(&key),
        "names only, never keys"
    );
    assert!(!portcullis(
        &storage,
        &["admin", "key", "create", "--name", "incident-42"],
        ""
    )
    .status
    .success());
    assert!(
        portcullis(&storage, &["admin", "key", "revoke", "incident-42"], "")
            .status
            .success()
    );
    assert_eq!(
        events().await.expect("request").status(),
        StatusCode::UNAUTHORIZED
    );
}

/// As [`portcullis`], off the test's runtime thread: the server under test runs on that thread
/// and must keep serving (and following the database) while the command runs.
async fn portcullis_while_serving(
    storage: &std::sync::Arc<TestStorage>,
    args: &[&str],
) -> std::process::Output {
    portcullis_while_serving_with(storage, args, "").await
}

/// As [`portcullis_while_serving`], with `stdin` on standard input.
async fn portcullis_while_serving_with(
    storage: &std::sync::Arc<TestStorage>,
    args: &[&str],
    stdin: &str,
) -> std::process::Output {
    let storage = std::sync::Arc::clone(storage);
    let args: Vec<String> = args.iter().map(|arg| (*arg).to_owned()).collect();
    let stdin = stdin.to_owned();
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        portcullis(&storage, &args, &stdin)
    })
    .await
    .expect("the command ran")
}

#[tokio::test]
async fn a_revoking_command_is_in_force_in_a_running_server_when_it_returns() {
    let app = TestApp::spawn().await;
    let storage = app.storage();
    for round in 0..6 {
        let (_, email, token) = app.logged_in().await;
        assert_eq!(app.verify(&token).await.status, StatusCode::OK);
        let session = app
            .verify(&token)
            .await
            .header("x-auth-session-id")
            .map(str::to_owned);
        let args: Vec<String> = match round % 3 {
            0 => vec!["admin".into(), "lock".into(), email.clone()],
            1 => vec!["admin".into(), "revoke-user".into(), email.clone()],
            _ => vec![
                "admin".into(),
                "revoke-session".into(),
                session.expect("a session id"),
            ],
        };
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let output = portcullis_while_serving(&storage, &args).await;
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "{args:?}: {stderr}");
        assert!(!stderr.contains("warning"), "{args:?}: {stderr}");
        // Not `eventually`: the command has returned, so the revocation is in force now.
        let reply = app.verify(&token).await;
        assert_eq!(
            reply.status,
            StatusCode::UNAUTHORIZED,
            "round {round}, {args:?}: the token still verified after the command returned"
        );
    }
}

#[tokio::test]
async fn account_commands_set_passwords_list_accounts_and_erase_them_in_a_running_server() {
    let app = TestApp::spawn().await;
    let storage = app.storage();
    let (_, email, token) = app.logged_in().await;
    let text = |output: &std::process::Output| String::from_utf8_lossy(&output.stdout).into_owned();
    let errors =
        |output: &std::process::Output| String::from_utf8_lossy(&output.stderr).into_owned();

    // The password comes from standard input, never from the arguments.
    let set = ["admin", "set-password", email.as_str()];
    let none = portcullis_while_serving_with(&storage, &set, "").await;
    assert!(!none.status.success());
    assert!(
        errors(&none).contains("no password on standard input"),
        "{}",
        errors(&none)
    );
    let weak = portcullis_while_serving_with(&storage, &set, "short\n").await;
    assert!(!weak.status.success());
    assert!(
        errors(&weak).contains("between 8 and 128"),
        "{}",
        errors(&weak)
    );
    assert_eq!(app.verify(&token).await.status, StatusCode::OK);

    let done = portcullis_while_serving_with(&storage, &set, "a new passphrase\n").await;

    assert!(done.status.success(), "{}", errors(&done));
    assert_eq!(
        text(&done).trim(),
        format!("password of {email} set; 1 session ended")
    );
    // Not `eventually`: the command has returned, so the revocation is in force now.
    assert_eq!(app.verify(&token).await.status, StatusCode::UNAUTHORIZED);
    let mut browser = app.browser();
    let login = browser.login(&email, "a new passphrase").await;
    assert_eq!(login.status, StatusCode::OK);
    let token = login.access_token();

    let listed = portcullis_while_serving(&storage, &["admin", "users", "--email", &email]).await;
    let line = text(&listed);
    assert!(line.starts_with(&format!("{email}\t")), "{line}");
    assert!(line.contains("\tactive\tno roles\tcreated "), "{line}");
    assert!(!line.contains("last login never"), "{line}");
    let args = ["admin", "users", "--email", &email, "--json"];
    let json = portcullis_while_serving(&storage, &args).await;
    assert_eq!(
        json_fields(&args, &json),
        [
            "created_at",
            "email",
            "id",
            "last_login_at",
            "locked",
            "roles"
        ]
    );
    let bad_role =
        portcullis_while_serving(&storage, &["admin", "users", "--role", "Ops Team"]).await;
    assert!(!bad_role.status.success());

    let erase = portcullis_while_serving(&storage, &["admin", "delete-user", &email]).await;

    assert!(erase.status.success(), "{}", errors(&erase));
    assert!(
        text(&erase).starts_with(&format!("deleted {email} (")),
        "{}",
        text(&erase)
    );
    assert!(text(&erase).contains("1 session ended"), "{}", text(&erase));
    assert_eq!(app.verify(&token).await.status, StatusCode::UNAUTHORIZED);
    let gone = portcullis_while_serving(&storage, &["admin", "users", "--email", &email]).await;
    assert_eq!(text(&gone).trim(), "no accounts match");
    let again = portcullis_while_serving(&storage, &["admin", "delete-user", &email]).await;
    assert!(!again.status.success());
    assert!(
        errors(&again).contains(&format!("no user {email:?} in ")),
        "{}",
        errors(&again)
    );
}

/// The field names of what `portcullis admin ... --json` printed: of the object, or of the
/// first element of an array.
fn json_fields(args: &[&str], output: &std::process::Output) -> Vec<String> {
    assert!(
        output.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let printed: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
    let object = match &printed {
        serde_json::Value::Array(items) => items.first().expect("an element"),
        other => other,
    };
    object
        .as_object()
        .unwrap_or_else(|| panic!("{args:?}: not an object: {printed}"))
        .keys()
        .cloned()
        .collect()
}

#[tokio::test]
async fn every_admin_command_prints_the_json_fields_scripts_read() {
    let app = TestApp::spawn().await;
    let storage = app.storage();
    let (_, email, token) = app.logged_in().await;
    let session = app
        .verify(&token)
        .await
        .header("x-auth-session-id")
        .map(str::to_owned)
        .expect("a session id");
    let session_fields = [
        "created_at",
        "id",
        "ip",
        "last_used_at",
        "live",
        "revoked_at",
        "revoked_reason",
        "user_agent",
        "user_id",
    ];
    let cases: Vec<(Vec<&str>, Vec<&str>)> = vec![
        (
            vec!["key", "create", "--name", "json-shapes"],
            vec!["key", "name"],
        ),
        (
            vec!["key", "list"],
            vec!["created_at", "name", "revoked_at"],
        ),
        (
            vec!["key", "revoke", "json-shapes"],
            vec!["name", "revoked"],
        ),
        (vec!["sessions", &email], session_fields.to_vec()),
        (vec!["revoke-token", "--token", &token], vec!["jti"]),
        (vec!["revoke-session", &session], session_fields.to_vec()),
        (
            vec!["revoke-user", &email],
            vec!["sessions_revoked", "token_version", "user_id"],
        ),
        (
            vec!["lock", &email],
            vec!["locked", "sessions_revoked", "token_version", "user_id"],
        ),
        (vec!["unlock", &email], vec!["locked", "user_id"]),
        (
            vec!["events", "--user", &email, "--limit", "1"],
            vec![
                "actor",
                "at",
                "details",
                "id",
                "ip",
                "kind",
                "session_id",
                "user_agent",
                "user_id",
            ],
        ),
    ];
    for (command, fields) in cases {
        let mut args = vec!["admin"];
        args.extend(&command);
        args.push("--json");
        let output = portcullis_while_serving(&storage, &args).await;
        assert_eq!(json_fields(&args, &output), fields, "{args:?}");
    }
}

/// `admin events` reads times as an operator types them and names the valid kinds.
#[tokio::test]
async fn events_take_ages_and_dates_and_name_the_kinds_they_know() {
    let app = TestApp::spawn().await;
    let storage = app.storage();
    app.logged_in().await;
    let count = |args: &[&str]| {
        let output = portcullis(&storage, args, "");
        assert!(
            output.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let events: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
        events.as_array().expect("a list").len()
    };
    let base = ["admin", "events", "--kind", "login_succeeded", "--json"];
    let with = |extra: &[&'static str]| [&base[..], extra].concat();
    assert_eq!(count(&with(&["--since", "2h"])), 1);
    // The login happened less than an hour ago, not more.
    assert_eq!(count(&with(&["--until", "1h"])), 0);
    assert_eq!(count(&with(&["--since", "2000-01-01"])), 1);
    assert_eq!(count(&with(&["--until", "2000-01-01"])), 0);
    assert_eq!(
        count(&with(&["--since", "2000-01-01T00:00:00Z", "--until", "0s"])),
        1
    );

    let unknown = portcullis(&storage, &["admin", "events", "--kind", "login"], "");
    assert!(!unknown.status.success());
    let stderr = String::from_utf8_lossy(&unknown.stderr);
    assert!(
        stderr.contains("login_succeeded") && stderr.contains("signing_key_retired"),
        "{stderr}"
    );
    let bad_time = portcullis(&storage, &["admin", "events", "--since", "yesterday"], "");
    assert!(!bad_time.status.success());
    let stderr = String::from_utf8_lossy(&bad_time.stderr);
    assert!(
        stderr.contains("2026-11-01") && stderr.contains("2h"),
        "{stderr}"
    );
}

/// `config check` validates the file and environment, prints what takes effect without a
/// secret in it, and fails on any error.
#[test]
fn config_check_prints_the_effective_configuration_without_secrets() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("portcullis.toml");
    std::fs::write(&file, "access_ttl = \"5m\"\nwebhook_url = \"https://hooks.example.com/T0/tok-en\"\nwebhook_secret = \"a webhook secret long enough\"\n").expect("write config");
    let check = |env: &[(&str, &str)]| {
        Command::new(binary())
            .args(["config", "check", "--config"])
            .arg(&file)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .envs(env.iter().copied())
            .output()
            .expect("portcullis runs")
    };
    let valid = check(&[
        (
            "PORTCULLIS_DATABASE_URL",
            "postgres://app:pg-password@db/auth",
        ),
        ("PORTCULLIS_REDIS_URL", "redis://:redis-password@cache:6379"),
        ("PORTCULLIS_KEY_ENCRYPTION_KEY", "a-key-encryption-key"),
    ]);
    assert!(
        valid.status.success(),
        "{}",
        String::from_utf8_lossy(&valid.stderr)
    );
    let printed = String::from_utf8_lossy(&valid.stdout);
    assert!(printed.contains("access_ttl: 300s"), "{printed}");
    assert!(printed.contains("postgres://app:***@db/auth"), "{printed}");
    for secret in [
        "pg-password",
        "redis-password",
        "tok-en",
        "long enough",
        "a-key-encryption",
    ] {
        assert!(!printed.contains(secret), "{secret} printed: {printed}");
    }
    let invalid = check(&[("PORTCULLIS_ACCESS_TTL", "banana")]);
    assert_eq!(invalid.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&invalid.stderr).contains("banana"));
}

/// What the admin API can do to roles and sessions, the command line can too.
#[tokio::test]
async fn roles_and_filtered_revocation_work_from_the_command_line() {
    let app = TestApp::spawn().await;
    let storage = app.storage();
    let (_, email, token) = app.logged_in().await;
    let json = |args: &[&str]| {
        let output = portcullis(&storage, args, "");
        assert!(
            output.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice::<serde_json::Value>(&output.stdout).expect("json")
    };
    let changed = json(&["admin", "roles", &email, "--role", "support", "--json"]);
    assert_eq!(changed["roles"], serde_json::json!(["support"]));
    let counted = json(&[
        "admin",
        "revoke-sessions",
        "--role",
        "support",
        "--dry-run",
        "--json",
    ]);
    assert_eq!(
        (counted["dry_run"].as_bool(), counted["sessions"].as_u64()),
        (Some(true), Some(1))
    );
    let revoked = json(&[
        "admin",
        "revoke-sessions",
        "--last-ip-in",
        "127.0.0.0/8",
        "--created-before",
        "0s",
        "--json",
    ]);
    assert_eq!(
        (revoked["dry_run"].as_bool(), revoked["sessions"].as_u64()),
        (Some(false), Some(1))
    );
    eventually("the session's token is refused", async || {
        app.verify(&token).await.status == StatusCode::UNAUTHORIZED
    })
    .await;
    let nothing = portcullis(&storage, &["admin", "revoke-sessions"], "");
    assert!(!nothing.status.success());
    let bad = portcullis(
        &storage,
        &["admin", "revoke-sessions", "--last-ip-in", "not-a-range"],
        "",
    );
    assert!(String::from_utf8_lossy(&bad.stderr).contains("CIDR"));
}
