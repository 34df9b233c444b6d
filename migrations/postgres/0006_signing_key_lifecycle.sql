-- The signing-key lifecycle (next → active → retiring → retired). A key's state is derived from
-- these timestamps and the access-token lifetime (see portcullis-core's signing_key module), so
-- no job has to move keys from one state to the next.

-- When the key starts signing. Keys made before this migration have signed since they were made.
ALTER TABLE signing_keys ADD COLUMN activates_at timestamptz;
UPDATE signing_keys SET activates_at = created_at;
ALTER TABLE signing_keys ALTER COLUMN activates_at SET NOT NULL;

-- Set when an operator retires the key; tokens it signed are refused until deny_until (by then
-- every one of them has expired).
ALTER TABLE signing_keys ADD COLUMN retired_at timestamptz;
ALTER TABLE signing_keys ADD COLUMN deny_until timestamptz;
