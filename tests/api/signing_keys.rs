//! The signing-key lifecycle over the admin API and the command line: rotate (published ahead,
//! or at once), retire, and what verifiers see at each step: the JWKS lists exactly the
//! published keys, old tokens keep verifying until their key is retired, new ones carry the new
//! kid.

use portcullis_tests::replica::binary;
use portcullis_tests::{kid_of, Reply, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use tokio::process::Command;

async fn admin_call(
    app: &TestApp,
    key: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> Reply {
    let mut request = app.http().request(method, app.url(path)).bearer_auth(key);
    if let Some(body) = body {
        request = request.json(&body);
    }
    Reply::read(request.send().await.expect("request")).await
}

async fn admin_key(app: &TestApp) -> String {
    app.gateway
        .create_admin_key("key-custodian", "test")
        .await
        .expect("admin key")
}

/// The kids the JWKS publishes, in its order.
async fn published(app: &TestApp) -> Vec<String> {
    let jwks = app.get("/.well-known/jwks.json", None).await;
    assert_eq!(jwks.status, StatusCode::OK);
    jwks.body["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .map(|key| key["kid"].as_str().expect("kid").to_owned())
        .collect()
}

/// `kid → state` as `GET /admin/keys` lists them, newest first.
async fn states(app: &TestApp, key: &str) -> Vec<(String, String)> {
    let listed = admin_call(app, key, Method::GET, "/admin/keys", None).await;
    assert_eq!(listed.status, StatusCode::OK, "{listed:?}");
    listed.body["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .map(|key| {
            (
                key["kid"].as_str().expect("kid").to_owned(),
                key["state"].as_str().expect("state").to_owned(),
            )
        })
        .collect()
}

fn pair(kid: &str, state: &str) -> (String, String) {
    (kid.to_owned(), state.to_owned())
}

fn time_of(value: &Value) -> OffsetDateTime {
    OffsetDateTime::parse(value.as_str().expect("a time"), &Rfc3339).expect("RFC 3339")
}

#[tokio::test]
async fn an_emergency_rotation_then_retirement_cuts_off_exactly_the_old_keys_tokens() {
    let app = TestApp::spawn().await;
    let key = admin_key(&app).await;
    let (_, _, old_token) = app.logged_in().await;
    let old = kid_of(&old_token);
    assert_eq!(states(&app, &key).await, [pair(&old, "active")]);
    assert_eq!(published(&app).await, [old.as_str()]);

    let rotated = admin_call(
        &app,
        &key,
        Method::POST,
        "/admin/keys/rotate",
        Some(json!({ "now": true })),
    )
    .await;
    assert_eq!(rotated.status, StatusCode::CREATED, "{rotated:?}");
    assert_eq!(rotated.body["state"], "active");
    assert_eq!(rotated.body["alg"], "EdDSA");
    let new = rotated.body["kid"].as_str().expect("kid").to_owned();
    assert_ne!(new, old);

    // The old token still verifies; new tokens carry the new kid; both keys are published.
    assert_eq!(app.verify(&old_token).await.status, StatusCode::OK);
    let (_, _, new_token) = app.logged_in().await;
    assert_eq!(kid_of(&new_token), new);
    assert_eq!(published(&app).await, [new.clone(), old.clone()]);
    assert_eq!(
        states(&app, &key).await,
        [pair(&new, "active"), pair(&old, "retiring")]
    );
    let listed = admin_call(&app, &key, Method::GET, "/admin/keys", None).await;
    let retires_at = time_of(&listed.body["keys"][1]["retires_at"]);
    let activated = time_of(&listed.body["keys"][0]["activates_at"]);
    // Retiring for one token lifetime (access TTL 15m + leeway 10s) after the new key took over.
    assert_eq!(retires_at - activated, time::Duration::seconds(910));

    // The active key cannot be retired; an unknown one is not found.
    let refused = admin_call(
        &app,
        &key,
        Method::POST,
        &format!("/admin/keys/{new}/retire"),
        None,
    )
    .await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{refused:?}");
    assert_eq!(refused.error(), "key_active");
    let unknown = admin_call(&app, &key, Method::POST, "/admin/keys/nope/retire", None).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND, "{unknown:?}");
    assert_eq!(unknown.error(), "not_found");

    let retired = admin_call(
        &app,
        &key,
        Method::POST,
        &format!("/admin/keys/{old}/retire"),
        None,
    )
    .await;
    assert_eq!(retired.status, StatusCode::OK, "{retired:?}");
    assert_eq!(retired.body["state"], "retired");
    let refused = app.verify(&old_token).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED, "{refused:?}");
    assert_eq!(refused.error(), "invalid_token");
    assert_eq!(app.verify(&new_token).await.status, StatusCode::OK);
    assert_eq!(published(&app).await, [new.as_str()]);
    assert_eq!(
        states(&app, &key).await,
        [pair(&new, "active"), pair(&old, "retired")]
    );
    let again = admin_call(
        &app,
        &key,
        Method::POST,
        &format!("/admin/keys/{old}/retire"),
        None,
    )
    .await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert_eq!(again.error(), "key_already_retired");

    // Both steps are security events, naming the key and who acted.
    let events = admin_call(&app, &key, Method::GET, "/admin/events?limit=10", None).await;
    let kinds: Vec<&str> = events.body["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter(|event| event["actor"] == "key-custodian")
        .map(|event| event["kind"].as_str().expect("kind"))
        .collect();
    assert_eq!(
        kinds,
        ["signing_key_retired", "signing_key_rotated"],
        "{events:?}"
    );
}

#[tokio::test]
async fn a_scheduled_style_rotation_is_published_before_it_signs() {
    let app = TestApp::spawn().await;
    let key = admin_key(&app).await;
    let (_, _, token) = app.logged_in().await;
    let old = kid_of(&token);
    let rotated = admin_call(
        &app,
        &key,
        Method::POST,
        "/admin/keys/rotate",
        Some(json!({})),
    )
    .await;
    assert_eq!(rotated.status, StatusCode::CREATED, "{rotated:?}");
    assert_eq!(rotated.body["state"], "next");
    let next = rotated.body["kid"].as_str().expect("kid").to_owned();
    let ahead = time_of(&rotated.body["activates_at"]) - time_of(&rotated.body["created_at"]);
    assert_eq!(
        ahead,
        time::Duration::minutes(10),
        "signing_key_publish_ahead"
    );
    // Published at once, so cached JWKS copies know it before it signs; not signing yet.
    assert_eq!(published(&app).await, [next.clone(), old.clone()]);
    let (_, _, fresh) = app.logged_in().await;
    assert_eq!(kid_of(&fresh), old);
    // A key that has not activated cannot be used to sign a token that verifies here.
    let next_state = states(&app, &key).await;
    assert_eq!(next_state, [pair(&next, "next"), pair(&old, "active")]);
    // Retiring a key still waiting is allowed (it has signed nothing).
    let retired = admin_call(
        &app,
        &key,
        Method::POST,
        &format!("/admin/keys/{next}/retire"),
        None,
    )
    .await;
    assert_eq!(retired.status, StatusCode::OK, "{retired:?}");
    assert_eq!(published(&app).await, [old]);
}

#[tokio::test]
async fn the_rotation_body_is_checked() {
    let app = TestApp::spawn().await;
    let key = admin_key(&app).await;
    let wrong = admin_call(
        &app,
        &key,
        Method::POST,
        "/admin/keys/rotate",
        Some(json!({ "now": "yes" })),
    )
    .await;
    assert_eq!(wrong.status, StatusCode::BAD_REQUEST, "{wrong:?}");
    let unknown = admin_call(
        &app,
        &key,
        Method::POST,
        "/admin/keys/rotate",
        Some(json!({ "later": true })),
    )
    .await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST, "{unknown:?}");
    let anonymous = app.send(Method::GET, "/admin/keys", None).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    assert_eq!(states(&app, &key).await.len(), 1, "nothing was rotated");
}

