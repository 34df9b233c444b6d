//! The gateway's HTTP API as the load generator speaks it: register, log in, refresh with the
//! cookie (and `X-CSRF: 1`), verify a bearer token, log out; and the admin calls that end a
//! session (with an admin key). Every unexpected answer is an error that names the status, so
//! a bench never counts refusals as throughput.

use anyhow::{bail, Context};
use reqwest::header::{AUTHORIZATION, COOKIE, SET_COOKIE};
use reqwest::{Response, StatusCode};
use serde_json::json;

/// The password of every bench account.
pub const PASSWORD: &str = "benchmark password";

#[derive(Clone)]
pub struct Gateway {
    http: reqwest::Client,
    base: String,
}

/// A logged-in client: its refresh cookie (`name=value`) and access token.
pub struct Session {
    pub cookie: String,
    pub access_token: String,
}

/// Whom a verify answer says a token belongs to (its identity headers).
pub struct Identity {
    pub user_id: String,
    pub session_id: String,
}

/// A bench account and the session its first login opened.
pub struct Account {
    pub email: String,
    pub session: Session,
}

impl Gateway {
    pub fn new(base: &str) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(usize::MAX)
            .build()?;
        Ok(Self {
            http,
            base: base.trim_end_matches('/').to_owned(),
        })
    }

    /// Creates the account, or finds it already there from an earlier round.
    pub async fn register(&self, email: &str) -> anyhow::Result<()> {
        let answer = self
            .http
            .post(format!("{}/auth/register", self.base))
            .json(&json!({ "email": email, "password": PASSWORD }))
            .send()
            .await?;
        match answer.status() {
            StatusCode::CREATED | StatusCode::CONFLICT => Ok(()),
            status => bail!("register answered {status}: {}", answer.text().await?),
        }
    }

    pub async fn login(&self, email: &str) -> anyhow::Result<Session> {
        let answer = self
            .http
            .post(format!("{}/auth/login", self.base))
            .json(&json!({ "email": email, "password": PASSWORD }))
            .send()
            .await?;
        let answer = expect_ok(answer, "login").await?;
        let cookie = refresh_cookie(&answer)?;
        let body: serde_json::Value = answer.json().await?;
        let access_token = body["access_token"]
            .as_str()
            .context("login answered without an access token")?
            .to_owned();
        Ok(Session {
            cookie,
            access_token,
        })
    }

    /// Presents `cookie` and returns the rotated one.
    pub async fn refresh(&self, cookie: &str) -> anyhow::Result<String> {
        let answer = self
            .http
            .post(format!("{}/auth/refresh", self.base))
            .header(COOKIE, cookie)
            .header("x-csrf", "1")
            .send()
            .await?;
        let answer = expect_ok(answer, "refresh").await?;
        let rotated = refresh_cookie(&answer)?;
        // Read the body so the connection goes back to the pool.
        answer.bytes().await?;
        Ok(rotated)
    }

    /// Registers `count` accounts named after `prefix` (or finds them) and logs each in once,
    /// all at the same time: setup, not measured.
    pub async fn open_sessions(&self, prefix: &str, count: usize) -> anyhow::Result<Vec<Account>> {
        let mut logins = tokio::task::JoinSet::new();
        for client in 0..count {
            let gateway = self.clone();
            let email = format!("{prefix}-{client}@bench.example");
            logins.spawn(async move {
                gateway.register(&email).await?;
                let session = gateway.login(&email).await?;
                anyhow::Ok(Account { email, session })
            });
        }
        let mut accounts = Vec::with_capacity(count);
        while let Some(account) = logins.join_next().await {
            accounts.push(account??);
        }
        Ok(accounts)
    }

    pub async fn verify(&self, access_token: &str) -> anyhow::Result<()> {
        let answer = self.verify_request(access_token).send().await?;
        expect_ok(answer, "verify").await?.bytes().await?;
        Ok(())
    }

    /// The status of one verify of `access_token`, whatever it is; the body is read so the
    /// connection is kept for the next request.
    pub async fn verify_status(&self, access_token: &str) -> anyhow::Result<StatusCode> {
        let answer = self.verify_request(access_token).send().await?;
        let status = answer.status();
        answer.bytes().await?;
        Ok(status)
    }

    /// A verify that must answer 200; whom the answer names.
    pub async fn identify(&self, access_token: &str) -> anyhow::Result<Identity> {
        let answer = self.verify_request(access_token).send().await?;
        let answer = expect_ok(answer, "verify").await?;
        let header = |name: &str| {
            answer
                .headers()
                .get(name)
                .and_then(|value| value.to_str().ok())
                .map(str::to_owned)
                .with_context(|| format!("verify answered without {name}"))
        };
        let identity = Identity {
            user_id: header("x-auth-user-id")?,
            session_id: header("x-auth-session-id")?,
        };
        answer.bytes().await?;
        Ok(identity)
    }

    fn verify_request(&self, access_token: &str) -> reqwest::RequestBuilder {
        self.http
            .get(format!("{}/auth/verify", self.base))
            .header(AUTHORIZATION, format!("Bearer {access_token}"))
    }

    /// Logs the session out as a browser would, also handing in its access token.
    pub async fn logout(&self, session: &Session) -> anyhow::Result<()> {
        let answer = self
            .http
            .post(format!("{}/auth/logout", self.base))
            .header(COOKIE, &session.cookie)
            .header("x-csrf", "1")
            .header(AUTHORIZATION, format!("Bearer {}", session.access_token))
            .send()
            .await?;
        expect(answer, StatusCode::NO_CONTENT, "logout").await
    }

    /// Whether the gateway accepts `admin_key` yet (a key made on the command line reaches an
    /// embedded server with its next look at the database).
    pub async fn accepts_admin_key(&self, admin_key: &str) -> anyhow::Result<bool> {
        let answer = self
            .http
            .get(format!("{}/admin/events?limit=1", self.base))
            .header(AUTHORIZATION, format!("Bearer {admin_key}"))
            .send()
            .await?;
        match answer.status() {
            StatusCode::OK => Ok(true),
            StatusCode::UNAUTHORIZED => Ok(false),
            status => bail!("the admin API answered {status}: {}", answer.text().await?),
        }
    }

    /// `POST /admin/users/{user}/revoke`: every session and access token of the user.
    pub async fn admin_revoke_user(&self, admin_key: &str, user_id: &str) -> anyhow::Result<()> {
        let answer = self
            .http
            .post(format!("{}/admin/users/{user_id}/revoke", self.base))
            .header(AUTHORIZATION, format!("Bearer {admin_key}"))
            .send()
            .await?;
        expect(answer, StatusCode::OK, "admin user revoke").await
    }

    /// `DELETE /admin/sessions/{id}`: one session and its access tokens.
    pub async fn admin_delete_session(
        &self,
        admin_key: &str,
        session_id: &str,
    ) -> anyhow::Result<()> {
        let answer = self
            .http
            .delete(format!("{}/admin/sessions/{session_id}", self.base))
            .header(AUTHORIZATION, format!("Bearer {admin_key}"))
            .send()
            .await?;
        expect(answer, StatusCode::NO_CONTENT, "admin session delete").await
    }
}

async fn expect_ok(answer: Response, what: &str) -> anyhow::Result<Response> {
    if answer.status() == StatusCode::OK {
        return Ok(answer);
    }
    let status = answer.status();
    bail!("{what} answered {status}: {}", answer.text().await?)
}

/// Checks the status and reads the body, so the connection goes back to the pool.
async fn expect(answer: Response, wanted: StatusCode, what: &str) -> anyhow::Result<()> {
    let status = answer.status();
    let body = answer.text().await?;
    if status != wanted {
        bail!("{what} answered {status}: {body}");
    }
    Ok(())
}

/// The `name=value` of the refresh cookie the answer sets; an empty value (a deletion) is not one.
fn refresh_cookie(answer: &Response) -> anyhow::Result<String> {
    answer
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .filter_map(|value| value.split(';').next())
        .find(|pair| {
            pair.split_once('=')
                .is_some_and(|(_, value)| !value.is_empty())
        })
        .map(str::to_owned)
        .context("the answer set no refresh cookie")
}
