//! `/demo/`: the demo single-page app of development mode, and the protected echo endpoint it
//! calls through the gateway. Served only when `demo` is enabled; the files are compiled in, so
//! the binary needs nothing beside it.

use crate::error::ApiResult;
use crate::extract::bearer_token;
use crate::forward_auth::{request_path, target_of};
use crate::identity::identity_headers;
use crate::method_override::methods_read_as;
use crate::AppState;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, Method, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{any, get};
use axum::{Json, Router};
use serde::Serialize;
use std::collections::BTreeMap;

/// The demo's own prefix; no upstream is proxied under it while the demo is served.
pub const DEMO_PREFIX: &str = "/demo";

const INDEX: &str = include_str!("../../../../clients/demo/index.html");
const DEMO_JS: &str = include_str!("../../../../clients/demo/demo.js");
const DEMO_CSS: &str = include_str!("../../../../clients/demo/demo.css");
const CLIENT_JS: &str = include_str!("../../../../clients/js/dist/portcullis.js");
const FAVICON: &str = include_str!("../../../../clients/demo/favicon.svg");

/// The demo's files by their name under `/demo/` (the page itself is the empty name), with their
/// content types.
const FILES: [(&str, &str, &str); 5] = [
    ("", "text/html; charset=utf-8", INDEX),
    ("demo.js", "text/javascript; charset=utf-8", DEMO_JS),
    ("demo.css", "text/css; charset=utf-8", DEMO_CSS),
    ("favicon.svg", "image/svg+xml", FAVICON),
    ("portcullis.js", "text/javascript; charset=utf-8", CLIENT_JS),
];

/// Scripts and styles from the gateway only; no framing, no inline script.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; \
     base-uri 'none'; form-action 'self'";

pub fn router() -> Router<AppState> {
    let files = FILES
        .iter()
        .fold(Router::new(), |router, &(name, content_type, body)| {
            router.route(
                &format!("{DEMO_PREFIX}/{name}"),
                get(move || async move { asset(content_type, body) }),
            )
        });
    files
        .route("/demo", get(|| async { Redirect::permanent("/demo/") }))
        .route("/demo/api/echo", any(echo))
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(CONTENT_SECURITY_POLICY),
            ),
            (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
        ],
        body,
    )
        .into_response()
}

/// What the echo endpoint answers (fields in alphabetical order, as always; the headers sorted
/// by name).
#[derive(Serialize)]
struct Echo {
    identity_headers: BTreeMap<String, String>,
    method: String,
    path: String,
}

/// A protected API as an application behind the gateway sees it: authorised by the route
/// policy like any proxied request, answering with the identity headers it would receive.
async fn echo(
    State(state): State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> ApiResult<Json<Echo>> {
    let target = target_of(&uri);
    let path = request_path(target)?;
    let methods = methods_read_as(method.as_str(), target, &headers);
    let authorization = state
        .gateway
        .authorize(bearer_token(&headers), &methods, &path)
        .await?;
    let identity = identity_headers(&authorization);
    let identity_headers = identity
        .iter()
        .map(|(name, value)| {
            let value = value.to_str().unwrap_or_default().to_owned();
            (name.as_str().to_owned(), value)
        })
        .collect();
    Ok(Json(Echo {
        identity_headers,
        method: method.as_str().to_owned(),
        path: uri.path().to_owned(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The relative addresses `text` refers to through `marker"..."` (e.g. `href="`).
    fn references<'a>(text: &'a str, marker: &str) -> Vec<&'a str> {
        text.split(marker)
            .skip(1)
            .filter_map(|rest| rest.split('"').next())
            .collect()
    }

    #[test]
    fn the_page_refers_only_to_files_the_demo_serves() {
        let served: Vec<&str> = FILES.iter().map(|&(name, _, _)| name).collect();
        let mut wanted = references(INDEX, "href=\"");
        wanted.extend(references(INDEX, "src=\""));
        wanted.extend(references(DEMO_JS, "from \"./"));
        for name in ["favicon.svg", "demo.css", "demo.js", "portcullis.js"] {
            assert!(
                wanted.contains(&name),
                "{name} is not referred to: {wanted:?}"
            );
        }
        for name in wanted {
            assert!(
                served.contains(&name),
                "{name} is referred to but not served"
            );
        }
    }

    #[test]
    fn the_favicon_is_an_svg_document() {
        let (_, content_type, body) = FILES
            .iter()
            .find(|&&(name, _, _)| name == "favicon.svg")
            .expect("listed");
        assert_eq!(*content_type, "image/svg+xml");
        assert!(body
            .trim_start()
            .starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
    }

    #[test]
    fn the_echo_keeps_its_shape() {
        let echo = Echo {
            identity_headers: [("x-auth-user-id", "u1"), ("x-auth-email", "a@example.com")]
                .into_iter()
                .map(|(name, value)| (name.to_owned(), value.to_owned()))
                .collect(),
            method: "GET".into(),
            path: "/demo/api/echo".into(),
        };
        assert_eq!(
            serde_json::to_string(&echo).expect("serialises"),
            r#"{"identity_headers":{"x-auth-email":"a@example.com","x-auth-user-id":"u1"},"method":"GET","path":"/demo/api/echo"}"#
        );
    }
}
