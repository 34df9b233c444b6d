//! Test harness: starts the real gateway on 127.0.0.1:0 in this process, and speaks HTTP to it
//! like a browser (keeping the refresh cookie) or like a reverse proxy.
//!
//! The storage tier comes from `TEST_TIER` (`embedded` by default), so the same scenarios run
//! against every tier without being copied.

use portcullis::Config;
use portcullis_service::Gateway;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, SET_COOKIE};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;
use tempfile::TempDir;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub const PASSWORD: &str = "correct horse battery";
pub const ALLOWED_ORIGIN: &str = "https://app.example";
pub const COOKIE_NAME: &str = "__Secure-portcullis-refresh";

/// The storage tier under test.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tier {
    Embedded,
}

pub fn tier() -> Tier {
    match std::env::var("TEST_TIER").as_deref() {
        Ok("embedded") | Err(_) => Tier::Embedded,
        Ok(other) => panic!("TEST_TIER={other:?} is not a tier this suite knows (use embedded)"),
    }
}

/// A fully read HTTP response.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Reply {
    pub async fn read(response: reqwest::Response) -> Self {
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.expect("response body");
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        Self {
            status,
            headers,
            body,
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }

    /// The `error` code of a JSON error body.
    pub fn error(&self) -> &str {
        self.body["error"].as_str().unwrap_or("<no error code>")
    }

    pub fn access_token(&self) -> String {
        self.body["access_token"]
            .as_str()
            .unwrap_or_else(|| panic!("no access token in {:?}", self.body))
            .to_owned()
    }

    /// The refresh cookie this response sets, as its full `Set-Cookie` text.
    pub fn refresh_set_cookie(&self) -> Option<&str> {
        self.headers
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .find(|value| value.starts_with(&format!("{COOKIE_NAME}=")))
    }
}

pub struct TestApp {
    pub base: String,
    pub gateway: Arc<Gateway>,
    pub config: Config,
    http: reqwest::Client,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<std::io::Result<()>>>,
    data: Arc<TempDir>,
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(|_| {}).await
    }

    /// Starts a gateway with the test defaults, adjusted by `adjust`.
    pub async fn spawn_with(adjust: impl FnOnce(&mut Config)) -> Self {
        if std::env::var_os("TEST_LOG").is_some() {
            portcullis::telemetry::init("text");
        }
        let data = Arc::new(TempDir::new().expect("temporary data directory"));
        let mut config = Config {
            listen: "127.0.0.1:0".to_owned(),
            data_dir: data.path().to_path_buf(),
            allowed_origins: vec![ALLOWED_ORIGIN.to_owned()],
            ..Config::default()
        };
        match tier() {
            Tier::Embedded => {}
        }
        adjust(&mut config);
        Self::start(config, data).await
    }

    async fn start(config: Config, data: Arc<TempDir>) -> Self {
        let app = portcullis::Application::build(&config)
            .await
            .expect("gateway starts");
        let base = format!("http://{}", app.local_addr().expect("bound address"));
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
            gateway,
            config,
            http,
            shutdown: Some(shutdown),
            server: Some(server),
            data,
        }
    }

    /// Stops this gateway and starts a new one on the same storage.
    pub async fn restart(mut self) -> Self {
        self.stop().await;
        let (config, data) = (self.config.clone(), Arc::clone(&self.data));
        drop(self);
        Self::start(config, data).await
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

    /// Another gateway on the same storage (same data directory), configured differently.
    pub async fn sibling(&self, adjust: impl FnOnce(&mut Config)) -> Self {
        let mut config = self.config.clone();
        adjust(&mut config);
        Self::start(config, Arc::clone(&self.data)).await
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    pub fn browser(&self) -> Browser {
        Browser {
            http: self.http.clone(),
            base: self.base.clone(),
            cookie: None,
        }
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

/// A client that keeps the refresh cookie the way a browser would.
#[derive(Clone)]
pub struct Browser {
    http: reqwest::Client,
    base: String,
    pub cookie: Option<String>,
}

impl Browser {
    /// Points this browser at another gateway (after a restart the port changes).
    pub fn retarget(&mut self, app: &TestApp) {
        self.base = app.base.clone();
    }

    pub async fn login(&mut self, email: &str, password: &str) -> Reply {
        let response = self
            .http
            .post(format!("{}/auth/login", self.base))
            .header("user-agent", "test-browser/1.0")
            .json(&json!({ "email": email, "password": password }))
            .send()
            .await
            .expect("login request");
        self.absorb(Reply::read(response).await)
    }

    /// `POST /auth/refresh` with `X-CSRF: 1` and the stored cookie.
    pub async fn refresh(&mut self) -> Reply {
        self.post_cookie("/auth/refresh", &[("x-csrf", "1")], None)
            .await
    }

    pub async fn logout(&mut self, bearer: Option<&str>) -> Reply {
        self.post_cookie("/auth/logout", &[("x-csrf", "1")], bearer)
            .await
    }

    /// A cookie-authenticated POST with extra headers; stores any cookie change.
    pub async fn post_cookie(
        &mut self,
        path: &str,
        headers: &[(&str, &str)],
        bearer: Option<&str>,
    ) -> Reply {
        let reply = self.post_cookie_once(path, headers, bearer).await;
        self.absorb(reply)
    }

    /// The same request, without updating the stored cookie (a replaying attacker or a lost
    /// response).
    pub async fn post_cookie_once(
        &self,
        path: &str,
        headers: &[(&str, &str)],
        bearer: Option<&str>,
    ) -> Reply {
        let mut request = self
            .http
            .post(format!("{}{path}", self.base))
            .header("user-agent", "test-browser/1.0");
        for (name, value) in headers {
            request = request.header(
                HeaderName::from_bytes(name.as_bytes()).expect("header name"),
                HeaderValue::from_str(value).expect("header value"),
            );
        }
        if let Some(cookie) = &self.cookie {
            request = request.header("cookie", format!("{COOKIE_NAME}={cookie}"));
        }
        if let Some(token) = bearer {
            request = request.bearer_auth(token);
        }
        Reply::read(request.send().await.expect("request")).await
    }

    fn absorb(&mut self, reply: Reply) -> Reply {
        if let Some(set_cookie) = reply.refresh_set_cookie() {
            let parsed = cookie::Cookie::parse(set_cookie.to_owned()).expect("valid Set-Cookie");
            let cleared =
                parsed.max_age().is_some_and(|age| age.is_zero()) || parsed.value().is_empty();
            self.cookie = (!cleared).then(|| parsed.value().to_owned());
        }
        reply
    }
}
