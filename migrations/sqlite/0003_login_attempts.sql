-- Login-attempt counters of the embedded tier (the production tier keeps them in Redis). In the
-- database rather than in memory so a restart does not forgive an attacker's failures, and so a
-- reservation is decided and written in one transaction.
CREATE TABLE login_attempts (
    -- `login:account:<email>` or `login:ip:<address>` (portcullis_core::throttle).
    key              TEXT PRIMARY KEY NOT NULL,
    -- Attempts reserved in the current window: failures, plus attempts still in flight.
    count            INTEGER NOT NULL,
    -- End of the window, Unix ms; a row past it counts as nothing and is swept.
    resets_at        INTEGER NOT NULL,
    -- Set by the first refusal in the window, so the audit trail gets one event per window.
    refusal_recorded INTEGER NOT NULL DEFAULT 0
);
-- The sweep of lapsed windows.
CREATE INDEX login_attempts_by_resets_at ON login_attempts (resets_at);
