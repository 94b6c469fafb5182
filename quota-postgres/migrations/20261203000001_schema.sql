-- Usage Quota Guardian: the Postgres store schema.
--
-- Every u64 of the Rust API is a BIGINT here (i64). Totals stay within the domain of
-- `quota_core::domain::MAX_UNITS` (10^15, the literal 1000000000000000 below): a consume that
-- would take a counter past it is denied, a gauge increase past it is refused. Callers pass
-- ceilings and free units clamped to that bound and quantities clamped to one unit past it, so
-- every sum below stays far from the BIGINT range; CHECK constraints keep counters
-- non-negative. Periods are `PeriodKey` (YYYYMMDD of the period start) as BIGINT so any u32
-- fits.

-- Usage counters, one row per (brand, metric, period). `used` is what consume/release move;
-- `topup_units` is raised by completed top-ups and read by consume in the same row, so the
-- admission check `used + n <= ceiling + topup_units` is one atomic row update.
--
-- `days` holds the daily buckets (`days[d + 1]` = units of zero-based day d of the period, as
-- the Redis store keeps them as fields of the counter hash): a consume moves `used` and its
-- day's bucket in one row update and holds one row lock until its commit.
--
-- `overage_units`: admitted units that neither the free units, the top-up units completed at
-- that moment nor the overage units billed before pay for, counted as they are admitted,
-- lowered by releases (at most by the units given back) and cleared by resets.
-- `last_charged` holds the overage units of the counter's last consume, so that a statement
-- can return them (RETURNING sees only the new row).
CREATE TABLE usage_counters (
    brand          TEXT        NOT NULL,
    metric         TEXT        NOT NULL,
    period         BIGINT      NOT NULL,
    used           BIGINT      NOT NULL DEFAULT 0 CHECK (used >= 0),
    topup_units    BIGINT      NOT NULL DEFAULT 0 CHECK (topup_units >= 0),
    retain_until   TIMESTAMPTZ,
    days           BIGINT[]    NOT NULL DEFAULT '{}',
    overage_units  BIGINT      NOT NULL DEFAULT 0 CHECK (overage_units >= 0),
    last_charged   BIGINT      NOT NULL DEFAULT 0,
    PRIMARY KEY (brand, metric, period)
);

-- The usage ledger (`UsageMetric` in the runbook): append-only, one row per admitted consume,
-- release and reset. `quantity` is signed: positive for a consume, negative for a release or a
-- reset. The counters are the ledger's running sum; the ledger is what an audit reads.
--
-- Every row also records its change of the counter's overage units (`charged_units`: positive
-- for the billed units of a consume, negative for a release or a reset) and the overage units
-- after it, so the ledger sums to the counter's overage units as it sums to `used`, and a
-- replay returns the first outcome's numbers.
--
-- The ledger has no index but its primary key. Every consume appends a row while it holds its
-- counter's row lock, so every index of the ledger is paid inside the lock window of a hot
-- counter; no query or constraint of the store reads the ledger by counter (replays read it
-- by `id`, resets append rows, idempotency uniqueness lives in `usage_idempotency_keys`).
-- Audit reads by counter scan the table, or use an index an operator adds on a replica.
CREATE TABLE usage_metric (
    id                   BIGSERIAL   PRIMARY KEY,
    brand                TEXT        NOT NULL,
    metric               TEXT        NOT NULL,
    period               BIGINT      NOT NULL,
    kind                 TEXT        NOT NULL CHECK (kind IN ('consume', 'release', 'reset', 'reset_target')),
    quantity             BIGINT      NOT NULL,
    at                   TIMESTAMPTZ NOT NULL,
    idempotency_key      TEXT,
    used_after           BIGINT      NOT NULL,
    topup_units_after    BIGINT      NOT NULL,
    note                 TEXT,
    overage_units_after  BIGINT      NOT NULL DEFAULT 0,
    charged_units        BIGINT      NOT NULL DEFAULT 0
);

