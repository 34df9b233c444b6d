-- What the security team needs: admin API keys, and who did what in the audit trail.

-- Admin API keys. Only the SHA-256 of a key is kept; its text is shown once, at creation.
CREATE TABLE admin_keys (
    -- Recorded with every admin action; unique even among revoked keys so the trail stays clear.
    name       TEXT PRIMARY KEY NOT NULL,
    hash       BLOB NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
);

-- The admin key name (or "cli") behind an admin action.
ALTER TABLE security_events ADD COLUMN actor TEXT;
-- Listing by time across kinds and users (the admin events view).
CREATE INDEX security_events_by_at ON security_events (at);
