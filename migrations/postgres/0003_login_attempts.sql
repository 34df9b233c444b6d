-- Kept in step with migrations/sqlite/0003_login_attempts.sql, which moves the embedded tier's
-- login-attempt counters into the database. This tier keeps those counters in Redis, shared by
-- every replica, so it has nothing to create; the number is taken so both tiers keep one
-- numbering.
SELECT 1;
