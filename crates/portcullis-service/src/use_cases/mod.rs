//! The use cases, one module per group, each an `impl Gateway` block.

mod accounts;
mod admin;
mod refresh;
mod sessions;
mod verify;
