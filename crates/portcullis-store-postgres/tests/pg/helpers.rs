//! A throwaway database per test; the builders of domain values are the contract's.

pub use portcullis_store_contract::fixtures::{login, now, random_hash, request, secs};
use portcullis_store_postgres::{PgOptions, PgStore};
use sqlx::{Connection, PgConnection};
use std::time::Duration;

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
