//! The rotation transaction on SQLite, statement for statement as
//! `portcullis-store-sqlite/src/rotation.rs` issues it, with the store's connection setup:
//! WAL, `synchronous = FULL`, foreign keys, one writer connection and `BEGIN IMMEDIATE`. Read
//! the token, its family and the user, mark the token used, insert the successor, move the
//! family forward, read the family back, commit.

use super::{idle_expiry, session_expiry, Chain, CLIENT_AGENT, CLIENT_IP};
use anyhow::ensure;
use sqlx::migrate::Migrator;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;
use std::path::Path;
use std::time::Duration;
use time::OffsetDateTime;

static MIGRATOR: Migrator = sqlx::migrate!("../../../migrations/sqlite");

const USER_COLUMNS: &str = "id, email, password_hash, roles, token_version, locked, created_at";
const FAMILY_COLUMNS: &str = "id, user_id, created_at, last_used_at, idle_expires_at, \
     absolute_expires_at, current_generation, last_ip, last_user_agent, revoked_at, revoked_reason";

type UserRow = (String, String, String, String, i64, bool, i64);
type FamilyRow = (
    String,
    String,
    i64,
    i64,
    i64,
    i64,
    i64,
    Option<String>,
    Option<String>,
    Option<i64>,
    Option<String>,
);
type TokenRow = (String, i64, i64, Option<i64>);

#[derive(Clone)]
pub struct Baseline {
    writer: SqlitePool,
    user_sql: String,
    family_sql: String,
}

fn to_ms(at: OffsetDateTime) -> i64 {
    i64::try_from(at.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

impl Baseline {
    /// Creates the database file with the store's options and migrates it.
    pub async fn open(path: &Path) -> anyhow::Result<Self> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(5));
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(5))
            .connect_with(options)
            .await?;
        MIGRATOR.run(&writer).await?;
        Ok(Self {
            writer,
            user_sql: format!("SELECT {USER_COLUMNS} FROM users WHERE id = ?"),
            family_sql: format!("SELECT {FAMILY_COLUMNS} FROM refresh_families WHERE id = ?"),
        })
    }

    /// One user, one family and its first token per client.
    pub async fn seed(&self, clients: usize) -> anyhow::Result<Vec<Chain>> {
        let now = to_ms(OffsetDateTime::now_utc());
        let idle = to_ms(idle_expiry(OffsetDateTime::now_utc()));
        let end = to_ms(session_expiry(OffsetDateTime::now_utc()));
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        let mut chains = Vec::with_capacity(clients);
        for _ in 0..clients {
            let chain = Chain::new();
            sqlx::query(
                "INSERT INTO users (id, email, password_hash, created_at) VALUES (?, ?, ?, ?)",
            )
            .bind(chain.user.to_string())
            .bind(format!("{}@bench.example", chain.user))
            .bind("not a password hash")
            .bind(now)
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "INSERT INTO refresh_families (id, user_id, created_at, last_used_at, \
                 idle_expires_at, absolute_expires_at, current_generation, last_ip, \
                 last_user_agent) VALUES (?, ?, ?, ?, ?, ?, 0, ?, ?)",
            )
            .bind(chain.family.to_string())
            .bind(chain.user.to_string())
            .bind(now)
            .bind(now)
            .bind(idle)
            .bind(end)
            .bind(CLIENT_IP)
            .bind(CLIENT_AGENT)
            .execute(&mut *tx)
            .await?;
            insert_token(
                &mut tx,
                &chain.token,
                &chain.family.to_string(),
                0,
                now,
                idle,
            )
            .await?;
            chains.push(chain);
        }
        tx.commit().await?;
        Ok(chains)
    }

    /// One rotation of `chain`, committed.
    pub async fn rotate(&self, chain: Chain) -> anyhow::Result<Chain> {
        let now = OffsetDateTime::now_utc();
        let (now_ms, idle_ms) = (to_ms(now), to_ms(idle_expiry(now)));
        let successor: [u8; 32] = rand::random();
        let family_id = chain.family.to_string();
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        let token: Option<TokenRow> = sqlx::query_as(
            "SELECT family_id, generation, expires_at, used_at FROM refresh_tokens WHERE hash = ?",
        )
        .bind(&chain.token[..])
        .fetch_optional(&mut *tx)
        .await?;
        ensure!(
            token.is_some_and(|(family, generation, _, used_at)| family == family_id
                && used_at.is_none()
                && generation == chain.generation),
            "the presented token is not the chain's current one"
        );
        let family: Option<FamilyRow> = sqlx::query_as(&self.family_sql)
            .bind(&family_id)
            .fetch_optional(&mut *tx)
            .await?;
        ensure!(family.is_some(), "the family vanished");
        let user: Option<UserRow> = sqlx::query_as(&self.user_sql)
            .bind(chain.user.to_string())
            .fetch_optional(&mut *tx)
            .await?;
        ensure!(user.is_some(), "the user vanished");
        let marked =
            sqlx::query("UPDATE refresh_tokens SET used_at = ? WHERE hash = ? AND used_at IS NULL")
                .bind(now_ms)
                .bind(&chain.token[..])
                .execute(&mut *tx)
                .await?;
        ensure!(marked.rows_affected() == 1, "the token was used twice");
        let generation = chain.generation + 1;
        insert_token(&mut tx, &successor, &family_id, generation, now_ms, idle_ms).await?;
        sqlx::query(
            "UPDATE refresh_families SET current_generation = ?, last_used_at = ?, \
             idle_expires_at = ?, last_ip = ?, last_user_agent = ? WHERE id = ?",
        )
        .bind(generation)
        .bind(now_ms)
        .bind(idle_ms)
        .bind(CLIENT_IP)
        .bind(CLIENT_AGENT)
        .bind(&family_id)
        .execute(&mut *tx)
        .await?;
        let _family: Option<FamilyRow> = sqlx::query_as(&self.family_sql)
            .bind(&family_id)
            .fetch_optional(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(chain.rotated(successor))
    }
}

async fn insert_token(
    conn: &mut sqlx::SqliteConnection,
    hash: &[u8; 32],
    family: &str,
    generation: i64,
    issued_at: i64,
    expires_at: i64,
) -> anyhow::Result<()> {
    sqlx::query(
        "INSERT INTO refresh_tokens (hash, family_id, generation, issued_at, expires_at) \
         VALUES (?, ?, ?, ?, ?)",
    )
    .bind(&hash[..])
    .bind(family)
    .bind(generation)
    .bind(issued_at)
    .bind(expires_at)
    .execute(conn)
    .await?;
    Ok(())
}
