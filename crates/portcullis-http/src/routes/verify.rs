//! `/auth/verify`: the forward-auth check reverse proxies call for every request. Any method,
//! so Envoy can ask with the original one; `/auth/verify/<path>` for Envoy's appended path.

use crate::error::ApiResult;
use crate::extract::bearer_token;
use crate::forward_auth::{original_request, original_request_path, refuse_foreign_upgrade};
use crate::identity::identity_headers;
use crate::method_override::methods_read_as;
use crate::AppState;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::routing::any;
use axum::Router;
use portcullis_service::Authorization;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/auth/verify", any(verify))
        .route("/auth/verify/{*original_path}", any(verify))
}

async fn verify(
    State(state): State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> ApiResult<(StatusCode, HeaderMap)> {
    refuse_foreign_upgrade(&headers)?;
    let bearer = bearer_token(&headers);
    let authorization = match original_request(&method, &uri, &headers)? {
        Some(original) => {
            let path = original_request_path(&original.target)?;
            let methods = methods_read_as(&original.method, &original.target, &headers);
            state.gateway.authorize(bearer, &methods, &path).await?
        }
        None => Authorization::Identified(state.gateway.authenticate(bearer).await?),
    };
    Ok((StatusCode::OK, identity_headers(&authorization)))
}
