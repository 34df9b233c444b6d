-- The account lifecycle: when an account last logged in (for the admin listing), and the
-- tombstones that keep an erased account's access tokens refused. Kept in step with
-- migrations/sqlite/0008.

-- Set in the transaction that opens a session; NULL for an account that never has.
ALTER TABLE users ADD COLUMN last_login_at timestamptz;

-- An erased account's row is gone, and its sessions with it (ON DELETE CASCADE), so neither can
-- hold the fact that its access tokens are revoked. This does, until deny_until, when the last
-- of them has expired anyway; then the retention pass deletes it. No foreign key: the user it
-- names no longer exists.
CREATE TABLE erased_users (
    id         uuid PRIMARY KEY,
    deny_until timestamptz NOT NULL
);
CREATE INDEX erased_users_by_deny_until ON erased_users (deny_until);
