-- Core schema of the embedded tier. Times are Unix milliseconds (INTEGER), ids are UUID text.

CREATE TABLE users (
    id            TEXT PRIMARY KEY NOT NULL,
    -- Normalised (trimmed, lower-cased) so uniqueness is case-insensitive.
    email         TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    -- JSON array of role names.
    roles         TEXT NOT NULL DEFAULT '[]',
    -- Compared with the access token's `ver` claim; bumping it kills every outstanding token.
    token_version INTEGER NOT NULL DEFAULT 0,
    locked        INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL
);

-- A refresh family is one login ("session"): the chain of refresh tokens that replace each other.
CREATE TABLE refresh_families (
    id                  TEXT PRIMARY KEY NOT NULL,
    user_id             TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at          INTEGER NOT NULL,
    last_used_at        INTEGER NOT NULL,
    -- Expiry of the newest token; copied here so live sessions are listed without a join.
    idle_expires_at     INTEGER NOT NULL,
    -- Never moves: a family cannot be refreshed past it.
    absolute_expires_at INTEGER NOT NULL,
    current_generation  INTEGER NOT NULL DEFAULT 0,
    last_ip             TEXT,
    last_user_agent     TEXT,
    revoked_at          INTEGER,
    revoked_reason      TEXT,
    -- Access tokens of a revoked family are denied until this moment (their longest lifetime).
    deny_until          INTEGER
);
CREATE INDEX refresh_families_by_user ON refresh_families (user_id);
CREATE INDEX refresh_families_by_deny_until ON refresh_families (deny_until) WHERE deny_until IS NOT NULL;

CREATE TABLE refresh_tokens (
    -- SHA-256 of the token; the token itself is never stored.
    hash       BLOB PRIMARY KEY NOT NULL,
    family_id  TEXT NOT NULL REFERENCES refresh_families (id) ON DELETE CASCADE,
    generation INTEGER NOT NULL,
    issued_at  INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER,
    -- One token per generation: a family's chain can never fork, whatever the concurrency.
    UNIQUE (family_id, generation)
);

-- Individually revoked access tokens, kept until they would have expired anyway.
CREATE TABLE denied_jtis (
    jti        TEXT PRIMARY KEY NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX denied_jtis_by_expiry ON denied_jtis (expires_at);

CREATE TABLE signing_keys (
    kid                   TEXT PRIMARY KEY NOT NULL,
    alg                   TEXT NOT NULL,
    public_key            BLOB NOT NULL,
    -- AES-256-GCM under the key-encryption key from configuration (nonce prepended).
    encrypted_private_key BLOB NOT NULL,
    created_at            INTEGER NOT NULL
);

-- The append-only audit trail.
CREATE TABLE security_events (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    at         INTEGER NOT NULL,
    kind       TEXT NOT NULL,
    user_id    TEXT,
    session_id TEXT,
    ip         TEXT,
    user_agent TEXT,
    details    TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX security_events_by_user ON security_events (user_id, at);
CREATE INDEX security_events_by_kind ON security_events (kind, at);
