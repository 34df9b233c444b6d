//! Discovery from the issuer URL alone: the document, and a resource server of another
//! ecosystem (Node's `openid-client` and `jose`, in `tests/discovery/`) that is given only the
//! issuer and verifies a real access token with what discovery told it.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use portcullis_tests::{free_port, TestApp};
use reqwest::StatusCode;
use std::path::Path;
use tokio::process::Command;

/// A gateway whose `public_url` is the address it listens on (the port is chosen first, since
/// the URL must be known before the gateway starts).
async fn published() -> (TestApp, String) {
    let port = free_port();
    let public_url = format!("http://127.0.0.1:{port}");
    let app = TestApp::spawn_with(|config| {
        config.listen = format!("127.0.0.1:{port}");
        // A trailing slash is how operators often write it; the issuer has none.
        config.public_url = Some(format!("{public_url}/"));
    })
    .await;
    (app, public_url)
}

#[tokio::test]
async fn without_a_public_url_there_is_no_discovery_document() {
    let app = TestApp::spawn().await;
    let reply = app.get("/.well-known/openid-configuration", None).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert_eq!(reply.body["error"], "not_found");
    assert!(reply.body["message"]
        .as_str()
        .unwrap()
        .contains("public_url"));
}

#[tokio::test]
async fn the_document_names_the_public_url_as_issuer_and_its_jwks() {
    let (app, public_url) = published().await;
    let reply = app.get("/.well-known/openid-configuration", None).await;
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    let document = &reply.body;
    assert_eq!(document["issuer"], public_url.as_str());
    assert_eq!(
        document["jwks_uri"],
        format!("{public_url}/.well-known/jwks.json")
    );
    assert_eq!(
        document["id_token_signing_alg_values_supported"],
        serde_json::json!([app.config.signing_alg.as_str()])
    );
    // A forged Host changes nothing: the URLs come from the configuration only.
    let forged = app
        .http()
        .get(app.url("/.well-known/openid-configuration"))
        .header("host", "evil.example")
        .send()
        .await
        .unwrap()
        .json::<serde_json::Value>()
        .await
        .unwrap();
    assert_eq!(&forged, document);

    let (_, _, token) = app.logged_in().await;
    let payload = token.split('.').nth(1).unwrap();
    let claims: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    assert_eq!(claims["iss"], public_url.as_str());
}

#[tokio::test]
async fn a_node_resource_server_given_only_the_issuer_verifies_a_token() {
    let (app, public_url) = published().await;
    let (_, email, token) = app.logged_in().await;
    let audience = app.config.audience.clone();

    let verified = node_verify(&public_url, &audience, &token).await;
    assert!(verified.status.success(), "{}", stderr(&verified));
    let answer: serde_json::Value = serde_json::from_slice(&verified.stdout).unwrap();
    assert_eq!(answer["claims"]["email"], email.as_str());
    assert_eq!(answer["claims"]["iss"], public_url.as_str());

    // The same library refuses a token the gateway did not sign as it stands. The signature's
    // first character is changed: its last one may carry only padding bits, and a lenient
    // decoder reads the same signature from either spelling.
    let signature_at = token.rfind('.').unwrap() + 1;
    let first = &token[signature_at..=signature_at];
    let other = if first == "A" { "B" } else { "A" };
    let forged = format!(
        "{}{other}{}",
        &token[..signature_at],
        &token[signature_at + 1..]
    );
    let refused = node_verify(&public_url, &audience, &forged).await;
    assert!(!refused.status.success());
    assert!(
        stderr(&refused).contains("signature"),
        "{}",
        stderr(&refused)
    );
}

/// Runs the Node check as a child process, awaited (the gateway answers it from this runtime).
async fn node_verify(issuer: &str, audience: &str, token: &str) -> std::process::Output {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("discovery");
    assert!(
        dir.join("node_modules/openid-client").is_dir(),
        "run `npm ci` in tests/discovery first (`just test` does)"
    );
    Command::new("node")
        .arg("verify.mjs")
        .args([issuer, audience, token])
        .current_dir(dir)
        .output()
        .await
        .expect("node runs (it is installed with the client library's tools)")
}

fn stderr(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}
