//! The pure core of Portcullis: domain types, access-token claims, the refresh-rotation and
//! revocation decisions, and the storage traits that backends implement.
//!
//! Nothing in this crate performs I/O, reads a clock or knows about HTTP or SQL: callers pass
//! `now` in, and every rule here is a plain function that can be tested with a table.

pub mod account;
pub mod admin;
pub mod causes;
pub mod claims;
pub mod event;
pub mod event_sink;
pub mod ids;
pub mod request_path;
pub mod retention;
pub mod revocation;
pub mod revocation_log;
pub mod revocation_memory;
pub mod revocation_stream;
pub mod rotation;
pub mod route_policy;
pub mod session;
pub mod signing_key;
pub mod single_use;
pub mod spelling;
pub mod store;
pub mod throttle;
pub mod user;
pub mod webhook_outbox;

pub use causes::Causes;
pub use claims::AccessClaims;
pub use event::{EventKind, SecurityEvent};
pub use event_sink::EventSink;
pub use ids::{SessionId, TokenHash, UserId};
pub use request_path::{PathError, RequestPath};
pub use revocation::{RevocationChange, RevocationProbe, RevocationSnapshot, RevocationState};
pub use revocation_log::{LogEntry, LogRead, RevocationLog};
pub use rotation::{Decision, FamilyState, RotationPolicy, SuccessorState, TokenState};
pub use route_policy::{Access, RoutePolicy, RouteRule, RuleError};
pub use session::{ClientInfo, Family, RefreshToken, RevocationReason};
pub use signing_key::{KeyState, StoredSigningKey};
pub use single_use::{SingleUse, SingleUseKey};
pub use store::{
    AdminKeyStore, AttemptCounter, BackendCause, Backends, Durable, EventStore, FamilyOpening,
    KeyRetirement, RetentionStore, RevocationCache, RevocationStore, RotationOutcome,
    RotationRequest, SessionAdminStore, SessionStore, SigningKeyStore, StoreError, StoreResult,
    UserRevocation, UserStore, WebhookOutbox,
};
pub use user::User;
