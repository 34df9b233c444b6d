-- The revocation log: every revocation fact the revocation snapshot can return, numbered densely
-- in commit order, so a replica holding the revocation state in memory can catch up on what it
-- missed (a revocation committed by a replica that could not reach Redis, say) by reading the
-- entries after the last number it merged. Kept in step with migrations/sqlite/0009.
--
-- Triggers write it, in the transaction that makes the fact durable, so no write path can
-- forget to: a token version that rises, a session, jti or erased account denied (or denied
-- for longer), a signing key retired.

-- The number of the newest entry, in a one-row table rather than a sequence: numbering an entry
-- updates this row, whose lock the transaction then holds until it ends, so entry n + 1 cannot
-- be numbered before entry n has committed, and a rollback takes its number back. Numbers are
-- dense and become visible in order, which a reader relies on to know it missed nothing; a
-- sequence hands numbers out of commit order and loses those of rolled-back transactions. Apart
-- from the log, so that purging every entry does not reset the numbering.
CREATE TABLE revocation_log_head (
    id    boolean PRIMARY KEY DEFAULT true CHECK (id),
    epoch bigint NOT NULL
);
INSERT INTO revocation_log_head (epoch) VALUES (0);

CREATE TABLE revocation_log (
    epoch     bigint PRIMARY KEY,
    -- v: a user's token version (subject the user id; an erased account's is i64::MAX, the
    -- core's DELETED_USER_VERSION), s: a denied session (the family id), j: a denied jti,
    -- k: a retired signing key (its kid, as stored).
    kind      text NOT NULL CHECK (kind IN ('v', 's', 'j', 'k')),
    subject   text NOT NULL,
    version   bigint CHECK ((version IS NOT NULL) = (kind = 'v')),
    -- Until when the denial holds (kinds s, j and k).
    until     timestamptz CHECK ((until IS NOT NULL) = (kind <> 'v')),
    -- Only for the retention pass, which deletes entries older than any replica may lag.
    logged_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX revocation_log_by_logged_at ON revocation_log (logged_at);

-- Numbers and appends one entry. Only the triggers below call it, and they are deferred to the
-- commit, so the head row is the last lock a writing transaction takes and is held only while
-- it commits. Taken at the statement instead, it would deadlock a transaction that revokes one
-- family (family row, then head) against one revoking a user's families (user row, head, then
-- family rows).
CREATE FUNCTION revocation_log_append(
    entry_kind text, entry_subject text, entry_version bigint, entry_until timestamptz
) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    numbered bigint;
BEGIN
    UPDATE revocation_log_head SET epoch = epoch + 1 RETURNING epoch INTO numbered;
    INSERT INTO revocation_log (epoch, kind, subject, version, until)
    VALUES (numbered, entry_kind, entry_subject, entry_version, entry_until);
END
$$;

-- A user's token version: raised by revoke_user, set_roles and reset_password (UPDATE users SET
-- token_version = token_version + ...); a user inserted with a version other than 0 is in the
-- snapshot too.
CREATE FUNCTION revocation_log_token_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM revocation_log_append('v', NEW.id::text, NEW.token_version, NULL);
    RETURN NULL;
END
$$;
CREATE CONSTRAINT TRIGGER users_token_version_raised
    AFTER UPDATE OF token_version ON users DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW WHEN (NEW.token_version > OLD.token_version)
    EXECUTE FUNCTION revocation_log_token_version();
CREATE CONSTRAINT TRIGGER users_inserted_with_a_token_version
    AFTER INSERT ON users DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW WHEN (NEW.token_version <> 0)
    EXECUTE FUNCTION revocation_log_token_version();

-- An erased account's tombstone: its tokens are refused as stale. Inserted, or its denial made
-- longer through ON CONFLICT DO UPDATE (which fires the UPDATE trigger, not the INSERT one).
CREATE FUNCTION revocation_log_erased_user() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM revocation_log_append('v', NEW.id::text, 9223372036854775807, NULL);
    RETURN NULL;
END
$$;
CREATE CONSTRAINT TRIGGER erased_users_inserted
    AFTER INSERT ON erased_users DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION revocation_log_erased_user();
CREATE CONSTRAINT TRIGGER erased_users_denial_extended
    AFTER UPDATE OF deny_until ON erased_users DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW WHEN (NEW.deny_until > OLD.deny_until)
    EXECUTE FUNCTION revocation_log_erased_user();

-- A denied session: every revocation of a family sets its deny_until (UPDATE refresh_families
-- SET revoked_at = ..., deny_until = ... WHERE ... revoked_at IS NULL: logout, revoking one
-- session or all of a user's, mass revocation, reuse detection, a locked user's refresh).
CREATE FUNCTION revocation_log_session_denied() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM revocation_log_append('s', NEW.id::text, NULL, NEW.deny_until);
    RETURN NULL;
END
$$;
CREATE CONSTRAINT TRIGGER refresh_families_denied
    AFTER UPDATE OF deny_until ON refresh_families DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW WHEN (NEW.deny_until IS NOT NULL
        AND (OLD.deny_until IS NULL OR NEW.deny_until > OLD.deny_until))
    EXECUTE FUNCTION revocation_log_session_denied();
CREATE CONSTRAINT TRIGGER refresh_families_inserted_denied
    AFTER INSERT ON refresh_families DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW WHEN (NEW.deny_until IS NOT NULL)
    EXECUTE FUNCTION revocation_log_session_denied();

-- A denied jti: deny_jti inserts it, or makes its denial longer through ON CONFLICT DO UPDATE
-- SET expires_at = GREATEST(...), which fires the UPDATE trigger whether or not it changes the
-- value; only a later end is a new fact.
CREATE FUNCTION revocation_log_jti_denied() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM revocation_log_append('j', NEW.jti::text, NULL, NEW.expires_at);
    RETURN NULL;
END
$$;
CREATE CONSTRAINT TRIGGER denied_jtis_inserted
    AFTER INSERT ON denied_jtis DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION revocation_log_jti_denied();
CREATE CONSTRAINT TRIGGER denied_jtis_denial_extended
    AFTER UPDATE OF expires_at ON denied_jtis DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW WHEN (NEW.expires_at > OLD.expires_at)
    EXECUTE FUNCTION revocation_log_jti_denied();

-- A retired signing key (UPDATE signing_keys SET retired_at = ..., deny_until = ...): the
-- snapshot lists a key once both are set.
CREATE FUNCTION revocation_log_key_retired() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM revocation_log_append('k', NEW.kid, NULL, NEW.deny_until);
    RETURN NULL;
END
$$;
CREATE CONSTRAINT TRIGGER signing_keys_retired
    AFTER UPDATE OF retired_at, deny_until ON signing_keys DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW WHEN (NEW.retired_at IS NOT NULL AND NEW.deny_until IS NOT NULL
        AND (OLD.retired_at IS NULL OR OLD.deny_until IS NULL
            OR NEW.deny_until > OLD.deny_until))
    EXECUTE FUNCTION revocation_log_key_retired();
CREATE CONSTRAINT TRIGGER signing_keys_inserted_retired
    AFTER INSERT ON signing_keys DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW WHEN (NEW.retired_at IS NOT NULL AND NEW.deny_until IS NOT NULL)
    EXECUTE FUNCTION revocation_log_key_retired();
