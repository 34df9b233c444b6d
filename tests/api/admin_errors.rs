//! What `/admin/*` answers when something is wrong: 401 (with `WWW-Authenticate`) means the
//! admin key and nothing else; malformed input under a good key is 400 `invalid_request` whose
//! message says what to fix; a well-formed reference to nothing is 404.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use portcullis_tests::{Reply, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// One request to an admin route: its body is JSON text, sent as `application/json`, so that
/// broken JSON can be sent too.
struct Case {
    method: Method,
    path: String,
    body: Option<String>,
}

impl Case {
    fn new(method: Method, path: impl Into<String>, body: Option<Value>) -> Self {
        Self {
            method,
            path: path.into(),
            body: body.map(|body| body.to_string()),
        }
    }

    fn raw(method: Method, path: &str, body: &str) -> Self {
        Self {
            method,
            path: path.to_owned(),
            body: Some(body.to_owned()),
        }
    }

    async fn send(&self, app: &TestApp, bearer: Option<&str>) -> Reply {
        let mut request = app.http().request(self.method.clone(), app.url(&self.path));
        if let Some(bearer) = bearer {
            request = request.bearer_auth(bearer);
        }
        if let Some(body) = &self.body {
            request = request
                .header("content-type", "application/json")
                .body(body.clone());
        }
        Reply::read(request.send().await.expect("request")).await
    }

    fn describe(&self) -> String {
        format!(
            "{} {} {}",
            self.method,
            self.path,
            self.body.as_deref().unwrap_or("")
        )
    }
}

fn part(token: &str, index: usize) -> Value {
    let part = token.split('.').nth(index).expect("token part");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).expect("base64url")).expect("json")
}

fn encode(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(value.to_string())
}

async fn admin_key(app: &TestApp) -> String {
    app.gateway
        .create_admin_key("ops-oncall", "test")
        .await
        .expect("admin key")
}

fn assert_invalid_request(reply: &Reply, case: &str) {
    assert_eq!(
        (reply.status, reply.error()),
        (StatusCode::BAD_REQUEST, "invalid_request"),
        "{case}: {reply:?}"
    );
    assert!(
        reply.header("www-authenticate").is_none(),
        "{case}: a 400 does not challenge for credentials"
    );
}

