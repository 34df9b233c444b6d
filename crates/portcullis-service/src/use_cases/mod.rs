//! The use cases, one module per group, each an `impl Gateway` block.

mod accounts;
mod refresh;
mod sessions;
mod verify;
