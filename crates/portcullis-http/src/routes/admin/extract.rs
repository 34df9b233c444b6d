//! [`Admin`]: the extractor every `/admin/*` handler takes. The admin key is checked before
//! anything else of the request is read, so a 401 here only ever means the key.

use crate::error::ApiError;
use crate::extract::bearer_token;
use crate::AppState;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;

/// A caller holding a live admin key; the key's name is the actor recorded for its actions.
pub struct Admin(pub String);

impl FromRequestParts<AppState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let name = state
            .gateway
            .authenticate_admin(bearer_token(&parts.headers))
            .await?;
        // Every admin call, reads included, leaves a line naming the key; changes are also
        // stored as security events by the use cases.
        tracing::info!(
            target: "portcullis::admin_audit",
            key = %name,
            method = %parts.method,
            path = %parts.uri.path(),
            "admin call"
        );
        Ok(Self(name))
    }
}
