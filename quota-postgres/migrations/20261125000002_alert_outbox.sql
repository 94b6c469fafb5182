-- Usage Quota Guardian: the alert outbox (quota_core::OutboxStore), version 2.
--
-- One row per (event, sink) message, id = the idempotency key of the enqueue. A message is
-- claimable while pending, due and not leased (or its lease ended); the claim takes rows with
-- FOR UPDATE SKIP LOCKED so concurrent dispatchers never get the same row. Delivered and dead
-- rows stay (a re-enqueue of their id stays a no-op) until purge_outbox removes old ones.
CREATE TABLE alert_outbox (
    id            TEXT        PRIMARY KEY,
    sink          TEXT        NOT NULL,
    payload       JSONB       NOT NULL,
    due_at        TIMESTAMPTZ NOT NULL,
    status        TEXT        NOT NULL DEFAULT 'pending'
                              CHECK (status IN ('pending', 'delivered', 'dead')),
    attempts      INTEGER     NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    leased_until  TIMESTAMPTZ,
    last_error    TEXT
);

-- The claim scans pending rows of some sinks by due time.
CREATE INDEX alert_outbox_pending ON alert_outbox (sink, due_at, id) WHERE status = 'pending';
-- Listings and purge of finished rows.
CREATE INDEX alert_outbox_status ON alert_outbox (status, sink, due_at);
