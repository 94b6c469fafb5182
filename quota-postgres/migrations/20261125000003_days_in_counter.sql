-- Usage Quota Guardian: daily buckets folded into the counter row, version 3.
--
-- A consume used to hold two hot rows until its commit was flushed: the counter and the day's
-- bucket in `usage_daily`. The buckets now live in the counter row (`days[d + 1]` = units of
-- zero-based day d, as the Redis store keeps them as fields of the counter hash), so a consume
-- updates `used` and its day's bucket in one row update and holds one row lock.
--
-- `quota_consume`, `quota_release` and `quota_reset_period` keep their signatures (an older
-- binary still calls them correctly); `usage_daily` is copied into the counters and dropped.

ALTER TABLE usage_counters ADD COLUMN days BIGINT[] NOT NULL DEFAULT '{}';

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

UPDATE usage_counters c SET days = agg.days
FROM (
    SELECT m.brand, m.metric, m.period,
           array_agg(COALESCE(d.units, 0) ORDER BY g.day) AS days
    FROM (
        SELECT u.brand, u.metric, u.period, max(u.day) AS top
        FROM usage_daily u
        GROUP BY u.brand, u.metric, u.period
    ) m
    CROSS JOIN LATERAL generate_series(0, m.top) AS g(day)
    LEFT JOIN usage_daily d
        ON d.brand = m.brand AND d.metric = m.metric AND d.period = m.period AND d.day = g.day
    GROUP BY m.brand, m.metric, m.period
) agg
WHERE c.brand = agg.brand AND c.metric = agg.metric AND c.period = agg.period;

DROP TABLE usage_daily;

-- Check-and-consume in one statement (one round trip, one transaction), as in version 1, with
-- the day's bucket updated in the same row update as `used`.
--
-- Lock order is always: idempotency key -> counter row, so consumes cannot deadlock with each
-- other. Between the counter update and the commit the only work left is the ledger insert
-- (and, with a key, pointing the key at it).
CREATE OR REPLACE FUNCTION quota_consume(
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
    UPDATE usage_counters c
    SET used = c.used + p_quantity,
        days = CASE WHEN p_quantity > 0 THEN quota_days_add(c.days, p_day, p_quantity) ELSE c.days END
    WHERE c.brand = p_brand AND c.metric = p_metric AND c.period = p_period
      AND c.used::NUMERIC + p_quantity
          <= LEAST(COALESCE(p_limit::NUMERIC + c.topup_units, 9223372036854775807), 9223372036854775807)
    RETURNING c.used, c.topup_units INTO v_used, v_topups;
    v_found := FOUND;

    IF NOT v_found THEN
        -- The counter is absent or full. The first consume of a counter inserts it (admitted only
        -- when the quantity alone fits the ceiling; a denied insert leaves used = 0 and no
        -- buckets); a concurrent insert or a full counter goes through the same conditional
        -- update as above.
        INSERT INTO usage_counters AS c (brand, metric, period, used, topup_units, retain_until, days)
        VALUES (
            p_brand, p_metric, p_period,
            CASE WHEN p_quantity <= COALESCE(p_limit, 9223372036854775807) THEN p_quantity ELSE 0 END,
            0, p_retain_until,
            CASE WHEN p_quantity > 0 AND p_quantity <= COALESCE(p_limit, 9223372036854775807)
                THEN quota_days_add('{}'::BIGINT[], p_day, p_quantity)
                ELSE '{}'::BIGINT[]
            END
        )
        ON CONFLICT (brand, metric, period) DO UPDATE
            SET used = c.used + p_quantity,
                days = CASE WHEN p_quantity > 0 THEN quota_days_add(c.days, p_day, p_quantity) ELSE c.days END
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
-- bucket (saturating at zero too; an absent day stays absent), and records the release in the
-- ledger. Returns nothing when the counter is absent.
CREATE OR REPLACE FUNCTION quota_release(
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
        UPDATE usage_counters c
        SET used = c.used - v_given,
            days = CASE WHEN p_day >= 0 AND p_day < cardinality(c.days)
                THEN quota_days_add(c.days, p_day, -LEAST(c.days[p_day + 1], v_given))
                ELSE c.days
            END
        WHERE c.brand = p_brand AND c.metric = p_metric AND c.period = p_period;
        INSERT INTO usage_metric (brand, metric, period, kind, quantity, at, used_after, topup_units_after)
        VALUES (p_brand, p_metric, p_period, 'release', -v_given, now(), v_old - v_given, v_topups);
    END IF;
    RETURN QUERY SELECT v_old - v_given, v_topups;
END;
$$;

-- Resets one brand's period, for one metric or all (p_metric NULL): counters back to 0 with
-- their daily buckets emptied (top-up units stay), alert claims deleted, and one 'reset' ledger
-- row per counter that had usage, so the ledger still sums to the counters.
CREATE OR REPLACE FUNCTION quota_reset_period(
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
        SELECT c.metric, c.used, c.topup_units, cardinality(c.days) AS n_days
        FROM usage_counters c
        WHERE c.brand = p_brand AND c.period = p_period
          AND (p_metric IS NULL OR c.metric = p_metric)
        ORDER BY c.metric
        FOR UPDATE
    ), zeroed AS (
        UPDATE usage_counters c SET used = 0, days = '{}'::BIGINT[]
        FROM prev
        WHERE c.brand = p_brand AND c.period = p_period AND c.metric = prev.metric
          AND (prev.used > 0 OR prev.n_days > 0)
        RETURNING c.metric
    )
    INSERT INTO usage_metric (brand, metric, period, kind, quantity, at, used_after, topup_units_after, note)
    SELECT p_brand, prev.metric, p_period, 'reset', -prev.used, p_at, 0, prev.topup_units, p_note
    FROM prev JOIN zeroed ON zeroed.metric = prev.metric
    WHERE prev.used > 0;

    DELETE FROM alert_claims
    WHERE brand = p_brand AND period = p_period AND (p_metric IS NULL OR metric = p_metric);
END;
$$;
