//! Behavioural tests of the Postgres store against a real server, one fresh database per test:
//! the storage contract shared with SQLite (`contract`), and what only Postgres does.
//! Set `DATABASE_URL` (a role that may CREATE DATABASE); the default is a local trust-auth server.

mod connection;
mod contract;
mod helpers;
mod revocation_log;
mod rotation;
mod signing_keys;
