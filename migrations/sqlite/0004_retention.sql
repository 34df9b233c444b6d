-- Retention: what the periodic retention pass needs to find deletable rows without a scan.
-- (The jti denylist and the audit trail already have indexes on expiry and time, from 0001
-- and 0002; refresh tokens are found through their family by the UNIQUE (family_id,
-- generation) index.)

-- Families never revoked, by the moment they end (the earlier of their idle and absolute
-- expiry): the pass deletes those that ended long enough ago. Partial, because revoked
-- families are kept for the 30 days the admin session listing promises and are found below.
-- The expression must stay spelled as in the store's query for SQLite to use this index.
CREATE INDEX refresh_families_unrevoked_by_end
    ON refresh_families (min(idle_expires_at, absolute_expires_at))
    WHERE revoked_at IS NULL;

-- Revoked families, by when they were revoked: only those revoked more than 30 days ago are
-- candidates, so the pass never walks the recently revoked ones again and again.
CREATE INDEX refresh_families_revoked_by_revoked_at
    ON refresh_families (revoked_at)
    WHERE revoked_at IS NOT NULL;
