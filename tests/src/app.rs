//! [`TestApp`]: the real gateway started in this process on 127.0.0.1:0, with helpers that
//! speak HTTP to it the way clients and reverse proxies do.

use crate::browser::Browser;
use crate::reply::Reply;
use crate::tier::{tier, TestStorage};
use crate::{ALLOWED_ORIGIN, PASSWORD};
use portcullis::Config;
use portcullis_service::Gateway;
use reqwest::StatusCode;
use serde_json::json;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub struct TestApp {
    pub base: String,
    /// `http://host:port` of the metrics listener, when `metrics_listen` is set.
    pub metrics_base: Option<String>,
    pub gateway: Arc<Gateway>,
    pub config: Config,
    http: reqwest::Client,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<std::io::Result<()>>>,
    storage: Arc<TestStorage>,
}

/// Where a client reaches a listener bound to `addr`: a wildcard bind (`0.0.0.0`, or `[::]`,
/// dual stack) is reached over IPv4 loopback, the way most local clients arrive.
fn reachable(addr: SocketAddr) -> SocketAddr {
    match addr.ip().is_unspecified() {
        true => SocketAddr::from((Ipv4Addr::LOCALHOST, addr.port())),
        false => addr,
    }
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(|_| {}).await
    }

    /// Starts a gateway with the test defaults, adjusted by `adjust`.
    pub async fn spawn_with(adjust: impl FnOnce(&mut Config)) -> Self {
        if std::env::var_os("TEST_LOG").is_some() {
            portcullis::telemetry::init(portcullis::config::LogFormat::Text);
        }
        let storage = Arc::new(TestStorage::create(tier()).await);
        let mut config = Self::config_for(&storage);
        adjust(&mut config);
        Self::start(config, storage).await
    }

    /// The test defaults on `storage`: port 0, one allowed origin, and no shutdown delay (tests
    /// stop and restart gateways all the time, with no load balancer to warn).
    pub fn config_for(storage: &TestStorage) -> Config {
        let mut config = Config {
            listen: "127.0.0.1:0".to_owned(),
            allowed_origins: vec![ALLOWED_ORIGIN.to_owned()],
            shutdown_delay: Duration::ZERO,
            ..Config::default()
        };
        storage.configure(&mut config);
        config
    }

    /// Starts a gateway on storage another test component already holds.
    pub async fn start(config: Config, storage: Arc<TestStorage>) -> Self {
        let app = portcullis::Application::build(&config)
            .await
            .expect("gateway starts");
        let base = format!(
            "http://{}",
            reachable(app.local_addr().expect("bound address"))
        );
        let metrics_base = app
            .metrics_addr()
            .map(|addr| format!("http://{}", reachable(addr.expect("bound metrics address"))));
        let gateway = app.gateway();
        let (shutdown, signal) = oneshot::channel::<()>();
        let server = tokio::spawn(app.run_until(async move {
            let _ = signal.await;
        }));
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .expect("http client");
        Self {
            base,
            metrics_base,
            gateway,
            config,
            http,
            shutdown: Some(shutdown),
            server: Some(server),
            storage,
        }
    }

    /// Stops this gateway and starts a new one on the same storage.
    pub async fn restart(mut self) -> Self {
        self.stop().await;
        let (config, storage) = (self.config.clone(), Arc::clone(&self.storage));
        drop(self);
        Self::start(config, storage).await
    }

    pub async fn stop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(server) = self.server.take() {
            server
                .await
                .expect("server task")
                .expect("server stopped cleanly");
        }
    }

    /// Another gateway on the same storage, configured differently.
    pub async fn sibling(&self, adjust: impl FnOnce(&mut Config)) -> Self {
        let mut config = self.config.clone();
        adjust(&mut config);
        Self::start(config, Arc::clone(&self.storage)).await
    }

    /// The storage this gateway runs on.
    pub fn storage(&self) -> Arc<TestStorage> {
        Arc::clone(&self.storage)
    }

    /// The address the gateway listens on.
    pub fn addr(&self) -> std::net::SocketAddr {
        self.base
            .trim_start_matches("http://")
            .parse()
            .expect("gateway address")
    }

    /// `GET /metrics` on the metrics listener: the status and the exposition text.
    pub async fn scrape(&self) -> (StatusCode, String) {
        let base = self
            .metrics_base
            .as_ref()
            .expect("the gateway was started with metrics_listen");
        let response = self
            .http
            .get(format!("{base}/metrics"))
            .send()
            .await
            .expect("metrics request");
        let status = response.status();
        (status, response.text().await.expect("metrics body"))
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    pub fn browser(&self) -> Browser {
        Browser::new(self.http.clone(), self.base.clone())
    }

    pub async fn register(&self, email: &str, password: &str) -> Reply {
        let response = self
            .http
            .post(self.url("/auth/register"))
            .json(&json!({ "email": email, "password": password }))
            .send()
            .await
            .expect("register request");
        Reply::read(response).await
    }

    /// Registers a fresh user and returns their email.
    pub async fn new_user(&self) -> String {
        let email = format!("user-{}@example.com", uuid::Uuid::new_v4().simple());
        let reply = self.register(&email, PASSWORD).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{reply:?}");
        email
    }

    /// A browser logged in as a fresh user; returns it, the email and the access token.
    pub async fn logged_in(&self) -> (Browser, String, String) {
        let email = self.new_user().await;
        let mut browser = self.browser();
        let reply = browser.login(&email, PASSWORD).await;
        assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
        (browser, email, reply.access_token())
    }

    /// A browser logged in as a fresh user holding `roles`; returns it, the email and the
    /// access token.
    pub async fn logged_in_with_roles(&self, roles: &[&str]) -> (Browser, String, String) {
        let email = format!("user-{}@example.com", uuid::Uuid::new_v4().simple());
        let roles: Vec<String> = roles.iter().map(|role| (*role).to_owned()).collect();
        self.gateway
            .create_user(&email, &portcullis_service::Password::new(PASSWORD), &roles)
            .await
            .expect("user with roles");
        let mut browser = self.browser();
        let reply = browser.login(&email, PASSWORD).await;
        assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
        (browser, email, reply.access_token())
    }

    /// `GET /auth/verify` as a reverse proxy would call it.
    pub async fn verify(&self, token: &str) -> Reply {
        self.get("/auth/verify", Some(token)).await
    }

    pub async fn get(&self, path: &str, bearer: Option<&str>) -> Reply {
        let mut request = self.http.get(self.url(path));
        if let Some(token) = bearer {
            request = request.bearer_auth(token);
        }
        Reply::read(request.send().await.expect("request")).await
    }

    pub async fn send(&self, method: reqwest::Method, path: &str, bearer: Option<&str>) -> Reply {
        let mut request = self.http.request(method, self.url(path));
        if let Some(token) = bearer {
            request = request.bearer_auth(token);
        }
        Reply::read(request.send().await.expect("request")).await
    }
}
