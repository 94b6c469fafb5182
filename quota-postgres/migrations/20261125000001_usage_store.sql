-- Usage Quota Guardian: the Postgres store schema, version 1.
--
-- Every u64 of the Rust API is a BIGINT here (i64): the store refuses or clamps values above
-- 9223372036854775807 before they reach SQL, and CHECK constraints keep counters non-negative.
-- Periods are `PeriodKey` (YYYYMMDD of the period start) as BIGINT so any u32 fits.

-- Usage counters, one row per (brand, metric, period). `used` is what consume/release move;
-- `topup_units` is raised by completed top-ups and read by consume in the same row, so the
-- admission check `used + n <= ceiling + topup_units` is one atomic row update.
CREATE TABLE usage_counters (
    brand         TEXT        NOT NULL,
    metric        TEXT        NOT NULL,
    period        BIGINT      NOT NULL,
    used          BIGINT      NOT NULL DEFAULT 0 CHECK (used >= 0),
    topup_units   BIGINT      NOT NULL DEFAULT 0 CHECK (topup_units >= 0),
    retain_until  TIMESTAMPTZ,
    PRIMARY KEY (brand, metric, period)
);

-- Daily buckets of a counter (day = zero-based day of the period), for projections.
CREATE TABLE usage_daily (
    brand   TEXT    NOT NULL,
    metric  TEXT    NOT NULL,
    period  BIGINT  NOT NULL,
    day     INTEGER NOT NULL CHECK (day >= 0),
    units   BIGINT  NOT NULL DEFAULT 0 CHECK (units >= 0),
    PRIMARY KEY (brand, metric, period, day)
);

-- The usage ledger (`UsageMetric` in the runbook): append-only, one row per admitted consume,
-- release and reset. `quantity` is signed: positive for a consume, negative for a release or a
-- reset. The counters are the ledger's running sum; the ledger is what an audit reads.
CREATE TABLE usage_metric (
    id                 BIGSERIAL   PRIMARY KEY,
    brand              TEXT        NOT NULL,
    metric             TEXT        NOT NULL,
    period             BIGINT      NOT NULL,
    kind               TEXT        NOT NULL CHECK (kind IN ('consume', 'release', 'reset', 'reset_target')),
    quantity           BIGINT      NOT NULL,
    at                 TIMESTAMPTZ NOT NULL,
    idempotency_key    TEXT,
    used_after         BIGINT      NOT NULL,
    topup_units_after  BIGINT      NOT NULL,
    note               TEXT
);
CREATE INDEX usage_metric_by_counter ON usage_metric (brand, metric, period, id);

