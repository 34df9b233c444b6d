-- Kept in step with migrations/sqlite/0005_revocation_notices.sql, the embedded tier's handshake
-- between the command line and running servers. On this tier a revocation reaches every replica
-- through Redis before the command returns, so there is nothing to create; the number is taken
-- so both tiers keep one numbering.
SELECT 1;
