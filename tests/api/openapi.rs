//! `GET /openapi.json`: a valid OpenAPI 3.1 document (checked against the OpenAPI Initiative's
//! published 3.1 schema, `openapi/oas-3.1-schema.json`, offline), naming every route the
//! gateway serves, each with the errors it can answer. Schemathesis then holds the gateway to
//! it (`schemathesis.rs`).

use portcullis_tests::{Reply, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::Value;
use std::collections::BTreeSet;

/// Every operation of the gateway's own API. A route added to the router is added to the
/// document with it (`routes!`); this list is the reviewer's copy, so that a route that goes
/// missing, or appears unannounced, fails here.
const OPERATIONS: &[(&str, &str)] = &[
    ("POST", "/auth/register"),
    ("POST", "/auth/login"),
    ("POST", "/auth/refresh"),
    ("POST", "/auth/logout"),
    ("POST", "/auth/logout-all"),
    ("GET", "/auth/me"),
    ("GET", "/auth/sessions"),
    ("DELETE", "/auth/sessions/{id}"),
    ("POST", "/auth/password"),
    ("POST", "/admin/users"),
    ("GET", "/admin/users"),
    ("PATCH", "/admin/users/{user}"),
    ("DELETE", "/admin/users/{user}"),
    ("PUT", "/admin/users/{user}/password"),
    ("POST", "/admin/users/{user}/revoke"),
    ("POST", "/admin/users/{user}/lock"),
    ("POST", "/admin/users/{user}/unlock"),
    ("GET", "/admin/users/{user}/sessions"),
    ("DELETE", "/admin/sessions/{id}"),
    ("POST", "/admin/tokens/revoke"),
    ("GET", "/admin/events"),
    ("POST", "/admin/revocations"),
    ("GET", "/admin/keys"),
    ("POST", "/admin/keys/rotate"),
    ("POST", "/admin/keys/{kid}/retire"),
    ("GET", "/.well-known/jwks.json"),
    ("GET", "/.well-known/openid-configuration"),
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/openapi.json"),
];

/// `/auth/verify` answers every method; the document lists the eight OpenAPI knows.
const VERIFY_METHODS: &[&str] = &[
    "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE",
];

const HTTP_METHODS: &[&str] = &[
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

async fn document(app: &TestApp) -> Value {
    let reply = app.get("/openapi.json", None).await;
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    assert_eq!(reply.header("content-type"), Some("application/json"));
    reply.body
}

/// `(METHOD, path, operation)` for every operation of the document.
fn operations(document: &Value) -> Vec<(String, String, &Value)> {
    let paths = document["paths"].as_object().expect("paths");
    let mut found = Vec::new();
    for (path, item) in paths {
        for method in HTTP_METHODS {
            if let Some(operation) = item.get(*method) {
                found.push((method.to_uppercase(), path.clone(), operation));
            }
        }
    }
    found
}

/// Follows a local `$ref` (`#/components/...`).
fn resolve<'a>(document: &'a Value, value: &'a Value) -> &'a Value {
    match value.get("$ref").and_then(Value::as_str) {
        Some(reference) => {
            let pointer = reference.strip_prefix('#').expect("a local reference");
            document
                .pointer(pointer)
                .unwrap_or_else(|| panic!("{reference} does not resolve"))
        }
        None => value,
    }
}

#[tokio::test]
async fn the_document_is_valid_openapi_3_1() {
    let app = TestApp::spawn().await;
    let document = document(&app).await;
    assert_eq!(document["openapi"], "3.1.0");
    let schema: Value = serde_json::from_str(include_str!("openapi/oas-3.1-schema.json"))
        .expect("the OpenAPI 3.1 schema");
    let validator = jsonschema::validator_for(&schema).expect("the OpenAPI 3.1 schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(&document)
        .map(|error| format!("{} at {}", error, error.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");

    // What the published schema leaves to tools: every reference resolves, operation ids are
    // unique, every path template names parameters the operation declares, and every security
    // requirement names a declared scheme.
    let text = document.to_string();
    for reference in text.split("\"$ref\":\"").skip(1) {
        let reference = reference.split('"').next().expect("reference");
        let pointer = reference.strip_prefix('#').expect("a local reference");
        assert!(document.pointer(pointer).is_some(), "{reference} dangles");
    }
    let schemes = document["components"]["securitySchemes"]
        .as_object()
        .expect("security schemes");
    let mut ids = BTreeSet::new();
    for (method, path, operation) in operations(&document) {
        let id = operation["operationId"].as_str().expect("operationId");
        // One handler may serve several methods; each (method, id) is still one operation.
        assert!(ids.insert((id, method.clone())), "{id} is used twice");
        let declared: BTreeSet<&str> = operation["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|parameter| parameter["in"] == "path")
            .filter_map(|parameter| parameter["name"].as_str())
            .collect();
        let templated: BTreeSet<&str> = path
            .split('{')
            .skip(1)
            .filter_map(|rest| rest.split('}').next())
            .collect();
        assert_eq!(declared, templated, "{method} {path}");
        for requirement in operation["security"].as_array().into_iter().flatten() {
            for scheme in requirement.as_object().expect("requirement").keys() {
                assert!(schemes.contains_key(scheme), "{method} {path}: {scheme}");
            }
        }
    }
    for scheme in ["bearer", "admin_key", "refresh_cookie"] {
        assert!(schemes.contains_key(scheme), "no {scheme} scheme");
    }
}

#[tokio::test]
async fn the_document_lists_every_route_the_gateway_serves_and_no_other() {
    let app = TestApp::spawn().await;
    let document = document(&app).await;
    let documented: BTreeSet<(String, String)> = operations(&document)
        .into_iter()
        .map(|(method, path, _)| (method, path))
        .collect();
    let mut expected: BTreeSet<(String, String)> = OPERATIONS
        .iter()
        .map(|(method, path)| ((*method).to_owned(), (*path).to_owned()))
        .collect();
    for path in ["/auth/verify", "/auth/verify/{original_path}"] {
        for method in VERIFY_METHODS {
            expected.insert(((*method).to_owned(), path.to_owned()));
        }
    }
    let missing: Vec<_> = expected.difference(&documented).collect();
    let unannounced: Vec<_> = documented.difference(&expected).collect();
    assert!(missing.is_empty(), "not in the document: {missing:?}");
    assert!(
        unannounced.is_empty(),
        "not in this test's list: {unannounced:?}"
    );

    // And the router serves each: the answer is the route's own, never the fallback's 404 or
    // the 405 of a route without that method.
    for (method, path) in &documented {
        let concrete = path
            .replace("{original_path}", "api/orders")
            .replace("{id}", "00000000-0000-0000-0000-000000000000")
            .replace("{user}", "nobody@example.com");
        let method = Method::from_bytes(method.as_bytes()).expect("method");
        let reply = app.send(method.clone(), &concrete, None).await;
        let unrouted = (reply.status == StatusCode::NOT_FOUND
            && reply.body["message"] == "no such route")
            || reply.status == StatusCode::METHOD_NOT_ALLOWED;
        assert!(!unrouted, "{method} {concrete} is not served: {reply:?}");
    }
}

#[tokio::test]
async fn admin_and_public_routes_document_their_errors() {
    let app = TestApp::spawn().await;
    let document = document(&app).await;
    for (method, path, operation) in operations(&document) {
        let responses = operation["responses"].as_object().expect("responses");
        let has = |status: &str| responses.contains_key(status);
        let what = format!("{method} {path}");
        // Every route has a deadline and can fail inside.
        assert!(has("408") && has("500"), "{what}: {responses:?}");
        if operation.get("requestBody").is_some() {
            for status in ["400", "413", "415"] {
                assert!(has(status), "{what} takes a body but lacks {status}");
            }
        }
        if path.starts_with("/admin/") {
            assert_eq!(
                operation["security"],
                serde_json::json!([{ "admin_key": [] }]),
                "{what}"
            );
            assert!(has("401"), "{what} lacks 401 for a bad admin key");
        }
        for (status, response) in responses {
            let response = resolve(&document, response);
            if status.starts_with('4') || status.starts_with('5') {
                let schema = &response["content"]["application/json"]["schema"];
                assert_eq!(
                    schema["$ref"], "#/components/schemas/Error",
                    "{what} {status}: {response}"
                );
            }
            if status == "401" {
                assert!(
                    response["headers"].get("WWW-Authenticate").is_some(),
                    "{what}: a 401 names its scheme"
                );
            }
        }
    }
    let error = &document["components"]["schemas"]["Error"];
    assert_eq!(error["required"], serde_json::json!(["error", "message"]));
}

#[tokio::test]
async fn the_document_is_the_same_whatever_the_configuration() {
    let plain = TestApp::spawn().await;
    let configured = TestApp::spawn_with(|config| {
        config.public_url = Some("https://auth.example".to_owned());
        config.demo = true;
    })
    .await;
    let served: Reply = configured.get("/openapi.json", None).await;
    assert_eq!(document(&plain).await, served.body);
}
