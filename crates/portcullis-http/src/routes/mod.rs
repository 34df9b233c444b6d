//! Route groups; each exports `router() -> Router<AppState>`.

pub mod account;
pub mod admin;
pub mod auth;
pub mod demo;
pub mod discovery;
pub mod meta;
pub mod signing_keys;
pub mod verify;
