//! An account after registration, on every tier: a password set by an admin or changed by its
//! owner, accounts listed for the security team, an account erased; and the events each leaves.

use portcullis_tests::tier::{tier, Tier};
use portcullis_tests::{eventually, Browser, Reply, TestApp, PASSWORD};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const NEW_PASSWORD: &str = "a brand new passphrase";

async fn admin_key(app: &TestApp) -> String {
    app.gateway
        .create_admin_key("ops-oncall", "test")
        .await
        .expect("admin key")
}

async fn call(
    app: &TestApp,
    method: Method,
    path: &str,
    bearer: &str,
    body: Option<Value>,
    headers: &[(&str, &str)],
) -> Reply {
    let mut request = app
        .http()
        .request(method, app.url(path))
        .bearer_auth(bearer);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    Reply::read(request.send().await.expect("request")).await
}

/// `POST /auth/password` as the demo app sends it.
async fn change_password(app: &TestApp, token: &str, current: &str, new: &str) -> Reply {
    let body = json!({ "current_password": current, "new_password": new });
    call(
        app,
        Method::POST,
        "/auth/password",
        token,
        Some(body),
        &[("x-csrf", "1")],
    )
    .await
}

async fn events(app: &TestApp, key: &str, query: &str) -> Vec<Value> {
    let reply = call(
        app,
        Method::GET,
        &format!("/admin/events?{query}"),
        key,
        None,
        &[],
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    reply.body["events"].as_array().expect("events").clone()
}

/// Asserts that `replica` refuses `token`: at once on the production tier, where every replica
/// reads the revocation from Redis; within the embedded tier's follow interval on a second
/// process of one SQLite file (the command line waits for those, see `cli.rs`).
async fn refused_by_other_replica(replica: &TestApp, token: &str) {
    match tier() {
        Tier::Production => {
            assert_eq!(replica.verify(token).await.status, StatusCode::UNAUTHORIZED);
        }
        Tier::Embedded => {
            eventually("the other replica refuses the token", async || {
                replica.verify(token).await.status == StatusCode::UNAUTHORIZED
            })
            .await;
        }
    }
}

async fn login(app: &TestApp, email: &str, password: &str) -> (Browser, Reply) {
    let mut browser = app.browser();
    let reply = browser.login(email, password).await;
    (browser, reply)
}

#[tokio::test]
async fn an_admin_sets_a_password_and_every_session_of_the_user_ends() {
    let app = TestApp::spawn().await;
    let key = admin_key(&app).await;
    let email = "set-by-admin@example.com";
    let created = call(
        &app,
        Method::POST,
        "/admin/users",
        &key,
        Some(json!({ "email": email })),
        &[],
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED, "{created:?}");
    let user_id = created.body["user_id"].as_str().expect("id").to_owned();
    // Created without a password: no password logs in until one is set.
    assert_eq!(
        login(&app, email, PASSWORD).await.1.status,
        StatusCode::UNAUTHORIZED
    );
    let path = format!("/admin/users/{email}/password");
    let set = |password: &'static str| {
        let (app, key, path) = (&app, &key, &path);
        async move {
            let body = json!({ "password": password });
            call(app, Method::PUT, path, key, Some(body), &[]).await
        }
    };

    let first = set(PASSWORD).await;
    assert_eq!(first.status, StatusCode::OK, "{first:?}");
    assert_eq!(first.body["sessions_revoked"], 0);
    let (mut phone, reply) = login(&app, email, PASSWORD).await;
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    let phone_token = reply.access_token();
    let (_laptop, reply) = login(&app, email, PASSWORD).await;
    let laptop_token = reply.access_token();

    let second = set(NEW_PASSWORD).await;

    assert_eq!(second.status, StatusCode::OK, "{second:?}");
    assert_eq!(second.body["sessions_revoked"], 2);
    assert_eq!(second.body["token_version"], 2);
    for token in [&phone_token, &laptop_token] {
        assert_eq!(app.verify(token).await.status, StatusCode::UNAUTHORIZED);
    }
    let refused = phone.refresh().await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    assert_eq!(refused.error(), "session_revoked");
    assert_eq!(
        login(&app, email, PASSWORD).await.1.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        login(&app, email, NEW_PASSWORD).await.1.status,
        StatusCode::OK
    );

    let changed = events(&app, &key, &format!("user={user_id}&kind=password_changed")).await;
    assert_eq!(changed.len(), 2, "{changed:?}");
    assert_eq!(changed[0]["actor"], "ops-oncall");
    assert_eq!(changed[0]["details"]["by"], "admin");
    assert_eq!(changed[0]["details"]["sessions_revoked"], 2);
    // The rules of registration, and the usual answers for what is not there.
    let weak = set("short").await;
    assert_eq!(
        (weak.status, weak.error()),
        (StatusCode::BAD_REQUEST, "weak_password")
    );
    let nobody = call(
        &app,
        Method::PUT,
        "/admin/users/nobody@example.com/password",
        &key,
        Some(json!({ "password": NEW_PASSWORD })),
        &[],
    )
    .await;
    assert_eq!(
        (nobody.status, nobody.error()),
        (StatusCode::NOT_FOUND, "not_found")
    );
    let misspelt = call(
        &app,
        Method::PUT,
        &path,
        &key,
        Some(json!({ "pasword": NEW_PASSWORD })),
        &[],
    )
    .await;
    assert_eq!(
        (misspelt.status, misspelt.error()),
        (StatusCode::BAD_REQUEST, "invalid_request")
    );
}

