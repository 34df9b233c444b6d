//! A throwaway database per test, and builders for the domain values the tests store.

use portcullis_core::{
    ClientInfo, Family, RefreshToken, RotationPolicy, RotationRequest, SessionId, TokenHash, User,
    UserId,
};
use portcullis_store_postgres::{PgOptions, PgStore};
use sqlx::{Connection, PgConnection};
use std::time::Duration;
use time::OffsetDateTime;

const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

pub fn admin_url() -> String {
    std::env::var("DATABASE_URL").unwrap_or_else(|_| DEFAULT_URL.to_owned())
}

/// `url` with its database name replaced by `name` (any query string is kept).
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let path_start = base[authority_start..]
        .find('/')
        .map_or(base.len(), |i| authority_start + i);
    let mut out = format!("{}/{name}", &base[..path_start]);
    if let Some(query) = query {
        out.push('?');
        out.push_str(query);
    }
    out
}

async fn admin_connection(url: &str) -> PgConnection {
    match tokio::time::timeout(Duration::from_secs(5), PgConnection::connect(url)).await {
        Ok(Ok(conn)) => conn,
        Ok(Err(error)) => panic!(
            "cannot reach Postgres at {url}: {error}. Start a server or set DATABASE_URL to one \
             whose role may CREATE DATABASE (e.g. postgres://postgres@127.0.0.1:5432/test)"
        ),
        Err(_) => panic!(
            "timed out connecting to Postgres at {url}. Start a server or set DATABASE_URL \
             (e.g. postgres://postgres@127.0.0.1:5432/test)"
        ),
    }
}

/// A fresh, migrated database that is dropped when this value is, even if the test panicked.
pub struct TestDb {
    pub store: PgStore,
    pub url: String,
    name: String,
}

impl TestDb {
    pub async fn new() -> Self {
        Self::with_options(PgOptions::default()).await
    }

    pub async fn with_options(options: PgOptions) -> Self {
        let admin = admin_url();
        let name = format!("portcullis_t_{}", uuid::Uuid::new_v4().simple());
        let mut conn = admin_connection(&admin).await;
        sqlx::query(&format!("CREATE DATABASE \"{name}\""))
            .execute(&mut conn)
            .await
            .unwrap_or_else(|error| panic!("cannot create test database {name}: {error}"));
        conn.close().await.ok();
        let url = with_database(&admin, &name);
        let store = PgStore::connect(&url, options)
            .await
            .unwrap_or_else(|error| panic!("cannot open the test database {name}: {error}"));
        store
            .migrate()
            .await
            .unwrap_or_else(|error| panic!("cannot migrate the test database {name}: {error}"));
        Self { store, url, name }
    }

    /// A plain connection to this test's database, for counting rows and holding locks.
    pub async fn connection(&self) -> PgConnection {
        admin_connection(&self.url).await
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let (admin, name) = (admin_url(), self.name.clone());
        // Drop cannot await, and the test's runtime may be the current-thread kind: use a
        // runtime of our own on a thread of our own. FORCE ends the pool's open connections.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime.block_on(async {
                let mut conn = PgConnection::connect(&admin)
                    .await
                    .map_err(std::io::Error::other)?;
                sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                    .execute(&mut conn)
                    .await
                    .map_err(std::io::Error::other)?;
                conn.close().await.ok();
                Ok::<(), std::io::Error>(())
            })
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!("could not drop test database {}: {dropped:?}", self.name);
        }
    }
}

/// Now, to the second: Postgres keeps microseconds, so equality checks need a coarser clock.
pub fn now() -> OffsetDateTime {
    let now = OffsetDateTime::now_utc();
    now - time::Duration::nanoseconds(i64::from(now.nanosecond()))
}

pub fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

pub const POLICY: RotationPolicy = RotationPolicy {
    idle_ttl: Duration::from_secs(3600),
    reuse_grace: Duration::from_secs(10),
};

pub fn user(email: &str, at: OffsetDateTime) -> User {
    User {
        id: UserId::new(),
        email: email.to_owned(),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".to_owned(),
        roles: vec!["admin".to_owned(), "billing:read".to_owned()],
        token_version: 0,
        locked: false,
        created_at: at,
    }
}

pub fn random_hash() -> TokenHash {
    let mut bytes = [0u8; 32];
    bytes[..16].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    bytes[16..].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    TokenHash(bytes)
}

/// A user with one family whose first token is returned; the family lives 30 days.
pub async fn login(store: &PgStore, at: OffsetDateTime) -> (User, Family, TokenHash) {
    use portcullis_core::{SessionStore, UserStore};
    let user = user(&format!("{}@example.com", uuid::Uuid::new_v4()), at);
    if let Err(error) = store.insert_user(&user).await {
        panic!("cannot insert a test user: {error}");
    }
    let family = Family {
        id: SessionId::new(),
        user_id: user.id,
        created_at: at,
        last_used_at: at,
        idle_expires_at: at + POLICY.idle_ttl,
        absolute_expires_at: at + secs(30 * 86_400),
        current_generation: 0,
        last_client: client("10.0.0.1"),
        revoked_at: None,
        revoked_reason: None,
    };
    let first = RefreshToken {
        hash: random_hash(),
        family_id: family.id,
        generation: 0,
        issued_at: at,
        expires_at: at + POLICY.idle_ttl,
        used_at: None,
    };
    if let Err(error) = store.insert_family(&family, &first).await {
        panic!("cannot insert a test family: {error}");
    }
    (user, family, first.hash)
}

pub fn client(ip: &str) -> ClientInfo {
    ClientInfo {
        ip: Some(ip.to_owned()),
        user_agent: Some("test-agent/1".to_owned()),
    }
}

pub fn request(presented: TokenHash, successor: TokenHash, at: OffsetDateTime) -> RotationRequest {
    RotationRequest {
        presented,
        successor,
        now: at,
        policy: POLICY,
        client: client("10.0.0.2"),
        session_deny_until: at + secs(900),
    }
}

#[test]
fn database_names_are_swapped_in_urls() {
    assert_eq!(
        with_database("postgres://u@h:5432/test", "x"),
        "postgres://u@h:5432/x"
    );
    assert_eq!(
        with_database("postgres://u@h/test?sslmode=disable", "x"),
        "postgres://u@h/x?sslmode=disable"
    );
    assert_eq!(with_database("postgres://u@h", "x"), "postgres://u@h/x");
}
