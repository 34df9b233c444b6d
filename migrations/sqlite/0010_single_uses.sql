-- Keys used once across the embedded tier (portcullis_core::single_use): DPoP proof jtis and
-- DBSC challenges. In the database rather than in memory so a restart does not forget which
-- proofs were used, and so the check and the write are one statement. The production tier
-- keeps them in Redis.
CREATE TABLE single_uses (
    -- `dpop:` or `dbsc:` and the hex SHA-256 of the key material (never the raw jti or
    -- challenge: SingleUseKey::stored_name), so every key has the same bounded length.
    key   TEXT PRIMARY KEY NOT NULL,
    -- Until when the key is remembered, Unix ms. A row past it counts as nothing: the next
    -- first use of the key replaces it, and the retention pass deletes it.
    until INTEGER NOT NULL
) WITHOUT ROWID;
-- The retention pass's delete of lapsed keys.
CREATE INDEX single_uses_by_until ON single_uses (until);