-- Live idempotency keys, unique per brand. A key points at the ledger row of its first
-- admitted consume (whose outcome a replay returns). A key expires after the store's TTL and
-- may then be used again, which is why uniqueness lives here and not on the ledger (the ledger
-- keeps every use of a key, for audit). A denied consume deletes the key it claimed, in the
-- same statement, so it never burns it.
--
-- `fingerprint` is that of the request the key is bound to (`quota_core::store::fingerprint`,
-- below 2^63). A key with a NULL fingerprint is bound to no particular request and replays
-- for any.
CREATE TABLE usage_idempotency_keys (
    brand            TEXT        NOT NULL,
    idempotency_key  TEXT        NOT NULL,
    ledger_id        BIGINT,
    expires_at       TIMESTAMPTZ NOT NULL,
    fingerprint      BIGINT,
    PRIMARY KEY (brand, idempotency_key)
);
CREATE INDEX usage_idempotency_keys_expiry ON usage_idempotency_keys (expires_at);

-- Gauges (levels such as seats): never reset.
CREATE TABLE usage_gauges (
    brand   TEXT   NOT NULL,
    metric  TEXT   NOT NULL,
    level   BIGINT NOT NULL DEFAULT 0 CHECK (level >= 0),
    PRIMARY KEY (brand, metric)
);

-- Top-ups (`UsageTopUp`): pending, completed, failed, expired or cancelled (by the buyer).
-- `doc` is the serde form, read back as is so timestamps keep their full precision; the
-- columns are there for SQL (listing, audit, status transitions).
CREATE TABLE usage_topup (
    seq         BIGSERIAL   NOT NULL UNIQUE,
    id          TEXT        PRIMARY KEY,
    brand       TEXT        NOT NULL,
    metric      TEXT        NOT NULL,
    units       BIGINT      NOT NULL CHECK (units >= 0),
    status      TEXT        NOT NULL
                            CHECK (status IN ('pending', 'completed', 'failed', 'expired', 'cancelled')),
    period      BIGINT      NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    settled_at  TIMESTAMPTZ,
    expires_at  TIMESTAMPTZ NOT NULL,
    doc         JSONB       NOT NULL
);
CREATE INDEX usage_topup_by_brand ON usage_topup (brand, seq);

-- Subscriptions (brand -> plan); `doc` is the serde form of `Subscription`.
CREATE TABLE subscriptions (
    brand       TEXT        PRIMARY KEY,
    plan        TEXT        NOT NULL,
    anchor      SMALLINT    NOT NULL,
    since       TIMESTAMPTZ NOT NULL,
    doc         JSONB       NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Alert claims: the primary key makes "exactly one alert per (brand, metric, period,
-- threshold)" hold across any number of instances. Threshold 0 is the "blocked" claim.
CREATE TABLE alert_claims (
    brand       TEXT        NOT NULL,
    metric      TEXT        NOT NULL,
    period      BIGINT      NOT NULL,
    threshold   INTEGER     NOT NULL CHECK (threshold >= 0),
    claimed_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (brand, metric, period, threshold)
);

-- The timeline: append-only; `event` is the serde form of `TimelineEvent`. It reads newest
-- first in a total order: by time, then by `id`, the event's sequence number (increasing in
-- append order).
CREATE TABLE timeline_events (
    id        BIGSERIAL   PRIMARY KEY,
    brand     TEXT        NOT NULL,
    at        TIMESTAMPTZ NOT NULL,
    period    BIGINT      NOT NULL,
    metric    TEXT,
    severity  TEXT        NOT NULL,
    kind      TEXT        NOT NULL,
    event     JSONB       NOT NULL
);
CREATE INDEX timeline_events_by_brand ON timeline_events (brand, at DESC, id DESC);

-- Revoked share links (the token id of a signed share token).
CREATE TABLE share_link_revocations (
    token_id    TEXT        PRIMARY KEY,
    brand       TEXT        NOT NULL,
    revoked_at  TIMESTAMPTZ NOT NULL,
    expires_at  TIMESTAMPTZ
);
CREATE INDEX share_link_revocations_by_brand ON share_link_revocations (brand);

