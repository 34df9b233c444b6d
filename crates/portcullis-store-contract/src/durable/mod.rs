//! The contract of a durable store ([`portcullis_core::Durable`]): what every backend must do
//! with users, sessions, rotation, revocation and its log, the audit trail, the webhook outbox
//! and the retention purge. Each case takes an empty store and is stamped into a test by
//! [`crate::durable_contract!`].

mod account_lifecycle;
mod events;
mod retention;
mod revocation_log;
mod revocation_store;
mod rotation;
mod session_admin;
mod sessions;
mod signing_keys;
mod users;
mod webhook_outbox;

pub use account_lifecycle::*;
pub use events::*;
pub use retention::*;
pub use revocation_log::*;
pub use revocation_store::*;
pub use rotation::*;
pub use session_admin::*;
pub use sessions::*;
pub use signing_keys::*;
pub use users::*;
pub use webhook_outbox::*;
