//! The test harness of Portcullis: the real gateway over real HTTP, clients that behave like
//! browsers and reverse proxies, and stand-ins for the outside world (a fault-injecting TCP
//! proxy, throwaway servers) so fault tests never disturb the shared services.
//!
//! The storage tier comes from `TEST_TIER` (`embedded` by default), so the same scenarios run
//! against every tier without being copied.

pub mod app;
pub mod browser;
pub mod fault_proxy;
pub mod replica;
pub mod reply;
pub mod throwaway_redis;
pub mod tier;

pub use app::TestApp;
pub use browser::Browser;
pub use reply::Reply;

pub const PASSWORD: &str = "correct horse battery";
pub const ALLOWED_ORIGIN: &str = "https://app.example";
pub const COOKIE_NAME: &str = "__Secure-portcullis-refresh";