#[tokio::test]
async fn the_owner_changes_their_password_keeping_this_session_and_ending_the_others() {
    let app = TestApp::spawn().await;
    let other_replica = app.sibling(|_| {}).await;
    let key = admin_key(&app).await;
    let (mut here, email, here_token) = app.logged_in().await;
    let (mut there, reply) = login(&app, &email, PASSWORD).await;
    let there_token = reply.access_token();

    // The proof is the current password, on a request a cross-site page cannot make.
    let body = json!({ "current_password": PASSWORD, "new_password": NEW_PASSWORD });
    let no_csrf = call(
        &app,
        Method::POST,
        "/auth/password",
        &here_token,
        Some(body),
        &[],
    )
    .await;
    assert_eq!(
        (no_csrf.status, no_csrf.error()),
        (StatusCode::FORBIDDEN, "csrf_required")
    );
    let wrong = change_password(&app, &here_token, "not my password", NEW_PASSWORD).await;
    assert_eq!(
        (wrong.status, wrong.error()),
        (StatusCode::FORBIDDEN, "invalid_current_password")
    );
    let weak = change_password(&app, &here_token, PASSWORD, "short").await;
    assert_eq!(
        (weak.status, weak.error()),
        (StatusCode::BAD_REQUEST, "weak_password")
    );
    let anonymous = app
        .http()
        .post(app.url("/auth/password"))
        .header("x-csrf", "1")
        .json(&json!({ "current_password": PASSWORD, "new_password": NEW_PASSWORD }))
        .send()
        .await
        .expect("request");
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);

    let changed = change_password(&app, &here_token, PASSWORD, NEW_PASSWORD).await;

    assert_eq!(changed.status, StatusCode::OK, "{changed:?}");
    assert_eq!(changed.body, json!({ "sessions_revoked": 1 }));
    // This session goes on, token and cookie alike; the other one is over on every replica.
    assert_eq!(app.verify(&here_token).await.status, StatusCode::OK);
    assert_eq!(
        other_replica.verify(&here_token).await.status,
        StatusCode::OK
    );
    assert_eq!(here.refresh().await.status, StatusCode::OK);
    assert_eq!(
        app.verify(&there_token).await.status,
        StatusCode::UNAUTHORIZED
    );
    refused_by_other_replica(&other_replica, &there_token).await;
    assert_eq!(there.refresh().await.error(), "session_revoked");
    assert_eq!(
        login(&app, &email, PASSWORD).await.1.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        login(&app, &email, NEW_PASSWORD).await.1.status,
        StatusCode::OK
    );

    let me = app.get("/auth/me", Some(&here_token)).await;
    let user_id = me.body["user_id"].as_str().expect("id").to_owned();
    let recorded = events(&app, &key, &format!("user={user_id}&kind=password_changed")).await;
    assert_eq!(recorded.len(), 1, "{recorded:?}");
    assert_eq!(recorded[0]["details"]["by"], "owner");
    assert_eq!(recorded[0]["session_id"], me.body["session_id"]);
    assert_eq!(recorded[0]["actor"], Value::Null);
    // The wrong guess is in the trail too, as a failed login made through a password change.
    let failed = events(&app, &key, &format!("user={user_id}&kind=login_failed")).await;
    let guesses: Vec<&Value> = failed
        .iter()
        .filter(|event| event["details"]["password_change"] == true)
        .collect();
    assert_eq!(guesses.len(), 1, "{failed:?}");
    assert_eq!(guesses[0]["details"]["password_change"], true);
    assert_eq!(guesses[0]["session_id"], me.body["session_id"]);
}

