-- What the security team needs: admin API keys, and who did what in the audit trail.

-- Admin API keys. Only the SHA-256 of a key is kept; its text is shown once, at creation.
CREATE TABLE admin_keys (
    -- Recorded with every admin action; unique even among revoked keys so the trail stays clear.
    name       text PRIMARY KEY,
    hash       bytea NOT NULL UNIQUE CHECK (octet_length(hash) = 32),
    created_at timestamptz NOT NULL,
    revoked_at timestamptz
);

-- The admin key name (or "cli") behind an admin action.
ALTER TABLE security_events ADD COLUMN actor text;
-- Listing by time across kinds and users (the admin events view).
CREATE INDEX security_events_by_at ON security_events (at);
