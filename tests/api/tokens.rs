//! `/auth/verify` and access-token verification: the identity headers on success, and every
//! forged or wrong token refused with 401 and an RFC 6750 challenge.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use portcullis_service::SigningAlg;
use portcullis_tests::{Reply, TestApp};
use reqwest::StatusCode;
use serde_json::{json, Value};

fn decode_part(token: &str, index: usize) -> Value {
    let part = token.split('.').nth(index).expect("token part");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).expect("base64url")).expect("json")
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

fn assert_refused(reply: &Reply, case: &str) {
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{case}: {reply:?}");
    assert_eq!(reply.error(), "invalid_token", "{case}");
    assert_eq!(
        reply.header("www-authenticate"),
        Some(r#"Bearer error="invalid_token""#),
        "{case}"
    );
    assert!(reply.header("x-auth-user-id").is_none(), "{case}");
}

#[tokio::test]
async fn verify_answers_200_with_the_identity_headers() {
    let app = TestApp::spawn().await;
    let (_, email, access) = app.logged_in().await;
    let reply = app.verify(&access).await;
    assert_eq!(reply.status, StatusCode::OK);
    let claims = decode_part(&access, 1);
    assert_eq!(reply.header("x-auth-user-id"), claims["sub"].as_str());
    assert_eq!(reply.header("x-auth-email"), Some(email.as_str()));
    assert_eq!(reply.header("x-auth-roles"), Some(""));
    assert_eq!(reply.header("x-auth-session-id"), claims["sid"].as_str());
}

#[tokio::test]
async fn verify_without_a_token_is_401_with_a_bearer_challenge() {
    let app = TestApp::spawn().await;
    assert_refused(&app.get("/auth/verify", None).await, "no token");
    let reply = portcullis_tests::Reply::read(
        app.http()
            .get(app.url("/auth/verify"))
            .header("authorization", "Basic dXNlcjpwYXNz")
            .send()
            .await
            .expect("request"),
    )
    .await;
    assert_refused(&reply, "basic auth");
}

#[tokio::test]
async fn issued_tokens_carry_the_documented_header_and_claims() {
    let app = TestApp::spawn().await;
    let (_, _, access) = app.logged_in().await;
    let header = decode_part(&access, 0);
    assert_eq!(header["typ"], "at+jwt");
    assert_eq!(header["alg"], "EdDSA");
    assert_eq!(header["kid"], app.gateway.signing_kid().as_str());
    let claims = decode_part(&access, 1);
    for claim in [
        "iss", "aud", "sub", "iat", "nbf", "exp", "jti", "sid", "ver", "roles", "email",
    ] {
        assert!(claims.get(claim).is_some(), "missing {claim}");
    }
    assert_eq!(
        claims["exp"].as_i64().expect("exp") - claims["iat"].as_i64().expect("iat"),
        900
    );
}

#[tokio::test]
async fn tokens_verify_anywhere_from_the_jwks() {
    let app = TestApp::spawn().await;
    let (_, _, access) = app.logged_in().await;
    let jwks = app.get("/.well-known/jwks.json", None).await.body;
    let x = jwks["keys"][0]["x"].as_str().expect("x");
    let key = jsonwebtoken::DecodingKey::from_ed_components(x).expect("key");
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::EdDSA);
    validation.set_audience(&["portcullis"]);
    validation.set_issuer(&["portcullis"]);
    let data = jsonwebtoken::decode::<Value>(&access, &key, &validation)
        .expect("verifies with the published key");
    assert_eq!(data.claims["aud"], "portcullis");
}

#[tokio::test]
async fn es256_can_be_selected() {
    let app = TestApp::spawn_with(|config| config.signing_alg = SigningAlg::ES256).await;
    let (_, _, access) = app.logged_in().await;
    assert_eq!(decode_part(&access, 0)["alg"], "ES256");
    let jwks = app.get("/.well-known/jwks.json", None).await.body;
    assert_eq!(jwks["keys"][0]["kty"], "EC");
    assert_eq!(jwks["keys"][0]["crv"], "P-256");
    assert_eq!(app.verify(&access).await.status, StatusCode::OK);
}

