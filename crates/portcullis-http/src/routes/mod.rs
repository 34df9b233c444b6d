//! Route groups; each exports `router() -> Router<AppState>`.

pub mod account;
pub mod auth;
pub mod meta;
pub mod verify;
