//! Behavioural tests of the Postgres store against a real server, one fresh database per test.
//! Set `DATABASE_URL` (a role that may CREATE DATABASE); the default is a local trust-auth server.

mod helpers;
mod keys_and_events;
mod revocation;
mod rotation;
mod users;
