-- Kept in step with migrations/sqlite/0010_single_uses.sql, which stores the embedded tier's
-- single-use keys (DPoP proof jtis, DBSC challenges) in the database. This tier keeps them in
-- Redis, shared by every replica, like the login-attempt counters (0003), so it has nothing to
-- create; the number is taken so both tiers keep one numbering.
SELECT 1;
