//! The behavioural suite: the real gateway over real HTTP, one test binary.

mod admin;
mod cli;
mod contract;
mod cors;
mod demo;
mod forward_auth;
mod front_door;
mod proxy;
mod refresh;
mod register_login;
mod revocation;
mod throttle;
mod tokens;
mod webhook;
