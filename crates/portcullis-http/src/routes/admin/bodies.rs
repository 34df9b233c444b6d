//! The JSON bodies the admin API accepts. Unknown fields are refused, so a misspelt criterion
//! cannot widen a revocation; `docs.rs` states the same shapes in the API document.

use crate::openapi::inputs;
use serde::Deserialize;
use utoipa::ToSchema;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct NewUser {
    #[schema(schema_with = inputs::email)]
    pub(super) email: String,
    /// Without one the account cannot log in until a password is set.
    #[schema(schema_with = inputs::optional_password)]
    pub(super) password: Option<String>,
    #[serde(default)]
    #[schema(schema_with = inputs::roles)]
    pub(super) roles: Vec<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct Roles {
    /// The user's whole new set of roles.
    #[schema(schema_with = inputs::roles)]
    pub(super) roles: Vec<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct NewPassword {
    #[schema(schema_with = inputs::password)]
    pub(super) password: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct TokenBody {
    pub(super) token: Option<String>,
    pub(super) jti: Option<uuid::Uuid>,
    pub(super) exp: Option<i64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RevocationFilter {
    pub(super) created_before: Option<String>,
    pub(super) last_ip_in: Option<String>,
    pub(super) role: Option<String>,
    #[serde(default)]
    pub(super) dry_run: bool,
}
