-- The webhook outbox: one row per security event chosen for the webhook, written in the same
-- transaction as the event, so an event that is stored is also delivered, even when the replica
-- that recorded it dies before sending it.
CREATE TABLE webhook_deliveries (
    -- The event delivered; receivers deduplicate on it (X-Portcullis-Event-Id). The row goes
    -- with its event when retention deletes the event.
    event_id        INTEGER PRIMARY KEY REFERENCES security_events (id) ON DELETE CASCADE,
    -- X-Portcullis-Delivery: the same for every attempt, across restarts.
    delivery_id     TEXT NOT NULL,
    -- pending until the receiver accepts it (delivered) or the attempts run out (failed,
    -- kept for the operator).
    state           TEXT NOT NULL DEFAULT 'pending'
                    CHECK (state IN ('pending', 'delivered', 'failed')),
    -- Counted when a worker claims the row, so an attempt cut short by a crash counts too.
    attempts        INTEGER NOT NULL DEFAULT 0,
    -- Milliseconds since the epoch, like every time in this schema. The backoff lives here,
    -- not in a worker's memory, so it survives restarts.
    next_attempt_at INTEGER NOT NULL,
    -- The claim holding the row and until when: another worker takes it over only after this,
    -- and only the holder may record a failed attempt.
    lease_id        TEXT,
    locked_until    INTEGER,
    last_error      TEXT,
    delivered_at    INTEGER
);

-- What the workers claim: pending rows, earliest due first.
CREATE INDEX webhook_deliveries_due
    ON webhook_deliveries (next_attempt_at, event_id)
    WHERE state = 'pending';
-- What the operator lists (`portcullis admin webhooks`): everything not yet delivered.
CREATE INDEX webhook_deliveries_undelivered
    ON webhook_deliveries (event_id)
    WHERE state <> 'delivered';
