//! The route-policy example of the README, loaded as an operator would copy it: it must mean
//! what its comments say, for every method.

use portcullis::Config;
use portcullis_tests::TestApp;
use reqwest::StatusCode;

/// The first TOML block after the README's "**Route policies.**" heading.
fn readme_policy_example() -> String {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md"))
        .expect("README.md");
    let section = readme
        .split_once("**Route policies.**")
        .map(|(_, rest)| rest)
        .expect("the README has a route policies section");
    let block = section
        .split_once("```toml\n")
        .and_then(|(_, rest)| rest.split_once("```"))
        .map(|(block, _)| block)
        .expect("a TOML block in the route policies section");
    block.to_owned()
}

#[tokio::test]
async fn the_readme_policy_example_lets_auditors_read_and_only_admins_change() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("policy.toml");
    std::fs::write(&file, readme_policy_example()).expect("write the example");
    let example = Config::load(Some(&file)).expect("the README example is a valid config");
    assert!(!example.routes.is_empty(), "the example has rules");
    let app = TestApp::spawn_with(|config| config.routes = example.routes).await;

    let (_, _, auditor) = app.logged_in_with_roles(&["auditor"]).await;
    let (_, _, admin) = app.logged_in_with_roles(&["admin"]).await;
    let (_, _, plain) = app.logged_in().await;
    let verdict = |method: &'static str, token: String| {
        let app = &app;
        async move {
            let reply = app
                .http()
                .get(app.url("/auth/verify"))
                .bearer_auth(&token)
                .header("x-forwarded-method", method)
                .header("x-forwarded-uri", "/api/admin/reports")
                .send()
                .await
                .expect("check");
            reply.status()
        }
    };
    for method in ["GET", "HEAD"] {
        assert_eq!(
            verdict(method, auditor.clone()).await,
            StatusCode::OK,
            "{method}"
        );
        assert_eq!(
            verdict(method, plain.clone()).await,
            StatusCode::FORBIDDEN,
            "{method}"
        );
    }
    for method in ["POST", "PUT", "PATCH", "DELETE", "PROPFIND", "OPTIONS"] {
        assert_eq!(
            verdict(method, auditor.clone()).await,
            StatusCode::FORBIDDEN,
            "an auditor may not {method}"
        );
        assert_eq!(
            verdict(method, admin.clone()).await,
            StatusCode::OK,
            "{method}"
        );
    }
}
