-- The signing-key lifecycle (next → active → retiring → retired). A key's state is derived from
-- these timestamps and the access-token lifetime (see portcullis-core's signing_key module), so
-- no job has to move keys from one state to the next. Times are Unix milliseconds.

-- When the key starts signing. Keys made before this migration have signed since they were made.
ALTER TABLE signing_keys ADD COLUMN activates_at INTEGER NOT NULL DEFAULT 0;
UPDATE signing_keys SET activates_at = created_at;

-- Set when an operator retires the key; tokens it signed are refused until deny_until (by then
-- every one of them has expired).
ALTER TABLE signing_keys ADD COLUMN retired_at INTEGER;
ALTER TABLE signing_keys ADD COLUMN deny_until INTEGER;