-- The alert outbox (`quota_core::OutboxStore`). One row per (event, sink) message, id = the
-- idempotency key of the enqueue. A message is claimable while pending, due and not leased (or
-- its lease ended); the claim takes rows with FOR UPDATE SKIP LOCKED so concurrent dispatchers
-- never get the same row. Delivered and dead rows stay (a re-enqueue of their id stays a
-- no-op) until purge_outbox removes old ones.
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

-- Adds p_units to day p_day (zero-based) of p_days, growing the array with zero days as
-- needed. The result always has lower bound 1 and no NULLs.
CREATE FUNCTION quota_days_add(p_days BIGINT[], p_day INTEGER, p_units BIGINT)
RETURNS BIGINT[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN p_day < cardinality(p_days)
            THEN p_days[1:p_day] || (p_days[p_day + 1] + p_units) || p_days[p_day + 2:]
        ELSE p_days || array_fill(0::BIGINT, ARRAY[p_day - cardinality(p_days)]) || p_units
    END
$$;

-- The highest total a consume may reach: the ceiling (NULL = none) plus the top-up units,
-- never past the domain's bound.
CREATE FUNCTION quota_limit(p_ceiling BIGINT, p_topups BIGINT)
RETURNS BIGINT
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN p_ceiling IS NULL THEN 1000000000000000
        ELSE LEAST(LEAST(p_ceiling, 1000000000000000) + LEAST(p_topups, 1000000000000000),
                   1000000000000000)
    END
$$;

-- Units of an admitted consume billed as overage: those of the counter's new total `p_after`
-- past both the total before the consume (`p_after - p_quantity`) and what is paid for
-- already: the free units, the top-up units and the overage units billed before (bounded by
-- the domain). Zero when the request carries no free units (NULL).
CREATE FUNCTION quota_charged(p_after BIGINT, p_quantity BIGINT, p_free BIGINT, p_topups BIGINT,
                              p_overage BIGINT)
RETURNS BIGINT
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN p_free IS NULL THEN 0::BIGINT
        ELSE GREATEST(
            p_after - GREATEST(
                p_after - p_quantity,
                LEAST(LEAST(p_free, 1000000000000000) + LEAST(p_topups, 1000000000000000)
                      + LEAST(p_overage, 1000000000000000),
                      1000000000000000)),
            0)
    END
$$;

-- Check-and-consume in one statement (one round trip, one transaction).
--
-- With a key: a live key replays the ledger row of its first admitted consume when the
-- fingerprint matches (or the key has none), and answers `key_reused` (nothing changed)
-- otherwise. A key is claimed (new, or expired and reused) before the counter is touched; a
-- concurrent consume with the same key waits on the unique index until this transaction ends,
-- then sees its outcome. A denied consume deletes the key it claimed: it never burns it.
--
-- Under READ COMMITTED the conditional update of the counter re-checks its WHERE against the
-- newest committed row after waiting for the row lock, so concurrent consumes (from any number
-- of pools or processes) never push `used` past `quota_limit`. Lock order is always:
-- idempotency key -> counter row, so consumes cannot deadlock with each other.
--
-- `p_limit` is the ceiling and `p_free` the free units (NULL = none, both at most the
-- domain's bound); `p_quantity` is at most one unit past the bound.
CREATE FUNCTION quota_consume(
    p_brand        TEXT,
    p_metric       TEXT,
    p_period       BIGINT,
    p_quantity     BIGINT,
    p_limit        BIGINT,
    p_free         BIGINT,
    p_key          TEXT,
    p_fingerprint  BIGINT,
    p_day          INTEGER,
    p_at           TIMESTAMPTZ,
    p_retain_until TIMESTAMPTZ,
    p_key_expires  TIMESTAMPTZ
) RETURNS TABLE (
    admitted      BOOLEAN,
    used          BIGINT,
    topup_units   BIGINT,
    overage_units BIGINT,
    charged_units BIGINT,
    replayed      BOOLEAN,
    key_reused    BOOLEAN
)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    v_claimed     BOOLEAN := FALSE;
    v_found       BOOLEAN;
    v_fingerprint BIGINT;
    v_used        BIGINT;
    v_topups      BIGINT;
    v_overage     BIGINT;
    v_charged     BIGINT;
    v_ledger      BIGINT;
BEGIN
    IF p_key IS NOT NULL THEN
        INSERT INTO usage_idempotency_keys AS k
            (brand, idempotency_key, ledger_id, expires_at, fingerprint)
        VALUES (p_brand, p_key, NULL, p_key_expires, p_fingerprint)
        ON CONFLICT (brand, idempotency_key) DO UPDATE
            SET ledger_id = NULL, expires_at = EXCLUDED.expires_at,
                fingerprint = EXCLUDED.fingerprint
            WHERE k.expires_at <= p_at
        RETURNING TRUE INTO v_claimed;
        IF v_claimed IS NULL OR NOT v_claimed THEN
            SELECT k.fingerprint, k.ledger_id INTO v_fingerprint, v_ledger
            FROM usage_idempotency_keys k
            WHERE k.brand = p_brand AND k.idempotency_key = p_key;
            IF v_fingerprint IS NOT NULL AND v_fingerprint <> p_fingerprint THEN
                RETURN QUERY SELECT FALSE, 0::BIGINT, 0::BIGINT, 0::BIGINT, 0::BIGINT, FALSE, TRUE;
                RETURN;
            END IF;
            RETURN QUERY
                SELECT TRUE, l.used_after, l.topup_units_after, l.overage_units_after,
                       l.charged_units, TRUE, FALSE
                FROM usage_metric l
                WHERE l.id = v_ledger;
            IF FOUND THEN
                RETURN;
            END IF;
            RAISE EXCEPTION 'idempotency key % of brand % has no ledger entry', p_key, p_brand
                USING ERRCODE = 'data_corrupted';
        END IF;
    END IF;

    -- The counter exists and the quantity fits.
    UPDATE usage_counters c
    SET used = c.used + p_quantity,
        overage_units = c.overage_units + quota_charged(c.used + p_quantity, p_quantity, p_free,
                                                        c.topup_units, c.overage_units),
        last_charged = quota_charged(c.used + p_quantity, p_quantity, p_free, c.topup_units,
                                     c.overage_units),
        days = CASE WHEN p_quantity > 0 THEN quota_days_add(c.days, p_day, p_quantity) ELSE c.days END
    WHERE c.brand = p_brand AND c.metric = p_metric AND c.period = p_period
      AND p_quantity <= quota_limit(p_limit, c.topup_units) - c.used
    RETURNING c.used, c.topup_units, c.overage_units, c.last_charged
    INTO v_used, v_topups, v_overage, v_charged;
    v_found := FOUND;

    IF NOT v_found THEN
        -- The counter is absent or full. The first consume of a counter inserts it (admitted
        -- only when the quantity alone fits; a denied insert leaves used = 0 and no buckets);
        -- a concurrent insert or a full counter goes through the same conditional update.
        INSERT INTO usage_counters AS c
            (brand, metric, period, used, topup_units, overage_units, last_charged, retain_until,
             days)
        SELECT p_brand, p_metric, p_period,
               CASE WHEN fits THEN p_quantity ELSE 0 END,
               0,
               CASE WHEN fits THEN quota_charged(p_quantity, p_quantity, p_free, 0, 0) ELSE 0 END,
               CASE WHEN fits THEN quota_charged(p_quantity, p_quantity, p_free, 0, 0) ELSE 0 END,
               p_retain_until,
               CASE WHEN fits AND p_quantity > 0
                   THEN quota_days_add('{}'::BIGINT[], p_day, p_quantity)
                   ELSE '{}'::BIGINT[]
               END
        FROM (SELECT p_quantity <= quota_limit(p_limit, 0) AS fits) f
        ON CONFLICT (brand, metric, period) DO UPDATE
            SET used = c.used + p_quantity,
                overage_units = c.overage_units
                    + quota_charged(c.used + p_quantity, p_quantity, p_free, c.topup_units,
                                    c.overage_units),
                last_charged = quota_charged(c.used + p_quantity, p_quantity, p_free,
                                             c.topup_units, c.overage_units),
                days = CASE WHEN p_quantity > 0 THEN quota_days_add(c.days, p_day, p_quantity)
                            ELSE c.days END
            WHERE p_quantity <= quota_limit(p_limit, c.topup_units) - c.used
        RETURNING c.used, c.topup_units, c.overage_units, c.last_charged
        INTO v_used, v_topups, v_overage, v_charged;
        v_found := FOUND;
    END IF;

    IF NOT v_found OR v_used < p_quantity THEN
        -- Denied: forget the key we claimed.
        IF v_claimed THEN
            DELETE FROM usage_idempotency_keys WHERE brand = p_brand AND idempotency_key = p_key;
        END IF;
        IF NOT v_found THEN
            SELECT c.used, c.topup_units, c.overage_units INTO v_used, v_topups, v_overage
            FROM usage_counters c
            WHERE c.brand = p_brand AND c.metric = p_metric AND c.period = p_period;
        END IF;
        RETURN QUERY SELECT FALSE, COALESCE(v_used, 0::BIGINT), COALESCE(v_topups, 0::BIGINT),
                            COALESCE(v_overage, 0::BIGINT), 0::BIGINT, FALSE, FALSE;
        RETURN;
    END IF;

    IF p_quantity > 0 OR v_claimed THEN
        INSERT INTO usage_metric
            (brand, metric, period, kind, quantity, at, idempotency_key,
             used_after, topup_units_after, overage_units_after, charged_units)
        VALUES (p_brand, p_metric, p_period, 'consume', p_quantity, p_at, p_key,
                v_used, v_topups, v_overage, v_charged)
        RETURNING id INTO v_ledger;
    END IF;

    IF v_claimed THEN
        UPDATE usage_idempotency_keys SET ledger_id = v_ledger
        WHERE brand = p_brand AND idempotency_key = p_key;
    END IF;

    RETURN QUERY SELECT TRUE, v_used, v_topups, v_overage, v_charged, FALSE, FALSE;
END;
$$;

-- Gives back up to p_quantity units (saturating at zero) from the counter and the day's
-- bucket (saturating too; an absent day stays absent); the overage units drop by as much,
-- saturating at zero. Records the release in the ledger. Returns nothing when the counter is
-- absent.
CREATE FUNCTION quota_release(
    p_brand    TEXT,
    p_metric   TEXT,
    p_period   BIGINT,
    p_quantity BIGINT,
    p_day      INTEGER
) RETURNS TABLE (used BIGINT, topup_units BIGINT, overage_units BIGINT)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    v_old     BIGINT;
    v_given   BIGINT;
    v_topups  BIGINT;
    v_overage BIGINT;
    v_back    BIGINT;
BEGIN
    SELECT c.used, c.topup_units, c.overage_units INTO v_old, v_topups, v_overage
    FROM usage_counters c
    WHERE c.brand = p_brand AND c.metric = p_metric AND c.period = p_period
    FOR UPDATE;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    v_given := LEAST(v_old, p_quantity);
    v_back := LEAST(v_overage, v_given);
    IF v_given > 0 THEN
        UPDATE usage_counters c
        SET used = c.used - v_given,
            overage_units = c.overage_units - v_back,
            days = CASE WHEN p_day >= 0 AND p_day < cardinality(c.days)
                THEN quota_days_add(c.days, p_day, -LEAST(c.days[p_day + 1], v_given))
                ELSE c.days
            END
        WHERE c.brand = p_brand AND c.metric = p_metric AND c.period = p_period;
        INSERT INTO usage_metric
            (brand, metric, period, kind, quantity, at, used_after, topup_units_after,
             overage_units_after, charged_units)
        VALUES (p_brand, p_metric, p_period, 'release', -v_given, now(), v_old - v_given,
                v_topups, v_overage - v_back, -v_back);
    END IF;
    RETURN QUERY SELECT v_old - v_given, v_topups, v_overage - v_back;
END;
$$;

-- Resets one brand's period, for one metric or all (p_metric NULL): usage and overage units
-- back to 0 with the daily buckets emptied (top-up units stay), alert claims deleted, and one
-- 'reset' ledger row per counter that had usage, so the ledger still sums to the counters.
CREATE FUNCTION quota_reset_period(
    p_brand  TEXT,
    p_metric TEXT,
    p_period BIGINT,
    p_at     TIMESTAMPTZ,
    p_note   TEXT
) RETURNS VOID
LANGUAGE plpgsql AS $$
#variable_conflict use_column
BEGIN
    WITH prev AS (
        SELECT c.metric, c.used, c.topup_units, c.overage_units, cardinality(c.days) AS n_days
        FROM usage_counters c
        WHERE c.brand = p_brand AND c.period = p_period
          AND (p_metric IS NULL OR c.metric = p_metric)
        ORDER BY c.metric
        FOR UPDATE
    ), zeroed AS (
        UPDATE usage_counters c SET used = 0, overage_units = 0, days = '{}'::BIGINT[]
        FROM prev
        WHERE c.brand = p_brand AND c.period = p_period AND c.metric = prev.metric
          AND (prev.used > 0 OR prev.overage_units > 0 OR prev.n_days > 0)
        RETURNING c.metric
    )
    INSERT INTO usage_metric
        (brand, metric, period, kind, quantity, at, used_after, topup_units_after,
         overage_units_after, charged_units, note)
    SELECT p_brand, prev.metric, p_period, 'reset', -prev.used, p_at, 0, prev.topup_units,
           0, -prev.overage_units, p_note
    FROM prev JOIN zeroed ON zeroed.metric = prev.metric
    WHERE prev.used > 0 OR prev.overage_units > 0;

    DELETE FROM alert_claims
    WHERE brand = p_brand AND period = p_period AND (p_metric IS NULL OR metric = p_metric);
END;
$$;

-- Adds p_delta to a gauge. An increase is refused when the level would pass p_ceiling (NULL =
-- none) or the domain's bound; a decrease always applies and saturates at zero.
CREATE FUNCTION quota_adjust_gauge(
    p_brand   TEXT,
    p_metric  TEXT,
    p_delta   BIGINT,
    p_ceiling BIGINT
) RETURNS TABLE (admitted BOOLEAN, level BIGINT)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    v_bound BIGINT := LEAST(COALESCE(p_ceiling, 1000000000000000), 1000000000000000);
    v_level BIGINT;
BEGIN
    INSERT INTO usage_gauges AS g (brand, metric, level)
    VALUES (p_brand, p_metric, CASE WHEN p_delta > 0 AND p_delta <= v_bound THEN p_delta ELSE 0 END)
    ON CONFLICT (brand, metric) DO UPDATE
        SET level = CASE WHEN p_delta < 0 THEN GREATEST(g.level + p_delta, 0) ELSE g.level + p_delta END
        WHERE p_delta < 0 OR p_delta <= v_bound - g.level
    RETURNING g.level INTO v_level;
    IF FOUND AND NOT (p_delta > 0 AND v_level < p_delta) THEN
        RETURN QUERY SELECT TRUE, v_level;
        RETURN;
    END IF;
    SELECT g.level INTO v_level FROM usage_gauges g WHERE g.brand = p_brand AND g.metric = p_metric;
    RETURN QUERY SELECT FALSE, COALESCE(v_level, 0::BIGINT);
END;
$$;

-- Sets a gauge, returning the level it had before (0 when absent).
CREATE FUNCTION quota_set_gauge(
    p_brand  TEXT,
    p_metric TEXT,
    p_level  BIGINT
) RETURNS BIGINT
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    v_old BIGINT;
BEGIN
    INSERT INTO usage_gauges (brand, metric, level) VALUES (p_brand, p_metric, 0)
    ON CONFLICT (brand, metric) DO NOTHING;
    SELECT g.level INTO v_old FROM usage_gauges g
    WHERE g.brand = p_brand AND g.metric = p_metric FOR UPDATE;
    UPDATE usage_gauges g SET level = p_level WHERE g.brand = p_brand AND g.metric = p_metric;
    RETURN v_old;
END;
$$;