#[tokio::test]
async fn scheduled_rotation_makes_one_next_key_published_ahead() {
    let app = TestApp::spawn_with(|config| {
        config.signing_key_rotation = std::time::Duration::from_secs(2);
    })
    .await;
    let key = admin_key(&app).await;
    let first = states(&app, &key).await;
    assert_eq!(first.len(), 1);
    portcullis_tests::eventually("the schedule rotates", async || {
        states(&app, &key).await.len() >= 2
    })
    .await;
    let listed = admin_call(&app, &key, Method::GET, "/admin/keys", None).await;
    let newest = &listed.body["keys"][0];
    assert_eq!(newest["state"], "next");
    let ahead = time_of(&newest["activates_at"]) - time_of(&newest["created_at"]);
    assert_eq!(ahead, time::Duration::minutes(10));
    // The event follows the key's commit; the schedule is its actor.
    portcullis_tests::eventually("the rotation is recorded", async || {
        let events = admin_call(
            &app,
            &key,
            Method::GET,
            "/admin/events?kind=signing_key_rotated",
            None,
        )
        .await;
        events.body["events"][0]["actor"] == "schedule"
    })
    .await;
}

/// Runs `portcullis keys ...` against the app's storage, while the app keeps serving (a
/// retirement waits for the running server to confirm it).
async fn keys(app: &TestApp, args: &[&str]) -> std::process::Output {
    Command::new(binary())
        .arg("keys")
        .args(args)
        .envs(app.storage().env())
        .env("RUST_LOG", "warn")
        .output()
        .await
        .expect("portcullis keys runs")
}

fn succeeded(output: &std::process::Output) -> String {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout.clone()).expect("utf8")
}

#[tokio::test]
async fn the_command_line_rotates_and_retires_and_running_servers_obey_at_once() {
    let app = TestApp::spawn().await;
    let (_, _, old_token) = app.logged_in().await;
    let old = kid_of(&old_token);

    let listed: Value =
        serde_json::from_str(&succeeded(&keys(&app, &["list", "--json"]).await)).expect("JSON");
    assert_eq!(listed["keys"][0]["kid"], old.as_str());
    assert_eq!(listed["keys"][0]["state"], "active");
    let text = succeeded(&keys(&app, &["list"]).await);
    assert!(text.contains(&old) && text.contains("active"), "{text}");

    let refused = keys(&app, &["retire", &old]).await;
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("active key"), "{stderr}");

    let rotated: Value = serde_json::from_str(&succeeded(
        &keys(&app, &["rotate", "--now", "--json"]).await,
    ))
    .expect("JSON");
    let new = rotated["kid"].as_str().expect("kid").to_owned();
    assert_eq!(rotated["state"], "active");
    // The running server signs with it once it rereads the keys (within a second).
    portcullis_tests::eventually("the server signs with the new key", async || {
        let (_, _, token) = app.logged_in().await;
        kid_of(&token) == new
    })
    .await;
    assert_eq!(app.verify(&old_token).await.status, StatusCode::OK);

    let retired = succeeded(&keys(&app, &["retire", &old]).await);
    assert!(retired.contains("retired"), "{retired}");
    // In force by the time the command returned.
    assert_eq!(
        app.verify(&old_token).await.status,
        StatusCode::UNAUTHORIZED
    );
}
