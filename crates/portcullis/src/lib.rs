//! The Portcullis gateway as a library: configuration, storage selection and the buildable
//! [`Application`], so tests can start the real server on port 0. `main.rs` only parses the
//! command line and calls in here.

mod admin_cli;
pub mod cli;
mod cli_time;
pub mod config;
mod duration;
mod keys_cli;
mod metrics_listener;
mod private_files;
mod server;
pub mod startup;
mod storage;
pub mod telemetry;
mod tls;

pub use config::Config;
pub use startup::Application;
