//! `/admin/*`: the security team's API, on every tier.

use portcullis_tests::{Browser, Reply, TestApp, PASSWORD};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

struct Admin<'a> {
    app: &'a TestApp,
    key: String,
}

impl<'a> Admin<'a> {
    async fn new(app: &'a TestApp) -> Self {
        let key = app
            .gateway
            .create_admin_key("ops-oncall", "test")
            .await
            .expect("admin key");
        Self { app, key }
    }

    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> Reply {
        call(self.app, method, path, Some(&self.key), body).await
    }
}

async fn call(
    app: &TestApp,
    method: Method,
    path: &str,
    bearer: Option<&str>,
    body: Option<Value>,
) -> Reply {
    let mut request = app.http().request(method, app.url(path));
    if let Some(bearer) = bearer {
        request = request.bearer_auth(bearer);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    Reply::read(request.send().await.expect("request")).await
}

#[tokio::test]
async fn admin_routes_accept_live_admin_keys_only() {
    let app = TestApp::spawn().await;
    let (_, email, user_token) = app.logged_in().await;
    let admin = Admin::new(&app).await;
    let path = format!("/admin/users/{email}/sessions");
    assert_eq!(
        admin.call(Method::GET, &path, None).await.status,
        StatusCode::OK
    );
    let forged = format!("{}x", admin.key);
    for bearer in [
        None,
        Some(user_token.as_str()),
        Some("pcl_admin_nope"),
        Some(forged.as_str()),
    ] {
        let reply = call(&app, Method::GET, &path, bearer, None).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{bearer:?}");
        assert_eq!(reply.error(), "invalid_token");
        assert!(reply.header("www-authenticate").is_some());
    }
    app.gateway
        .revoke_admin_key("ops-oncall", "test")
        .await
        .expect("revoke key");
    assert_eq!(
        admin.call(Method::GET, &path, None).await.status,
        StatusCode::UNAUTHORIZED,
        "a revoked key"
    );
}

#[tokio::test]
async fn revoking_a_user_kills_their_tokens_and_sessions_at_the_next_request() {
    let app = TestApp::spawn().await;
    let (mut laptop, email, laptop_token) = app.logged_in().await;
    let mut phone = app.browser();
    let phone_token = phone.login(&email, PASSWORD).await.access_token();
    let (_, _, bystander) = app.logged_in().await;
    let admin = Admin::new(&app).await;
    let reply = admin
        .call(Method::POST, &format!("/admin/users/{email}/revoke"), None)
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    assert_eq!(reply.body["token_version"], 1);
    assert_eq!(reply.body["sessions_revoked"], 2);
    for token in [&laptop_token, &phone_token] {
        assert_eq!(app.verify(token).await.status, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(laptop.refresh().await.error(), "session_revoked");
    assert_eq!(phone.refresh().await.error(), "session_revoked");
    assert_eq!(app.verify(&bystander).await.status, StatusCode::OK);
    let events = admin
        .call(Method::GET, "/admin/events?kind=user_revoked", None)
        .await;
    let event = &events.body["events"][0];
    assert_eq!(event["actor"], "ops-oncall");
    assert_eq!(event["details"]["sessions_revoked"], 2);
}

#[tokio::test]
async fn lock_blocks_login_and_unlock_restores_it() {
    let app = TestApp::spawn().await;
    let (mut browser, email, token) = app.logged_in().await;
    let user_id = app.get("/auth/me", Some(&token)).await.body["user_id"]
        .as_str()
        .expect("id")
        .to_owned();
    let admin = Admin::new(&app).await;
    let reply = admin
        .call(Method::POST, &format!("/admin/users/{user_id}/lock"), None)
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body["locked"], true);
    assert_eq!(
        app.browser().login(&email, PASSWORD).await.error(),
        "account_locked"
    );
    assert_eq!(app.verify(&token).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(browser.refresh().await.error(), "session_revoked");
    assert_eq!(
        admin
            .call(
                Method::POST,
                &format!("/admin/users/{user_id}/unlock"),
                None
            )
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        app.browser().login(&email, PASSWORD).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn admins_create_users_and_bad_input_is_refused_whole() {
    let app = TestApp::spawn().await;
    let admin = Admin::new(&app).await;
    let created = admin
        .call(
            Method::POST,
            "/admin/users",
            Some(json!({ "email": "New@Example.com", "password": PASSWORD, "roles": ["billing"] })),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{created:?}");
    let token = app
        .browser()
        .login("new@example.com", PASSWORD)
        .await
        .access_token();
    assert_eq!(
        app.verify(&token).await.header("x-auth-roles"),
        Some("billing")
    );
    let no_password = admin
        .call(
            Method::POST,
            "/admin/users",
            Some(json!({ "email": "sso@example.com", "roles": [] })),
        )
        .await;
    assert_eq!(no_password.status, StatusCode::CREATED);
    assert_eq!(
        app.browser().login("sso@example.com", "").await.error(),
        "invalid_credentials"
    );
    let cases = [
        (
            json!({ "email": "new@example.com", "roles": [] }),
            StatusCode::CONFLICT,
            "email_taken",
        ),
        (
            json!({ "email": "not an email", "roles": [] }),
            StatusCode::BAD_REQUEST,
            "invalid_email",
        ),
        (
            json!({ "email": "r@example.com", "roles": ["Bad Role"] }),
            StatusCode::BAD_REQUEST,
            "invalid_role",
        ),
        (
            json!({ "email": "x@example.com", "rolez": [] }),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
    ];
    for (body, status, code) in cases {
        let reply = admin
            .call(Method::POST, "/admin/users", Some(body.clone()))
            .await;
        assert_eq!((reply.status, reply.error()), (status, code), "{body}");
    }
    assert_eq!(
        app.browser().login("r@example.com", PASSWORD).await.error(),
        "invalid_credentials",
        "nothing half-created"
    );
}

#[tokio::test]
async fn a_role_change_kills_old_tokens_and_the_next_refresh_carries_the_new_roles() {
    let app = TestApp::spawn().await;
    let (mut browser, email, old) = app.logged_in().await;
    let admin = Admin::new(&app).await;
    let reply = admin
        .call(
            Method::PATCH,
            &format!("/admin/users/{email}"),
            Some(json!({ "roles": ["support", "admin"] })),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    assert_eq!(reply.body["roles"], json!(["admin", "support"]));
    assert_eq!(
        app.verify(&old).await.status,
        StatusCode::UNAUTHORIZED,
        "old roles die at once"
    );
    let fresh = browser.refresh().await.access_token();
    assert_eq!(
        app.verify(&fresh).await.header("x-auth-roles"),
        Some("admin,support")
    );
    let missing = admin
        .call(
            Method::PATCH,
            "/admin/users/nobody@example.com",
            Some(json!({ "roles": [] })),
        )
        .await;
    assert_eq!(
        (missing.status, missing.error()),
        (StatusCode::NOT_FOUND, "not_found")
    );
}

#[tokio::test]
async fn sessions_are_listed_with_revocations_and_can_be_revoked_one_by_one() {
    let app = TestApp::spawn().await;
    let (mut first, email, first_token) = app.logged_in().await;
    let mut second = app.browser();
    let second_token = second.login(&email, PASSWORD).await.access_token();
    first.logout(None).await;
    let admin = Admin::new(&app).await;
    let path = format!("/admin/users/{email}/sessions");
    let sessions = admin.call(Method::GET, &path, None).await.body;
    let sessions = sessions.as_array().expect("list");
    assert_eq!(sessions.len(), 2, "live and recently revoked");
    let revoked: Vec<_> = sessions.iter().filter(|s| s["live"] == false).collect();
    assert_eq!(revoked.len(), 1);
    assert_eq!(revoked[0]["revoked_reason"], "logout");
    let live = sessions
        .iter()
        .find(|s| s["live"] == true)
        .expect("live session");
    let reply = admin
        .call(
            Method::DELETE,
            &format!("/admin/sessions/{}", live["id"].as_str().expect("id")),
            None,
        )
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    assert_eq!(
        app.verify(&second_token).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(second.refresh().await.error(), "session_revoked");
    assert_eq!(
        app.verify(&first_token).await.status,
        StatusCode::UNAUTHORIZED
    );
    let unknown = admin
        .call(
            Method::DELETE,
            &format!("/admin/sessions/{}", uuid::Uuid::new_v4()),
            None,
        )
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert_eq!(
        admin
            .call(
                Method::GET,
                "/admin/users/nobody@example.com/sessions",
                None
            )
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn single_tokens_are_revoked_by_text_or_by_jti() {
    let app = TestApp::spawn().await;
    let (mut browser, _, first) = app.logged_in().await;
    let second = browser.refresh().await.access_token();
    let admin = Admin::new(&app).await;
    let reply = admin
        .call(
            Method::POST,
            "/admin/tokens/revoke",
            Some(json!({ "token": first })),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    assert_eq!(app.verify(&first).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        app.verify(&second).await.status,
        StatusCode::OK,
        "only that token"
    );
    let claims = app.get("/auth/me", Some(&second)).await;
    assert_eq!(claims.status, StatusCode::OK);
    let payload = second.split('.').nth(1).expect("payload");
    use base64::Engine;
    let payload: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .expect("b64"),
    )
    .expect("json");
    let by_id = admin
        .call(
            Method::POST,
            "/admin/tokens/revoke",
            Some(json!({ "jti": payload["jti"], "exp": payload["exp"] })),
        )
        .await;
    assert_eq!(by_id.status, StatusCode::OK);
    assert_eq!(app.verify(&second).await.status, StatusCode::UNAUTHORIZED);
    for body in [
        json!({}),
        json!({ "jti": payload["jti"] }),
        json!({ "token": "not.a.jwt" }),
        json!({ "token": second, "jti": payload["jti"], "exp": 1 }),
    ] {
        let reply = admin
            .call(Method::POST, "/admin/tokens/revoke", Some(body.clone()))
            .await;
        assert_eq!(
            (reply.status, reply.error()),
            (StatusCode::BAD_REQUEST, "invalid_request"),
            "{body}: {reply:?}"
        );
    }
}

#[tokio::test]
async fn events_are_filtered_and_paged_newest_first() {
    let app = TestApp::spawn().await;
    let (_, email, _) = app.logged_in().await;
    for _ in 0..3 {
        app.browser().login(&email, "wrong password").await;
    }
    let admin = Admin::new(&app).await;
    let first = admin
        .call(
            Method::GET,
            &format!("/admin/events?user={email}&kind=login_failed&limit=2"),
            None,
        )
        .await;
    assert_eq!(first.status, StatusCode::OK, "{first:?}");
    let page = first.body["events"].as_array().expect("events");
    assert_eq!(page.len(), 2);
    for event in page {
        assert_eq!(event["kind"], "login_failed");
        assert_eq!(event["ip"], "127.0.0.1");
        assert!(event["at"].is_string() && event["user_id"].is_string());
    }
    let cursor = first.body["next_cursor"].as_str().expect("cursor");
    let second = admin
        .call(
            Method::GET,
            &format!("/admin/events?user={email}&kind=login_failed&limit=2&cursor={cursor}"),
            None,
        )
        .await;
    let rest = second.body["events"].as_array().expect("events");
    assert_eq!(rest.len(), 1);
    assert!(rest[0]["id"].as_i64() < page[1]["id"].as_i64());
    let future = admin
        .call(
            Method::GET,
            "/admin/events?since=2999-01-01T00:00:00Z",
            None,
        )
        .await;
    assert_eq!(future.body["events"], json!([]));
    for query in [
        "kind=nope",
        "since=yesterday",
        "limit=0",
        "limit=9999",
        "cursor=x",
        "colour=red",
    ] {
        let reply = admin
            .call(Method::GET, &format!("/admin/events?{query}"), None)
            .await;
        assert_eq!(
            (reply.status, reply.error()),
            (StatusCode::BAD_REQUEST, "invalid_request"),
            "{query}"
        );
    }
}

#[tokio::test]
async fn mass_revocation_counts_first_and_then_applies_as_one_event() {
    let app = TestApp::spawn().await;
    let admin = Admin::new(&app).await;
    let (_, staff_email, _) = app.logged_in().await;
    admin
        .call(
            Method::PATCH,
            &format!("/admin/users/{staff_email}"),
            Some(json!({ "roles": ["staff"] })),
        )
        .await;
    let mut staff: Browser = app.browser();
    let staff_token_2 = staff.login(&staff_email, PASSWORD).await.access_token();
    let (_, _, customer) = app.logged_in().await;
    let dry = admin
        .call(
            Method::POST,
            "/admin/revocations",
            Some(json!({ "role": "staff", "dry_run": true })),
        )
        .await;
    assert_eq!(dry.status, StatusCode::OK, "{dry:?}");
    assert_eq!(
        (dry.body["sessions"].as_u64(), dry.body["users"].as_u64()),
        (Some(2), Some(1))
    );
    assert_eq!(
        app.verify(&staff_token_2).await.status,
        StatusCode::OK,
        "a dry run changes nothing"
    );
    let applied = admin
        .call(
            Method::POST,
            "/admin/revocations",
            Some(json!({ "role": "staff" })),
        )
        .await;
    assert_eq!(applied.body["sessions"], 2);
    assert_eq!(
        app.verify(&staff_token_2).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(staff.refresh().await.error(), "session_revoked");
    assert_eq!(
        app.verify(&customer).await.status,
        StatusCode::OK,
        "other users untouched"
    );
    let by_range = admin
        .call(
            Method::POST,
            "/admin/revocations",
            Some(json!({ "last_ip_in": "127.0.0.0/8", "dry_run": true })),
        )
        .await;
    assert_eq!(
        by_range.body["sessions"], 1,
        "the customer's session, last used from loopback"
    );
    let elsewhere = admin
        .call(
            Method::POST,
            "/admin/revocations",
            Some(json!({ "last_ip_in": "203.0.113.0/24" })),
        )
        .await;
    assert_eq!(elsewhere.body["sessions"], 0);
    let before = admin
        .call(
            Method::POST,
            "/admin/revocations",
            Some(json!({ "created_before": "2000-01-01T00:00:00Z", "dry_run": true })),
        )
        .await;
    assert_eq!(before.body["sessions"], 0);
    for body in [
        json!({}),
        json!({ "dry_run": true }),
        json!({ "last_ip_in": "nope" }),
        json!({ "created_before": "soon" }),
    ] {
        let reply = admin
            .call(Method::POST, "/admin/revocations", Some(body.clone()))
            .await;
        assert_eq!(
            (reply.status, reply.error()),
            (StatusCode::BAD_REQUEST, "invalid_request"),
            "{body}"
        );
    }
    let events = admin
        .call(Method::GET, "/admin/events?kind=session_revoked", None)
        .await
        .body;
    let mass: Vec<_> = events["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| e["details"]["mass_revocation"].is_object())
        .collect();
    assert_eq!(
        mass.len(),
        2,
        "one event per applied revocation, none for dry runs"
    );
}
