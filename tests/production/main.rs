//! The production tier's own scenarios: several replicas sharing Postgres and Redis, and the
//! faults a security team must be able to trust (Redis flushed, restarted or unreachable,
//! Postgres unreachable, a gateway killed mid-rotation). Every fault is injected into a private
//! server or through a proxy of the harness; the shared servers are never disturbed.

mod faults;
mod login_limits;
mod replicas;
mod signing_keys;
mod stream;
