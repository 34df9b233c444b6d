-- The revocation log: every revocation fact the revocation snapshot can return, numbered densely
-- in commit order, so a holder of the revocation state in memory can catch up on what it missed
-- by reading the entries after the last number it merged. Kept in step with
-- migrations/postgres/0009. Times are Unix milliseconds.
--
-- Triggers write it, in the transaction that makes the fact durable, so no write path can
-- forget to: a token version that rises, a session, jti or erased account denied (or denied
-- for longer), a signing key retired.

-- The number of the newest entry, in a one-row table as on Postgres (where it is what orders
-- concurrent writers). SQLite has one writer at a time, so numbers taken here are dense and in
-- commit order, and a rollback takes its number back. Apart from the log, so that purging every
-- entry does not reset the numbering.
CREATE TABLE revocation_log_head (
    id    INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    epoch INTEGER NOT NULL
);
INSERT INTO revocation_log_head (id, epoch) VALUES (1, 0);

CREATE TABLE revocation_log (
    epoch     INTEGER PRIMARY KEY NOT NULL,
    -- v: a user's token version (subject the user id; an erased account's is i64::MAX, the
    -- core's DELETED_USER_VERSION), s: a denied session (the family id), j: a denied jti,
    -- k: a retired signing key (its kid, as stored).
    kind      TEXT NOT NULL CHECK (kind IN ('v', 's', 'j', 'k')),
    subject   TEXT NOT NULL,
    version   INTEGER CHECK ((version IS NOT NULL) = (kind = 'v')),
    -- Until when the denial holds (kinds s, j and k).
    until     INTEGER CHECK ((until IS NOT NULL) = (kind <> 'v')),
    -- Only for the retention pass, which deletes entries older than any reader may lag.
    logged_at INTEGER NOT NULL DEFAULT (CAST(unixepoch('subsec') * 1000 AS INTEGER))
);
CREATE INDEX revocation_log_by_logged_at ON revocation_log (logged_at);

-- Every trigger appends the same way: take the next number, then write the entry under it.

-- A user's token version: raised by revoke_user, set_roles and reset_password (UPDATE users SET
-- token_version = token_version + ...); a user inserted with a version other than 0 is in the
-- snapshot too.
CREATE TRIGGER users_token_version_raised
AFTER UPDATE OF token_version ON users
FOR EACH ROW WHEN NEW.token_version > OLD.token_version
BEGIN
    UPDATE revocation_log_head SET epoch = epoch + 1;
    INSERT INTO revocation_log (epoch, kind, subject, version)
    SELECT epoch, 'v', NEW.id, NEW.token_version FROM revocation_log_head;
END;
CREATE TRIGGER users_inserted_with_a_token_version
AFTER INSERT ON users
FOR EACH ROW WHEN NEW.token_version <> 0
BEGIN
    UPDATE revocation_log_head SET epoch = epoch + 1;
    INSERT INTO revocation_log (epoch, kind, subject, version)
    SELECT epoch, 'v', NEW.id, NEW.token_version FROM revocation_log_head;
END;

-- An erased account's tombstone: its tokens are refused as stale. Inserted, or its denial made
-- longer through ON CONFLICT DO UPDATE (which fires the UPDATE trigger, not the INSERT one).
CREATE TRIGGER erased_users_inserted
AFTER INSERT ON erased_users
FOR EACH ROW
BEGIN
    UPDATE revocation_log_head SET epoch = epoch + 1;
    INSERT INTO revocation_log (epoch, kind, subject, version)
    SELECT epoch, 'v', NEW.id, 9223372036854775807 FROM revocation_log_head;
END;
CREATE TRIGGER erased_users_denial_extended
AFTER UPDATE OF deny_until ON erased_users
FOR EACH ROW WHEN NEW.deny_until > OLD.deny_until
BEGIN
    UPDATE revocation_log_head SET epoch = epoch + 1;
    INSERT INTO revocation_log (epoch, kind, subject, version)
    SELECT epoch, 'v', NEW.id, 9223372036854775807 FROM revocation_log_head;
END;

-- A denied session: every revocation of a family sets its deny_until (UPDATE refresh_families
-- SET revoked_at = ..., deny_until = ... WHERE ... revoked_at IS NULL: logout, revoking one
-- session or all of a user's, mass revocation, reuse detection, a locked user's refresh).
CREATE TRIGGER refresh_families_denied
AFTER UPDATE OF deny_until ON refresh_families
FOR EACH ROW WHEN NEW.deny_until IS NOT NULL
    AND (OLD.deny_until IS NULL OR NEW.deny_until > OLD.deny_until)
BEGIN
    UPDATE revocation_log_head SET epoch = epoch + 1;
    INSERT INTO revocation_log (epoch, kind, subject, until)
    SELECT epoch, 's', NEW.id, NEW.deny_until FROM revocation_log_head;
END;
CREATE TRIGGER refresh_families_inserted_denied
AFTER INSERT ON refresh_families
FOR EACH ROW WHEN NEW.deny_until IS NOT NULL
BEGIN
    UPDATE revocation_log_head SET epoch = epoch + 1;
    INSERT INTO revocation_log (epoch, kind, subject, until)
    SELECT epoch, 's', NEW.id, NEW.deny_until FROM revocation_log_head;
END;

-- A denied jti: deny_jti inserts it, or makes its denial longer through ON CONFLICT DO UPDATE
-- SET expires_at = max(...), which fires the UPDATE trigger whether or not it changes the
-- value; only a later end is a new fact.
CREATE TRIGGER denied_jtis_inserted
AFTER INSERT ON denied_jtis
FOR EACH ROW
BEGIN
    UPDATE revocation_log_head SET epoch = epoch + 1;
    INSERT INTO revocation_log (epoch, kind, subject, until)
    SELECT epoch, 'j', NEW.jti, NEW.expires_at FROM revocation_log_head;
END;
CREATE TRIGGER denied_jtis_denial_extended
AFTER UPDATE OF expires_at ON denied_jtis
FOR EACH ROW WHEN NEW.expires_at > OLD.expires_at
BEGIN
    UPDATE revocation_log_head SET epoch = epoch + 1;
    INSERT INTO revocation_log (epoch, kind, subject, until)
    SELECT epoch, 'j', NEW.jti, NEW.expires_at FROM revocation_log_head;
END;

-- A retired signing key (UPDATE signing_keys SET retired_at = ..., deny_until = ...): the
-- snapshot lists a key once both are set.
CREATE TRIGGER signing_keys_retired
AFTER UPDATE OF retired_at, deny_until ON signing_keys
FOR EACH ROW WHEN NEW.retired_at IS NOT NULL AND NEW.deny_until IS NOT NULL
    AND (OLD.retired_at IS NULL OR OLD.deny_until IS NULL OR NEW.deny_until > OLD.deny_until)
BEGIN
    UPDATE revocation_log_head SET epoch = epoch + 1;
    INSERT INTO revocation_log (epoch, kind, subject, until)
    SELECT epoch, 'k', NEW.kid, NEW.deny_until FROM revocation_log_head;
END;
CREATE TRIGGER signing_keys_inserted_retired
AFTER INSERT ON signing_keys
FOR EACH ROW WHEN NEW.retired_at IS NOT NULL AND NEW.deny_until IS NOT NULL
BEGIN
    UPDATE revocation_log_head SET epoch = epoch + 1;
    INSERT INTO revocation_log (epoch, kind, subject, until)
    SELECT epoch, 'k', NEW.kid, NEW.deny_until FROM revocation_log_head;
END;
