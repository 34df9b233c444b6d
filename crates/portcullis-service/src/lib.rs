//! Portcullis use cases, above the storage seam and below HTTP: register, login, refresh
//! rotation, logout, verification of access tokens, signing keys and password hashing.
//!
//! Everything here works against the `portcullis-core` storage traits, so both tiers run this
//! same code. Secrets (passwords, refresh tokens, keys) are typed so `Debug` cannot print them.

mod access_token;
mod deadline;
pub mod device_proof;
mod error;
mod gateway;
mod hash_pool;
mod key_ring;
mod password;
mod refresh_token;
mod retention;
mod revocation_checker;
mod revocation_mirror;
mod secret;
mod settings;
mod signing_keys;
#[cfg(feature = "test-support")]
mod test_support;
mod throttle;
mod use_cases;

pub use access_token::{checked_header, SigningError, TokenError};
pub use error::{AuthError, InternalError};
pub use gateway::{Gateway, Issued, Principal, Readiness, SessionView};
pub use password::{PasswordError, Passwords};
pub use portcullis_core::signing_key::{KeyState, RetireRefused};
pub use portcullis_core::Causes;
pub use refresh_token::RefreshSecret;
pub use retention::RetentionJob;
pub use revocation_checker::RevocationFallback;
pub use secret::{KeyEncryptionKey, Password, SecretError};
pub use settings::Settings;
pub use signing_keys::{Jwk, Jwks, KeyError, SigningAlg};
pub use use_cases::account_lifecycle::UserErased;
pub use use_cases::admin::{MassRevocation, RolesChanged, TokenToRevoke};
pub use use_cases::signing_keys::{SigningKeyView, KEY_RELOAD_INTERVAL};
pub use use_cases::verify::Authorization;
