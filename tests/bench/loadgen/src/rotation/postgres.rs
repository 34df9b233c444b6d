//! The rotation transaction on Postgres, statement for statement as
//! `portcullis-store-postgres/src/rotation.rs` issues it: find the token's family and owner,
//! share-lock the user, lock the family row, read the token again, mark it used, insert the
//! successor, move the family forward, read the family back, commit.

use super::{idle_expiry, session_expiry, Chain, CLIENT_AGENT, CLIENT_IP};
use anyhow::ensure;
use sqlx::migrate::Migrator;
use sqlx::postgres::PgPoolOptions;
use sqlx::PgPool;
use time::OffsetDateTime;
use uuid::Uuid;

static MIGRATOR: Migrator = sqlx::migrate!("../../../migrations/postgres");

const USER_COLUMNS: &str = "id, email, password_hash, roles, token_version, locked, created_at";
const FAMILY_COLUMNS: &str = "id, user_id, created_at, last_used_at, idle_expires_at, \
     absolute_expires_at, current_generation, last_ip, last_user_agent, revoked_at, revoked_reason";

type UserRow = (Uuid, String, String, Vec<String>, i64, bool, OffsetDateTime);
type FamilyRow = (
    Uuid,
    Uuid,
    OffsetDateTime,
    OffsetDateTime,
    OffsetDateTime,
    OffsetDateTime,
    i64,
    Option<String>,
    Option<String>,
    Option<OffsetDateTime>,
    Option<String>,
);
type TokenRow = (Uuid, i64, OffsetDateTime, Option<OffsetDateTime>);

#[derive(Clone)]
pub struct Baseline {
    pool: PgPool,
    user_sql: String,
    lock_family_sql: String,
    read_family_sql: String,
}

impl Baseline {
    /// Connects with `pool` connections (the gateway's default is 10) and migrates.
    pub async fn open(url: &str, pool: u32) -> anyhow::Result<Self> {
        let pool = PgPoolOptions::new()
            .max_connections(pool)
            .connect(url)
            .await?;
        MIGRATOR.run(&pool).await?;
        Ok(Self {
            pool,
            user_sql: format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1 FOR SHARE"),
            lock_family_sql: format!(
                "SELECT {FAMILY_COLUMNS} FROM refresh_families WHERE id = $1 FOR UPDATE"
            ),
            read_family_sql: format!("SELECT {FAMILY_COLUMNS} FROM refresh_families WHERE id = $1"),
        })
    }

    /// One user, one family and its first token per client.
    pub async fn seed(&self, clients: usize) -> anyhow::Result<Vec<Chain>> {
        let now = OffsetDateTime::now_utc();
        let mut tx = self.pool.begin().await?;
        let mut chains = Vec::with_capacity(clients);
        for _ in 0..clients {
            let chain = Chain::new();
            sqlx::query(
                "INSERT INTO users (id, email, password_hash, created_at) VALUES ($1, $2, $3, $4)",
            )
            .bind(chain.user)
            .bind(format!("{}@bench.example", chain.user))
            .bind("not a password hash")
            .bind(now)
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "INSERT INTO refresh_families (id, user_id, created_at, last_used_at, \
                 idle_expires_at, absolute_expires_at, current_generation, last_ip, \
                 last_user_agent) VALUES ($1, $2, $3, $3, $4, $5, 0, $6, $7)",
            )
            .bind(chain.family)
            .bind(chain.user)
            .bind(now)
            .bind(idle_expiry(now))
            .bind(session_expiry(now))
            .bind(CLIENT_IP)
            .bind(CLIENT_AGENT)
            .execute(&mut *tx)
            .await?;
            insert_token(&mut tx, &chain.token, chain.family, 0, now).await?;
            chains.push(chain);
        }
        tx.commit().await?;
        Ok(chains)
    }

    /// One rotation of `chain`, committed.
    pub async fn rotate(&self, chain: Chain) -> anyhow::Result<Chain> {
        let now = OffsetDateTime::now_utc();
        let successor: [u8; 32] = rand::random();
        let mut tx = self.pool.begin().await?;
        let family: Option<Uuid> =
            sqlx::query_scalar("SELECT family_id FROM refresh_tokens WHERE hash = $1")
                .bind(&chain.token[..])
                .fetch_optional(&mut *tx)
                .await?;
        ensure!(family == Some(chain.family), "the token lost its family");
        let owner: Option<Uuid> =
            sqlx::query_scalar("SELECT user_id FROM refresh_families WHERE id = $1")
                .bind(chain.family)
                .fetch_optional(&mut *tx)
                .await?;
        ensure!(owner == Some(chain.user), "the family lost its owner");
        let user: Option<UserRow> = sqlx::query_as(&self.user_sql)
            .bind(chain.user)
            .fetch_optional(&mut *tx)
            .await?;
        ensure!(user.is_some(), "the user vanished");
        let locked: Option<FamilyRow> = sqlx::query_as(&self.lock_family_sql)
            .bind(chain.family)
            .fetch_optional(&mut *tx)
            .await?;
        ensure!(locked.is_some(), "the family vanished");
        let token: Option<TokenRow> = sqlx::query_as(
            "SELECT family_id, generation, expires_at, used_at FROM refresh_tokens WHERE hash = $1",
        )
        .bind(&chain.token[..])
        .fetch_optional(&mut *tx)
        .await?;
        ensure!(
            token
                .is_some_and(|(_, generation, _, used_at)| used_at.is_none()
                    && generation == chain.generation),
            "the presented token is not the chain's current one"
        );
        let marked = sqlx::query(
            "UPDATE refresh_tokens SET used_at = $1 WHERE hash = $2 AND used_at IS NULL",
        )
        .bind(now)
        .bind(&chain.token[..])
        .execute(&mut *tx)
        .await?;
        ensure!(marked.rows_affected() == 1, "the token was used twice");
        let generation = chain.generation + 1;
        insert_token(&mut tx, &successor, chain.family, generation, now).await?;
        sqlx::query(
            "UPDATE refresh_families SET current_generation = $1, last_used_at = $2, \
             idle_expires_at = $3, last_ip = $4, last_user_agent = $5 WHERE id = $6",
        )
        .bind(generation)
        .bind(now)
        .bind(idle_expiry(now))
        .bind(CLIENT_IP)
        .bind(CLIENT_AGENT)
        .bind(chain.family)
        .execute(&mut *tx)
        .await?;
        let _family: Option<FamilyRow> = sqlx::query_as(&self.read_family_sql)
            .bind(chain.family)
            .fetch_optional(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(chain.rotated(successor))
    }
}

async fn insert_token(
    conn: &mut sqlx::PgConnection,
    hash: &[u8; 32],
    family: Uuid,
    generation: i64,
    now: OffsetDateTime,
) -> anyhow::Result<()> {
    sqlx::query(
        "INSERT INTO refresh_tokens (hash, family_id, generation, issued_at, expires_at, used_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&hash[..])
    .bind(family)
    .bind(generation)
    .bind(now)
    .bind(idle_expiry(now))
    .bind(None::<OffsetDateTime>)
    .execute(conn)
    .await?;
    Ok(())
}
