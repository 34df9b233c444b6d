//! Building and running the server: open storage, start the gateway, bind the listener.
//! `Application::build` binds before returning, so a test can ask for port 0 and read the port.
//! How connections are served (limits, timeouts, shutdown) is `crate::server`'s business.

use crate::config::Config;
use crate::server::{self, ServerSettings};
use crate::storage;
use anyhow::Context;
use axum::Router;
use portcullis_http::AppState;
use portcullis_service::Gateway;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;

pub struct Application {
    listener: TcpListener,
    router: Router,
    gateway: Arc<Gateway>,
    server: ServerSettings,
}

impl Application {
    pub async fn build(config: &Config) -> anyhow::Result<Self> {
        let gateway = Arc::new(build_gateway(config).await?);
        let state = AppState::new(Arc::clone(&gateway), config.web_settings()?);
        let listener = server::bind(&config.listen)
            .await
            .with_context(|| format!("cannot listen on {}", config.listen))?;
        Ok(Self {
            listener,
            router: portcullis_http::router(state),
            gateway,
            server: config.server_settings(),
        })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    pub fn gateway(&self) -> Arc<Gateway> {
        Arc::clone(&self.gateway)
    }

    /// Serves until `shutdown` resolves, then lets in-flight requests finish. The retention
    /// job runs alongside, only while serving (never for one-off CLI commands).
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let retention = self.gateway.start_retention();
        let served = server::serve(self.listener, self.router, self.server, shutdown).await;
        retention.stop().await;
        served
    }
}

/// Opens storage and starts the gateway (also used by CLI commands that act on users).
pub async fn build_gateway(config: &Config) -> anyhow::Result<Gateway> {
    let kek = storage::key_encryption_key(config)?;
    let backends = storage::open(config).await?;
    Gateway::start(config.service_settings()?, backends, &kek)
        .await
        .context("cannot start the gateway")
}

/// Opens storage and applies migrations, nothing else (`portcullis migrate`).
pub async fn migrate(config: &Config) -> anyhow::Result<()> {
    storage::open(config).await.map(|_| ())
}