-- Live idempotency keys, unique per brand. A key points at the ledger row of its first
-- admitted consume (whose outcome a replay returns). A key expires after the store's TTL and
-- may then be used again, which is why uniqueness lives here and not on the ledger (the ledger
-- keeps every use of a key, for audit). A denied consume deletes the key it claimed, in the
-- same statement, so it never burns it.
CREATE TABLE usage_idempotency_keys (
    brand            TEXT        NOT NULL,
    idempotency_key  TEXT        NOT NULL,
    ledger_id        BIGINT,
    expires_at       TIMESTAMPTZ NOT NULL,
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

-- Top-ups (`UsageTopUp`). `doc` is the serde form, read back as is so timestamps keep their
-- full precision; the columns are there for SQL (listing, audit, status transitions).
CREATE TABLE usage_topup (
    seq         BIGSERIAL   NOT NULL UNIQUE,
    id          TEXT        PRIMARY KEY,
    brand       TEXT        NOT NULL,
    metric      TEXT        NOT NULL,
    units       BIGINT      NOT NULL CHECK (units >= 0),
    status      TEXT        NOT NULL CHECK (status IN ('pending', 'completed', 'failed', 'expired')),
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

-- The timeline: append-only, read newest first in insertion order (`id`). `event` is the
-- serde form of `TimelineEvent`.
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
CREATE INDEX timeline_events_by_brand ON timeline_events (brand, id DESC);

-- Revoked share links (the token id of a signed share token).
CREATE TABLE share_link_revocations (
    token_id    TEXT        PRIMARY KEY,
    brand       TEXT        NOT NULL,
    revoked_at  TIMESTAMPTZ NOT NULL,
    expires_at  TIMESTAMPTZ
);
CREATE INDEX share_link_revocations_by_brand ON share_link_revocations (brand);

-- Check-and-consume in one statement (one round trip, one transaction).
--
-- Under READ COMMITTED the conditional upsert on usage_counters re-checks its WHERE against
-- the newest committed row after waiting for the row lock, so concurrent consumes (from any
-- number of pools or processes) can never push `used` past the limit.
--
-- Lock order is always: idempotency key -> counter row -> daily bucket, so consumes cannot
-- deadlock with each other. `p_limit` is the ceiling clamped to BIGINT (NULL = none); the
-- effective bound is min(ceiling + topup_units, BIGINT max).
CREATE FUNCTION quota_consume(
    p_brand        TEXT,
    p_metric       TEXT,
    p_period       BIGINT,
    p_quantity     BIGINT,
    p_limit        BIGINT,
    p_key          TEXT,
    p_day          INTEGER,
    p_at           TIMESTAMPTZ,
    p_retain_until TIMESTAMPTZ,
    p_key_expires  TIMESTAMPTZ
) RETURNS TABLE (admitted BOOLEAN, used BIGINT, topup_units BIGINT, replayed BOOLEAN)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    v_claimed BOOLEAN := FALSE;
    v_found   BOOLEAN;
    v_used    BIGINT;
    v_topups  BIGINT;
    v_ledger  BIGINT;
BEGIN
    IF p_key IS NOT NULL THEN
        -- Claim the key (new, or expired and reused). A concurrent consume with the same key
        -- waits on the unique index until this transaction ends, then sees the outcome.
        INSERT INTO usage_idempotency_keys AS k (brand, idempotency_key, ledger_id, expires_at)
        VALUES (p_brand, p_key, NULL, p_key_expires)
        ON CONFLICT (brand, idempotency_key) DO UPDATE
            SET ledger_id = NULL, expires_at = EXCLUDED.expires_at
            WHERE k.expires_at <= p_at
        RETURNING TRUE INTO v_claimed;
        IF v_claimed IS NULL OR NOT v_claimed THEN
            RETURN QUERY
                SELECT TRUE, l.used_after, l.topup_units_after, TRUE
                FROM usage_idempotency_keys k
                JOIN usage_metric l ON l.id = k.ledger_id
                WHERE k.brand = p_brand AND k.idempotency_key = p_key;
            IF FOUND THEN
                RETURN;
            END IF;
            RAISE EXCEPTION 'idempotency key % of brand % has no ledger entry', p_key, p_brand
                USING ERRCODE = 'data_corrupted';
        END IF;
    END IF;

    -- Fast path: the counter exists and the quantity fits.
    UPDATE usage_counters c SET used = c.used + p_quantity
    WHERE c.brand = p_brand AND c.metric = p_metric AND c.period = p_period
      AND c.used::NUMERIC + p_quantity
          <= LEAST(COALESCE(p_limit::NUMERIC + c.topup_units, 9223372036854775807), 9223372036854775807)
    RETURNING c.used, c.topup_units INTO v_used, v_topups;
    v_found := FOUND;

    IF NOT v_found THEN
        -- The counter is absent or full. The first consume of a counter inserts it (admitted only
        -- when the quantity alone fits the ceiling; a denied insert leaves used = 0); a concurrent
        -- insert or a full counter goes through the same conditional update as above.
        INSERT INTO usage_counters AS c (brand, metric, period, used, topup_units, retain_until)
        VALUES (
            p_brand, p_metric, p_period,
            CASE WHEN p_quantity <= COALESCE(p_limit, 9223372036854775807) THEN p_quantity ELSE 0 END,
            0, p_retain_until
        )
        ON CONFLICT (brand, metric, period) DO UPDATE
            SET used = c.used + p_quantity
            WHERE c.used::NUMERIC + p_quantity
                  <= LEAST(COALESCE(p_limit::NUMERIC + c.topup_units, 9223372036854775807), 9223372036854775807)
        RETURNING c.used, c.topup_units INTO v_used, v_topups;
        v_found := FOUND;
    END IF;

    IF NOT v_found OR v_used < p_quantity THEN
        -- Denied: forget the key we claimed (a denied consume does not burn its key).
        IF v_claimed THEN
            DELETE FROM usage_idempotency_keys WHERE brand = p_brand AND idempotency_key = p_key;
        END IF;
        IF NOT v_found THEN
            SELECT c.used, c.topup_units INTO v_used, v_topups
            FROM usage_counters c
            WHERE c.brand = p_brand AND c.metric = p_metric AND c.period = p_period;
        END IF;
        RETURN QUERY SELECT FALSE, COALESCE(v_used, 0::BIGINT), COALESCE(v_topups, 0::BIGINT), FALSE;
        RETURN;
    END IF;

    IF p_quantity > 0 THEN
        INSERT INTO usage_daily AS d (brand, metric, period, day, units)
        VALUES (p_brand, p_metric, p_period, p_day, p_quantity)
        ON CONFLICT (brand, metric, period, day) DO UPDATE SET units = d.units + EXCLUDED.units;
    END IF;

    IF p_quantity > 0 OR v_claimed THEN
        INSERT INTO usage_metric (brand, metric, period, kind, quantity, at, idempotency_key, used_after, topup_units_after)
        VALUES (p_brand, p_metric, p_period, 'consume', p_quantity, p_at, p_key, v_used, v_topups)
        RETURNING id INTO v_ledger;
    END IF;

    IF v_claimed THEN
        UPDATE usage_idempotency_keys SET ledger_id = v_ledger
        WHERE brand = p_brand AND idempotency_key = p_key;
    END IF;

    RETURN QUERY SELECT TRUE, v_used, v_topups, FALSE;
END;
$$;

-- Gives back up to p_quantity units (saturating at zero), from the counter and the day's
-- bucket, and records the release in the ledger. Returns nothing when the counter is absent.
CREATE FUNCTION quota_release(
    p_brand    TEXT,
    p_metric   TEXT,
    p_period   BIGINT,
    p_quantity BIGINT,
    p_day      INTEGER
) RETURNS TABLE (used BIGINT, topup_units BIGINT)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    v_old    BIGINT;
    v_given  BIGINT;
    v_topups BIGINT;
BEGIN
    SELECT c.used, c.topup_units INTO v_old, v_topups
    FROM usage_counters c
    WHERE c.brand = p_brand AND c.metric = p_metric AND c.period = p_period
    FOR UPDATE;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    v_given := LEAST(v_old, p_quantity);
    IF v_given > 0 THEN
        UPDATE usage_counters c SET used = c.used - v_given
        WHERE c.brand = p_brand AND c.metric = p_metric AND c.period = p_period;
        INSERT INTO usage_metric (brand, metric, period, kind, quantity, at, used_after, topup_units_after)
        VALUES (p_brand, p_metric, p_period, 'release', -v_given, now(), v_old - v_given, v_topups);
    END IF;
    UPDATE usage_daily d SET units = d.units - LEAST(d.units, v_given)
    WHERE d.brand = p_brand AND d.metric = p_metric AND d.period = p_period AND d.day = p_day;
    RETURN QUERY SELECT v_old - v_given, v_topups;
END;
$$;

-- Resets one brand's period, for one metric or all (p_metric NULL): counters back to 0
-- (top-up units stay), daily buckets and alert claims deleted, and one 'reset' ledger row per counter that had
-- usage, so the ledger still sums to the counters.
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
        SELECT c.metric, c.used, c.topup_units
        FROM usage_counters c
        WHERE c.brand = p_brand AND c.period = p_period
          AND (p_metric IS NULL OR c.metric = p_metric)
        ORDER BY c.metric
        FOR UPDATE
    ), zeroed AS (
        UPDATE usage_counters c SET used = 0
        FROM prev
        WHERE c.brand = p_brand AND c.period = p_period AND c.metric = prev.metric AND prev.used > 0
        RETURNING c.metric
    )
    INSERT INTO usage_metric (brand, metric, period, kind, quantity, at, used_after, topup_units_after, note)
    SELECT p_brand, prev.metric, p_period, 'reset', -prev.used, p_at, 0, prev.topup_units, p_note
    FROM prev JOIN zeroed ON zeroed.metric = prev.metric;

    DELETE FROM usage_daily
    WHERE brand = p_brand AND period = p_period AND (p_metric IS NULL OR metric = p_metric);
    DELETE FROM alert_claims
    WHERE brand = p_brand AND period = p_period AND (p_metric IS NULL OR metric = p_metric);
END;
$$;

-- Adds p_delta to a gauge. An increase is refused when the level would pass p_ceiling
-- (clamped to BIGINT; NULL = none); a decrease always applies and saturates at zero.
CREATE FUNCTION quota_adjust_gauge(
    p_brand   TEXT,
    p_metric  TEXT,
    p_delta   BIGINT,
    p_ceiling BIGINT
) RETURNS TABLE (admitted BOOLEAN, level BIGINT)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    v_level BIGINT;
BEGIN
    INSERT INTO usage_gauges AS g (brand, metric, level)
    VALUES (
        p_brand, p_metric,
        CASE WHEN p_delta > 0 AND p_delta <= COALESCE(p_ceiling, 9223372036854775807) THEN p_delta ELSE 0 END
    )
    ON CONFLICT (brand, metric) DO UPDATE
        SET level = CASE WHEN p_delta < 0 THEN GREATEST(g.level + p_delta, 0) ELSE g.level + p_delta END
        WHERE p_delta < 0
           OR g.level::NUMERIC + p_delta <= LEAST(COALESCE(p_ceiling, 9223372036854775807), 9223372036854775807)
    RETURNING g.level INTO v_level;
    IF FOUND AND NOT (p_delta > 0 AND v_level < p_delta) THEN
        RETURN QUERY SELECT TRUE, v_level;
        RETURN;
    END IF;
    SELECT g.level INTO v_level FROM usage_gauges g WHERE g.brand = p_brand AND g.metric = p_metric;
    RETURN QUERY SELECT FALSE, COALESCE(v_level, 0::BIGINT);
END;
$$;

-- Sets a gauge, returning the previous level (0 when absent).
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
