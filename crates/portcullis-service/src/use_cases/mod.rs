//! The use cases, one module per group, each an `impl Gateway` block.

pub mod account_lifecycle;
mod accounts;
pub mod admin;
mod admin_keys;
mod refresh;
mod sessions;
pub mod signing_keys;
pub mod verify;
