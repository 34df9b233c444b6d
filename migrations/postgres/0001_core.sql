-- Core schema of the production tier: the same facts as migrations/sqlite/0001_core.sql, in
-- Postgres' own types. Times are timestamptz (microseconds, UTC), ids are uuid, hashes and key
-- material are bytea.

CREATE TABLE users (
    id            uuid PRIMARY KEY,
    -- Normalised (trimmed, lower-cased) by the service, so a plain UNIQUE is case-insensitive.
    -- The store maps a violation of this named constraint, and only this one, to `email_taken`.
    email         text NOT NULL CONSTRAINT users_email_key UNIQUE,
    -- A PHC-format argon2id hash.
    password_hash text NOT NULL,
    -- A native array: roles are read whole with the user and never queried inside.
    roles         text[] NOT NULL DEFAULT '{}',
    -- Compared with the access token's `ver` claim; bumping it kills every outstanding token.
    token_version bigint NOT NULL DEFAULT 0,
    locked        boolean NOT NULL DEFAULT false,
    created_at    timestamptz NOT NULL
);
-- The revocation snapshot reads only users whose version was ever bumped; this keeps it from
-- scanning every account when a cache is refilled.
CREATE INDEX users_with_bumped_version ON users (id) INCLUDE (token_version)
    WHERE token_version <> 0;

-- A refresh family is one login ("session"): the chain of refresh tokens that replace each other.
-- Its row is also the lock that concurrent presentations of the family's tokens serialise on.
CREATE TABLE refresh_families (
    id                  uuid PRIMARY KEY,
    user_id             uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at          timestamptz NOT NULL,
    last_used_at        timestamptz NOT NULL,
    -- Expiry of the newest token; copied here so live sessions are listed without a join.
    idle_expires_at     timestamptz NOT NULL,
    -- Never moves: a family cannot be refreshed past it.
    absolute_expires_at timestamptz NOT NULL,
    current_generation  bigint NOT NULL DEFAULT 0,
    -- Free text, not inet: it is whatever the edge reported and is only ever displayed.
    last_ip             text,
    last_user_agent     text,
    revoked_at          timestamptz,
    revoked_reason      text,
    -- Access tokens of a revoked family are denied until this moment (their longest lifetime).
    deny_until          timestamptz
);
-- Listing a user's sessions (newest first) and revoking them all.
CREATE INDEX refresh_families_by_user ON refresh_families (user_id, created_at DESC);
-- The revocation snapshot: only families whose access tokens are still denied.
CREATE INDEX refresh_families_by_deny_until ON refresh_families (deny_until)
    WHERE deny_until IS NOT NULL;

CREATE TABLE refresh_tokens (
    -- SHA-256 of the token; the token itself is never stored.
    hash       bytea PRIMARY KEY CHECK (octet_length(hash) = 32),
    family_id  uuid NOT NULL REFERENCES refresh_families (id) ON DELETE CASCADE,
    generation bigint NOT NULL,
    issued_at  timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    -- Set when the token is rotated; a second presentation is then a replay or a reuse.
    used_at    timestamptz,
    -- One token per generation: a family's chain can never fork, whatever the concurrency.
    -- Its index also serves the foreign key's cascade from refresh_families.
    CONSTRAINT refresh_tokens_one_per_generation UNIQUE (family_id, generation)
);

-- Individually revoked access tokens, kept until they would have expired anyway.
CREATE TABLE denied_jtis (
    jti        uuid PRIMARY KEY,
    expires_at timestamptz NOT NULL
);
-- The revocation snapshot and the purge of lapsed entries both range over expiry.
CREATE INDEX denied_jtis_by_expiry ON denied_jtis (expires_at);

CREATE TABLE signing_keys (
    kid                   text PRIMARY KEY,
    alg                   text NOT NULL,
    public_key            bytea NOT NULL,
    -- AES-256-GCM under the key-encryption key from configuration (nonce prepended).
    encrypted_private_key bytea NOT NULL,
    created_at            timestamptz NOT NULL
);
-- No UNIQUE (alg): rotation will keep several keys of one algorithm. Replicas starting together
-- agree on a single first key through an advisory lock instead (see the store's keys module).

-- The append-only audit trail. user_id and session_id carry no foreign keys on purpose: the
-- trail must outlive the accounts and sessions it describes.
CREATE TABLE security_events (
    -- Insertion order, which is what "recent" means.
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at         timestamptz NOT NULL,
    kind       text NOT NULL,
    user_id    uuid,
    session_id uuid,
    ip         text,
    user_agent text,
    -- Kind-specific facts; jsonb so operators can query inside them.
    details    jsonb NOT NULL DEFAULT '{}'
);
-- An account's history.
CREATE INDEX security_events_by_user ON security_events (user_id, at);
-- The admin listing of recent events of one kind (newest first, by insertion order).
CREATE INDEX security_events_by_kind ON security_events (kind, id);
