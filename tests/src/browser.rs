//! [`Browser`]: an HTTP client that keeps the refresh cookie the way a browser does.

use crate::app::TestApp;
use crate::reply::Reply;
use crate::COOKIE_NAME;
use reqwest::header::{HeaderName, HeaderValue};
use serde_json::json;

/// A client that keeps the refresh cookie the way a browser would.
#[derive(Clone)]
pub struct Browser {
    http: reqwest::Client,
    base: String,
    pub cookie: Option<String>,
}

impl Browser {
    pub fn new(http: reqwest::Client, base: String) -> Self {
        Self {
            http,
            base,
            cookie: None,
        }
    }

    /// Points this browser at another gateway (after a restart the port changes).
    pub fn retarget(&mut self, app: &TestApp) {
        self.retarget_base(&app.base);
    }

    /// Points this browser at the gateway at `base` (another replica).
    pub fn retarget_base(&mut self, base: &str) {
        self.base = base.to_owned();
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
        self.try_post_cookie_once(path, headers, bearer)
            .await
            .expect("request")
    }

    /// As [`Browser::post_cookie_once`], but a transport failure (server gone) is `None`.
    pub async fn try_post_cookie_once(
        &self,
        path: &str,
        headers: &[(&str, &str)],
        bearer: Option<&str>,
    ) -> Option<Reply> {
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
        let response = request.send().await.ok()?;
        Reply::try_read(response).await
    }

    /// A refresh that survives the server vanishing: `None` if no complete answer came back,
    /// in which case the stored cookie is left as it was.
    pub async fn try_refresh(&mut self) -> Option<Reply> {
        let reply = self
            .try_post_cookie_once("/auth/refresh", &[("x-csrf", "1")], None)
            .await?;
        Some(self.absorb(reply))
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
