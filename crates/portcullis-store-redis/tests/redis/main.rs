//! Behavioural tests of the Redis revocation cache against a real, shared server: each test uses
//! its own key prefix and deletes its own keys. Set `REDIS_URL`; the default is a local server.

mod attempts;
mod cache;
mod contract;
mod failures;
mod helpers;
mod single_use;