#[tokio::test]
async fn malformed_admin_input_is_a_bad_request_and_only_the_admin_key_is_unauthorized() {
    let app = TestApp::spawn().await;
    let (_, email, token) = app.logged_in().await;
    let key = admin_key(&app).await;
    let jti = uuid::Uuid::new_v4();
    let cases = [
        // Tokens that are not ours to revoke.
        Case::new(
            Method::POST,
            "/admin/tokens/revoke",
            Some(json!({ "token": "not-a-jwt" })),
        ),
        Case::new(
            Method::POST,
            "/admin/tokens/revoke",
            Some(json!({ "token": "" })),
        ),
        Case::new(
            Method::POST,
            "/admin/tokens/revoke",
            Some(json!({ "jti": jti, "exp": 1_000_000_000_000_000_i64 })),
        ),
        // The last second of year 9999: a time, but not once the leeway is added.
        Case::new(
            Method::POST,
            "/admin/tokens/revoke",
            Some(json!({ "jti": jti, "exp": 253_402_300_799_i64 })),
        ),
        Case::new(
            Method::POST,
            "/admin/tokens/revoke",
            Some(json!({ "jti": "not-a-uuid", "exp": 1 })),
        ),
        Case::new(Method::POST, "/admin/tokens/revoke", Some(json!({}))),
        Case::raw(Method::POST, "/admin/tokens/revoke", "{\"token\": "),
        // Path segments that cannot name anything.
        Case::new(Method::DELETE, "/admin/sessions/not-a-uuid", None),
        Case::new(Method::POST, "/admin/users/not-a-user/revoke", None),
        Case::new(Method::POST, "/admin/users/not-a-user/lock", None),
        Case::new(Method::POST, "/admin/users/not-a-user/unlock", None),
        Case::new(Method::GET, "/admin/users/not-a-user/sessions", None),
        Case::new(
            Method::PATCH,
            "/admin/users/not-a-user",
            Some(json!({ "roles": [] })),
        ),
        Case::new(Method::POST, "/admin/users/%FF/lock", None),
        // Bodies of the wrong shape.
        Case::new(
            Method::PATCH,
            format!("/admin/users/{email}"),
            Some(json!({ "roles": "admin" })),
        ),
        Case::new(
            Method::POST,
            "/admin/users",
            Some(json!({ "email": "new@example.com", "roles": [], "admin": true })),
        ),
        Case::raw(Method::POST, "/admin/users", "not json"),
        // Filters.
        Case::new(Method::GET, "/admin/events?user=not-a-user", None),
        Case::new(Method::GET, "/admin/events?kind=nonsense", None),
        Case::new(Method::GET, "/admin/events?since=yesterday", None),
        Case::new(Method::GET, "/admin/events?limit=0", None),
        Case::new(Method::GET, "/admin/events?cursor=last", None),
        Case::new(Method::GET, "/admin/events?colour=red", None),
        Case::new(Method::POST, "/admin/revocations", Some(json!({}))),
        Case::new(
            Method::POST,
            "/admin/revocations",
            Some(json!({ "last_ip_in": "somewhere" })),
        ),
        Case::new(
            Method::POST,
            "/admin/revocations",
            Some(json!({ "created_before": "now" })),
        ),
        Case::new(
            Method::POST,
            "/admin/revocations",
            Some(json!({ "role": "admin", "dry_run": "yes" })),
        ),
    ];
    // Every case is tried before failing, so a failure lists all the wrong answers at once.
    let mut wrong = Vec::new();
    for case in &cases {
        let described = case.describe();
        let reply = case.send(&app, Some(&key)).await;
        if (reply.status, reply.error()) != (StatusCode::BAD_REQUEST, "invalid_request")
            || reply.header("www-authenticate").is_some()
        {
            wrong.push(format!(
                "{described} with the key: {} {}",
                reply.status, reply.body
            ));
        }
        // The key is checked first: the same request without a usable key is a 401, so a 401
        // never means anything but the key.
        for bearer in [None, Some("pcl_admin_wrong"), Some(token.as_str())] {
            let reply = case.send(&app, bearer).await;
            if reply.status != StatusCode::UNAUTHORIZED
                || reply.header("www-authenticate").is_none()
            {
                wrong.push(format!(
                    "{described} with {bearer:?}: {} {}",
                    reply.status, reply.body
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "wrong answers:\n{}", wrong.join("\n"));
}

#[tokio::test]
async fn a_token_not_signed_by_this_gateway_is_refused_as_a_bad_request_saying_so() {
    let app = TestApp::spawn().await;
    let (_, _, token) = app.logged_in().await;
    let key = admin_key(&app).await;
    let [header, payload, _] = token.split('.').collect::<Vec<_>>()[..] else {
        panic!("a JWT has three parts: {token}");
    };
    let zero_signature = URL_SAFE_NO_PAD.encode([0u8; 64]);
    let mut unknown_kid = part(&token, 0);
    unknown_kid["kid"] = json!("not-one-of-ours");
    let forged = [
        (
            "a signature that is not ours",
            format!("{header}.{payload}.{zero_signature}"),
        ),
        (
            "a key id we never had",
            format!(
                "{}.{payload}.{}",
                encode(&unknown_kid),
                token.rsplit('.').next().expect("signature")
            ),
        ),
    ];
    for (what, forged) in forged {
        let reply = Case::new(
            Method::POST,
            "/admin/tokens/revoke",
            Some(json!({ "token": forged })),
        )
        .send(&app, Some(&key))
        .await;
        assert_invalid_request(&reply, what);
        let message = reply.body["message"].as_str().unwrap_or_default();
        assert!(
            message.contains("not a token this gateway signed"),
            "{what}: the message says why, got {message:?}"
        );
    }
    assert_eq!(
        app.verify(&token).await.status,
        StatusCode::OK,
        "nothing was revoked"
    );
}

#[tokio::test]
async fn an_expired_token_of_ours_is_revoked_as_a_harmless_no_op() {
    let app = TestApp::spawn().await;
    let (_, _, token) = app.logged_in().await;
    let key = admin_key(&app).await;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let mut claims = part(&token, 1);
    let jti = uuid::Uuid::new_v4();
    claims["jti"] = json!(jti);
    claims["iat"] = json!(now - 7200);
    claims["nbf"] = json!(now - 7200);
    claims["exp"] = json!(now - 3600);
    let expired = app.gateway.sign_raw(&part(&token, 0), &claims);
    assert_eq!(
        app.verify(&expired).await.status,
        StatusCode::UNAUTHORIZED,
        "the token really is expired"
    );
    // Revoking what can no longer be used is not an error: the operator's intent already holds.
    let reply = Case::new(
        Method::POST,
        "/admin/tokens/revoke",
        Some(json!({ "token": expired })),
    )
    .send(&app, Some(&key))
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    assert_eq!(reply.body["jti"], json!(jti));
}

#[tokio::test]
async fn well_formed_references_to_nothing_are_not_found() {
    let app = TestApp::spawn().await;
    let key = admin_key(&app).await;
    let nobody = uuid::Uuid::new_v4();
    for case in [
        Case::new(Method::DELETE, format!("/admin/sessions/{nobody}"), None),
        Case::new(Method::POST, format!("/admin/users/{nobody}/lock"), None),
        Case::new(
            Method::GET,
            "/admin/users/nobody@example.com/sessions",
            None,
        ),
        Case::new(Method::GET, "/admin/events?user=nobody@example.com", None),
    ] {
        let reply = case.send(&app, Some(&key)).await;
        assert_eq!(
            (reply.status, reply.error()),
            (StatusCode::NOT_FOUND, "not_found"),
            "{}: {reply:?}",
            case.describe()
        );
    }
}

/// Every JSON body is an object: the array spelling serde would also read into a struct (its
/// fields in order) is refused, on the admin API and the public one alike.
#[tokio::test]
async fn a_body_that_is_not_a_json_object_is_refused() {
    let app = TestApp::spawn().await;
    let key = app
        .gateway
        .create_admin_key("ops-oncall", "test")
        .await
        .expect("admin key");
    let email = app.new_user().await;
    let cases = [
        (Method::POST, "/admin/keys/rotate", "[]"),
        (Method::POST, "/admin/keys/rotate", "[true]"),
        (
            Method::POST,
            "/admin/users",
            r#"["new@example.com", null, []]"#,
        ),
        (Method::POST, "/admin/revocations", "[]"),
        (Method::POST, "/admin/keys/rotate", "true"),
        (Method::POST, "/admin/keys/rotate", "null"),
    ];
    for (method, path, body) in cases {
        let reply = Case::raw(method.clone(), path, body)
            .send(&app, Some(&key))
            .await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{method} {path} {body}: {reply:?}"
        );
        assert_eq!(reply.error(), "invalid_request", "{path} {body}");
    }
    let login = app
        .http()
        .post(app.url("/auth/login"))
        .header("content-type", "application/json")
        .body(format!(r#"["{email}", "{}"]"#, portcullis_tests::PASSWORD))
        .send()
        .await
        .expect("login");
    let login = Reply::read(login).await;
    assert_eq!(login.status, StatusCode::BAD_REQUEST, "{login:?}");
    let keys = app.gateway.signing_keys().await.expect("keys");
    assert_eq!(keys.len(), 1, "no rotation happened");
}
