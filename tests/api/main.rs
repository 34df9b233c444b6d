//! The behavioural suite: the real gateway over real HTTP, one test binary.

mod admin;
mod admin_errors;
mod cli;
mod client_address;
mod contract;
mod cors;
mod demo;
mod discovery;
mod file_modes;
mod forward_auth;
mod front_door;
mod lock_race;
mod login_limits;
mod metrics;
mod policy_example;
mod proxy;
mod refresh;
mod refresh_cookie;
mod register_login;
mod retention;
mod revocation;
mod shutdown;
mod slow_clients;
mod throttle;
mod tokens;
mod webhook;