#[tokio::test]
async fn forged_and_wrong_tokens_are_refused() {
    let app = TestApp::spawn().await;
    let (_, _, access) = app.logged_in().await;
    let header = decode_part(&access, 0);
    let claims = decode_part(&access, 1);
    let kid = app.gateway.signing_kid();
    let with = |base: &Value, changes: Value| {
        let mut value = base.clone();
        for (key, change) in changes.as_object().expect("object") {
            if change.is_null() {
                value.as_object_mut().expect("object").remove(key);
            } else {
                value[key] = change.clone();
            }
        }
        value
    };
    let sign = |header: &Value, claims: &Value| app.gateway.sign_raw(header, claims);

    // The harness itself makes acceptable tokens: without this, every refusal below proves nothing.
    let control = sign(
        &header,
        &with(&claims, json!({ "jti": uuid::Uuid::new_v4() })),
    );
    assert_eq!(
        app.verify(&control).await.status,
        StatusCode::OK,
        "re-signed control token"
    );
    let t = now();
    let inside_leeway = sign(
        &header,
        &with(
            &claims,
            json!({ "iat": t - 100, "nbf": t - 100, "exp": t - 5 }),
        ),
    );
    assert_eq!(
        app.verify(&inside_leeway).await.status,
        StatusCode::OK,
        "5 s past exp is inside the 10 s leeway"
    );

    let encode = |value: &Value| URL_SAFE_NO_PAD.encode(value.to_string());
    let parts: Vec<&str> = access.split('.').collect();
    let public_key = URL_SAFE_NO_PAD
        .decode(
            app.get("/.well-known/jwks.json", None).await.body["keys"][0]["x"]
                .as_str()
                .expect("x"),
        )
        .expect("raw public key");
    let hs256_header = json!({ "alg": "HS256", "typ": "at+jwt", "kid": kid });
    let hs256_message = format!("{}.{}", encode(&hs256_header), parts[1]);
    let hs256_tag = aws_lc_rs::hmac::sign(
        &aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, &public_key),
        hs256_message.as_bytes(),
    );
    let cases: Vec<(&str, String)> = vec![
        (
            "alg none",
            format!(
                "{}.{}.",
                encode(&json!({ "alg": "none", "typ": "at+jwt", "kid": kid })),
                parts[1]
            ),
        ),
        (
            "tampered payload",
            format!(
                "{}.{}.{}",
                parts[0],
                encode(&with(&claims, json!({ "roles": ["admin"] }))),
                parts[2]
            ),
        ),
        (
            "HS256 signed with the public key",
            format!(
                "{hs256_message}.{}",
                URL_SAFE_NO_PAD.encode(hs256_tag.as_ref())
            ),
        ),
        (
            "unknown kid",
            sign(&with(&header, json!({ "kid": "not-a-key" })), &claims),
        ),
        (
            "missing kid",
            sign(&with(&header, json!({ "kid": null })), &claims),
        ),
        (
            "wrong audience",
            sign(&header, &with(&claims, json!({ "aud": "someone-else" }))),
        ),
        (
            "wrong issuer",
            sign(
                &header,
                &with(&claims, json!({ "iss": "https://evil.example" })),
            ),
        ),
        (
            "typ JWT",
            sign(&with(&header, json!({ "typ": "JWT" })), &claims),
        ),
        (
            "no typ",
            sign(&with(&header, json!({ "typ": null })), &claims),
        ),
        (
            "expired",
            sign(
                &header,
                &with(
                    &claims,
                    json!({ "iat": t - 1000, "nbf": t - 1000, "exp": t - 60 }),
                ),
            ),
        ),
        (
            "expired 30 s ago: inside jsonwebtoken's default 60 s leeway, outside ours",
            sign(
                &header,
                &with(
                    &claims,
                    json!({ "iat": t - 1000, "nbf": t - 1000, "exp": t - 30 }),
                ),
            ),
        ),
        (
            "nbf in the future",
            sign(&header, &with(&claims, json!({ "nbf": t + 60 }))),
        ),
        (
            "iat in the future",
            sign(&header, &with(&claims, json!({ "iat": t + 60 }))),
        ),
        (
            "crit header",
            sign(&with(&header, json!({ "crit": ["exp"] })), &claims),
        ),
        (
            "jku header",
            sign(
                &with(&header, json!({ "jku": "https://evil.example/jwks.json" })),
                &claims,
            ),
        ),
        (
            "x5u header",
            sign(
                &with(&header, json!({ "x5u": "https://evil.example/cert.pem" })),
                &claims,
            ),
        ),
        (
            "embedded jwk header",
            sign(
                &with(
                    &header,
                    json!({ "jwk": { "kty": "OKP", "crv": "Ed25519", "x": URL_SAFE_NO_PAD.encode(&public_key) } }),
                ),
                &claims,
            ),
        ),
        (
            "missing exp",
            sign(&header, &with(&claims, json!({ "exp": null }))),
        ),
        ("not a JWT", "not.a.jwt".to_owned()),
        ("empty", String::new()),
        ("oversized", "a".repeat(9000)),
    ];
    for (case, token) in cases {
        let reply = if token.is_empty() {
            Reply::read(
                app.http()
                    .get(app.url("/auth/verify"))
                    .header("authorization", "Bearer ")
                    .send()
                    .await
                    .expect("request"),
            )
            .await
        } else {
            app.verify(&token).await
        };
        assert_refused(&reply, case);
    }
}

#[tokio::test]
async fn a_token_of_another_audience_signed_by_the_same_key_is_refused() {
    let app = TestApp::spawn().await;
    let other = app
        .sibling(|config| config.audience = "another-api".into())
        .await;
    let (_, _, foreign) = other.logged_in().await;
    assert_eq!(other.verify(&foreign).await.status, StatusCode::OK);
    assert_refused(&app.verify(&foreign).await, "other audience");
}