#[tokio::test]
async fn password_change_attempts_count_against_the_login_limits() {
    let app = TestApp::spawn_with(|config| {
        config.login_max_failures_per_account = 3;
        config.login_max_failures_per_ip = 100;
    })
    .await;
    let (_, email, token) = app.logged_in().await;

    for _ in 0..3 {
        let wrong = change_password(&app, &token, "guess guess guess", NEW_PASSWORD).await;
        assert_eq!(wrong.error(), "invalid_current_password");
    }
    // The limit holds even for the right password, and for logins: one budget of guesses.
    let limited = change_password(&app, &token, PASSWORD, NEW_PASSWORD).await;
    assert_eq!(
        (limited.status, limited.error()),
        (StatusCode::TOO_MANY_REQUESTS, "rate_limited")
    );
    assert!(limited.header("retry-after").is_some(), "{limited:?}");
    let login_reply = login(&app, &email, PASSWORD).await.1;
    assert_eq!(login_reply.status, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn accounts_are_listed_by_email_with_filters_and_pages() {
    let app = TestApp::spawn().await;
    let key = admin_key(&app).await;
    let marker = uuid::Uuid::new_v4().simple().to_string();
    for (name, roles) in [
        ("ann", vec!["ops"]),
        ("ben", vec![]),
        ("cat", vec!["ops", "admin"]),
    ] {
        let email = format!("{name}-{marker}@example.com");
        let body = json!({ "email": email, "password": PASSWORD, "roles": roles });
        let reply = call(&app, Method::POST, "/admin/users", &key, Some(body), &[]).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{reply:?}");
    }
    let ben = format!("ben-{marker}@example.com");
    assert_eq!(login(&app, &ben, PASSWORD).await.1.status, StatusCode::OK);
    let lock = format!("/admin/users/{ben}/lock");
    call(&app, Method::POST, &lock, &key, None, &[]).await;
    let list = |query: String| {
        let (app, key) = (&app, &key);
        async move {
            let reply = call(
                app,
                Method::GET,
                &format!("/admin/users?{query}"),
                key,
                None,
                &[],
            )
            .await;
            assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
            reply.body
        }
    };
    let emails = |page: &Value| -> Vec<String> {
        page["users"]
            .as_array()
            .expect("users")
            .iter()
            .map(|user| user["email"].as_str().expect("email").to_owned())
            .collect()
    };
    let named = |names: &[&str]| -> Vec<String> {
        names
            .iter()
            .map(|name| format!("{name}-{marker}@example.com"))
            .collect()
    };

    // Case-insensitive: the filter is an email's text, and emails are stored lower-cased.
    let all = list(format!("email={}", marker.to_uppercase())).await;
    assert_eq!(emails(&all), named(&["ann", "ben", "cat"]));
    assert_eq!(all["next_cursor"], Value::Null);
    let listed_ben = &all["users"][1];
    assert_eq!(listed_ben["locked"], true);
    assert_eq!(listed_ben["roles"], json!([]));
    assert!(listed_ben["last_login_at"].is_string(), "{listed_ben}");
    assert!(listed_ben["created_at"].is_string(), "{listed_ben}");
    assert_eq!(all["users"][0]["last_login_at"], Value::Null);
    assert!(listed_ben.get("password_hash").is_none());
    assert_eq!(
        emails(&list(format!("email={marker}&role=ops")).await),
        named(&["ann", "cat"])
    );
    assert_eq!(
        emails(&list(format!("email={marker}&locked=true")).await),
        named(&["ben"])
    );
    assert_eq!(
        emails(&list(format!("email={marker}&locked=false&role=admin")).await),
        named(&["cat"])
    );
    let first = list(format!("email={marker}&limit=2")).await;
    assert_eq!(emails(&first), named(&["ann", "ben"]));
    let cursor = first["next_cursor"]
        .as_str()
        .expect("a full page has a cursor");
    let second = list(format!("email={marker}&limit=2&cursor={cursor}")).await;
    assert_eq!(emails(&second), named(&["cat"]));
    assert_eq!(second["next_cursor"], Value::Null);

    for bad in [
        "role=Not%20A%20Role",
        "locked=yes",
        "limit=0",
        "limit=501",
        "emial=x",
        "email=",
        "email=%00",
        "cursor=a%00b",
        "email=a&email=b",
    ] {
        let reply = call(
            &app,
            Method::GET,
            &format!("/admin/users?{bad}"),
            &key,
            None,
            &[],
        )
        .await;
        assert_eq!(
            (reply.status, reply.error()),
            (StatusCode::BAD_REQUEST, "invalid_request"),
            "{bad}"
        );
    }
    // Admin keys only: a user's own token lists nothing.
    let (_, _, user_token) = app.logged_in().await;
    let refused = call(&app, Method::GET, "/admin/users", &user_token, None, &[]).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn an_erased_account_is_gone_its_tokens_refused_everywhere_and_its_events_anonymised() {
    let app = TestApp::spawn().await;
    let other_replica = app.sibling(|_| {}).await;
    let key = admin_key(&app).await;
    let (mut browser, email, token) = app.logged_in().await;
    let me = app.get("/auth/me", Some(&token)).await;
    let user_id = me.body["user_id"].as_str().expect("id").to_owned();
    // A failed login leaves the address in the trail.
    assert_eq!(
        login(&app, &email, "wrong password").await.1.status,
        StatusCode::UNAUTHORIZED
    );

    let erased = call(
        &app,
        Method::DELETE,
        &format!("/admin/users/{email}"),
        &key,
        None,
        &[],
    )
    .await;

    assert_eq!(erased.status, StatusCode::OK, "{erased:?}");
    assert_eq!(
        erased.body,
        json!({ "deleted": true, "sessions_revoked": 1, "user_id": user_id })
    );
    assert_eq!(app.verify(&token).await.status, StatusCode::UNAUTHORIZED);
    refused_by_other_replica(&other_replica, &token).await;
    assert_eq!(browser.refresh().await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        login(&app, &email, PASSWORD).await.1.error(),
        "invalid_credentials"
    );
    for path in [
        format!("/admin/users/{email}/sessions"),
        format!("/admin/users/{user_id}/sessions"),
    ] {
        let reply = call(&app, Method::GET, &path, &key, None, &[]).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{path}");
    }
    let again = call(
        &app,
        Method::DELETE,
        &format!("/admin/users/{user_id}"),
        &key,
        None,
        &[],
    )
    .await;
    assert_eq!(
        (again.status, again.error()),
        (StatusCode::NOT_FOUND, "not_found")
    );

    // The trail stays, found by the id, without the address.
    let trail = events(&app, &key, &format!("user={user_id}")).await;
    let kinds: Vec<&str> = trail
        .iter()
        .map(|e| e["kind"].as_str().expect("kind"))
        .collect();
    assert_eq!(
        kinds,
        [
            "user_deleted",
            "login_failed",
            "login_succeeded",
            "user_registered"
        ]
    );
    assert_eq!(trail[0]["actor"], "ops-oncall");
    assert_eq!(trail[0]["details"]["sessions_ended"], 1);
    assert_eq!(trail[1]["details"]["email"], user_id.as_str());
    assert!(!Value::Array(trail.clone()).to_string().contains(&email));
    if tier() == Tier::Embedded {
        // Not in the database file either: deleted rows are overwritten (the write-ahead log
        // is truncated only when no reader holds it, see the README).
        {
            let path = app.storage().data.path().join("portcullis.db");
            let bytes = std::fs::read(&path).unwrap_or_default();
            let found = bytes
                .windows(email.len())
                .position(|window| window == email.as_bytes());
            let context = found.map(|at| {
                String::from_utf8_lossy(
                    &bytes[at.saturating_sub(40)..(at + email.len() + 40).min(bytes.len())],
                )
                .into_owned()
            });
            assert!(
                found.is_none(),
                "{email} is still in {}: {context:?}",
                path.display()
            );
        }
    }

    // The address is free again, for a new account that has nothing of the old one.
    app.register(&email, PASSWORD).await;
    let (_, reply) = login(&app, &email, PASSWORD).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(app.verify(&token).await.status, StatusCode::UNAUTHORIZED);
    // A replica that starts now fills its cache from storage, and still refuses the old token.
    let restarted = other_replica.restart().await;
    assert_eq!(
        restarted.verify(&token).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        restarted.verify(&reply.access_token()).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn registrations_are_recorded_with_who_made_them() {
    let app = TestApp::spawn().await;
    let key = admin_key(&app).await;
    let email = app.new_user().await;
    let body = json!({ "email": "made-by-admin@example.com", "roles": ["ops"] });
    let made = call(&app, Method::POST, "/admin/users", &key, Some(body), &[]).await;
    assert_eq!(made.status, StatusCode::CREATED);

    let registered = events(&app, &key, "kind=user_registered").await;

    assert_eq!(registered.len(), 2, "{registered:?}");
    let (by_admin, by_self) = (&registered[0], &registered[1]);
    assert_eq!(by_admin["user_id"], made.body["user_id"]);
    assert_eq!(by_admin["actor"], "ops-oncall");
    assert_eq!(
        by_admin["details"],
        json!({ "by": "admin", "password_set": false, "roles": ["ops"] })
    );
    assert_eq!(by_self["details"], json!({ "by": "self" }));
    assert_eq!(by_self["actor"], Value::Null);
    assert!(by_self["ip"].is_string(), "{by_self}");
    let own = app.gateway.find_user(&email).await.expect("user");
    assert_eq!(by_self["user_id"], own.id.to_string());
}
