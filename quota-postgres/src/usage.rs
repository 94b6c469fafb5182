//! Counters, daily buckets, gauges and resets (`UsageStore`), plus the runbook's reset.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use quota_core::domain::MAX_UNITS;
use quota_core::period::PeriodKey;
use quota_core::store::{
    ConsumeOutcome, ConsumeRequest, CounterKey, CounterReset, GaugeOutcome, StoreResult, Usage,
};
use quota_core::{StoreError, UsageStore};
use sqlx::Row;
use sqlx::postgres::{PgConnection, PgRow};

use crate::error::{bound_param, clamp_to_bigint, from_bigint, quantity_param, within_domain};
use crate::store::PostgresStore;

/// The keyless consume of an existing counter, as `quota_consume` does it (same conditional
/// update, same overage count, same ledger row) in one data-modifying statement instead of a
/// plpgsql call: no row when the counter is absent or the quantity does not fit. Parameters:
/// brand, metric, period, quantity (at most one unit past the domain), ceiling (NULL = none),
/// zero-based day, ledger time, free units (NULL = none); ceiling and free units at most the
/// domain's bound.
///
/// Under READ COMMITTED the update re-checks its WHERE against the newest committed row after
/// waiting for the row lock, so concurrent consumes never push `used` past the limit; the
/// ledger row is inserted in the same statement, hence the same transaction.
const FAST_CONSUME: &str = "WITH c AS (
    UPDATE usage_counters c
    SET used = c.used + $4::BIGINT,
        overage_units = c.overage_units + quota_charged(c.used + $4::BIGINT, $4::BIGINT,
                                                        $8::BIGINT, c.topup_units, c.overage_units),
        last_charged = quota_charged(c.used + $4::BIGINT, $4::BIGINT, $8::BIGINT, c.topup_units,
                                     c.overage_units),
        days = CASE WHEN $4::BIGINT > 0 THEN quota_days_add(c.days, $6::INTEGER, $4::BIGINT)
                    ELSE c.days END
    WHERE c.brand = $1::TEXT AND c.metric = $2::TEXT AND c.period = $3::BIGINT
      AND $4::BIGINT <= quota_limit($5::BIGINT, c.topup_units) - c.used
    RETURNING c.used, c.topup_units, c.overage_units,
              c.last_charged AS charged_units
), ledger AS (
    INSERT INTO usage_metric (brand, metric, period, kind, quantity, at, used_after,
                              topup_units_after, overage_units_after, charged_units)
    SELECT $1::TEXT, $2::TEXT, $3::BIGINT, 'consume', $4::BIGINT, $7::TIMESTAMPTZ, c.used,
           c.topup_units, c.overage_units, c.charged_units
    FROM c WHERE $4::BIGINT > 0
)
SELECT TRUE AS admitted, c.used, c.topup_units, c.overage_units, c.charged_units,
       FALSE AS replayed, FALSE AS key_reused
FROM c";

fn period(p: PeriodKey) -> i64 {
    i64::from(p.0)
}

fn units(row: &PgRow, column: &str) -> StoreResult<u64> {
    from_bigint(row.try_get(column).map_err(corrupt)?, column)
}

fn usage_of(row: &PgRow) -> StoreResult<Usage> {
    Ok(Usage::new(
        units(row, "used")?,
        units(row, "topup_units")?,
        units(row, "overage_units")?,
    ))
}

fn outcome_of(row: &PgRow) -> StoreResult<ConsumeOutcome> {
    if row.try_get::<bool, _>("key_reused").map_err(corrupt)? {
        return Ok(ConsumeOutcome::key_reused());
    }
    let outcome = ConsumeOutcome::new(
        row.try_get("admitted").map_err(corrupt)?,
        units(row, "used")?,
        units(row, "topup_units")?,
        units(row, "overage_units")?,
        units(row, "charged_units")?,
    );
    Ok(if row.try_get("replayed").map_err(corrupt)? {
        outcome.as_replay()
    } else {
        outcome
    })
}

fn corrupt(e: sqlx::Error) -> StoreError {
    crate::error::map_sqlx("decode", None, e)
}

impl PostgresStore {
    /// Runs a consume on `conn`. Without an idempotency key, the common case (the counter
    /// exists and the quantity fits) is one prepared statement, [`FAST_CONSUME`]; when it
    /// returns no row (first consume of the counter, or denied), or with a key, the
    /// `quota_consume` function decides.
    async fn consume_on(
        &self,
        conn: &mut PgConnection,
        req: &ConsumeRequest<'_>,
    ) -> Result<PgRow, sqlx::Error> {
        let quantity = quantity_param(req.quantity);
        let ceiling = req.ceiling.map(bound_param);
        let free = req.free_units.map(bound_param);
        if req.idempotency_key.is_none() {
            let fast = sqlx::query(FAST_CONSUME)
                .bind(req.key.brand)
                .bind(req.key.metric)
                .bind(period(req.key.period))
                .bind(quantity)
                .bind(ceiling)
                .bind(i32::from(req.day))
                .bind(req.at())
                .bind(free)
                .fetch_optional(&mut *conn)
                .await?;
            if let Some(row) = fast {
                return Ok(row);
            }
        }
        sqlx::query(
            "SELECT admitted, used, topup_units, overage_units, charged_units, replayed, key_reused
             FROM quota_consume($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .bind(req.key.brand)
        .bind(req.key.metric)
        .bind(period(req.key.period))
        .bind(quantity)
        .bind(ceiling)
        .bind(free)
        .bind(req.idempotency_key)
        // Below 2^63 by the contract; a larger one is folded into BIGINT, still stable.
        .bind(i64::from_ne_bytes(req.fingerprint.to_ne_bytes()))
        .bind(i32::from(req.day))
        .bind(req.at())
        .bind(req.retain_until)
        .bind(self.key_deadline(req.at()))
        .fetch_one(&mut *conn)
        .await
    }

    async fn consume_now(&self, req: &ConsumeRequest<'_>) -> StoreResult<ConsumeOutcome> {
        // A keyless consume of more units than the domain holds can never fit: one read.
        if req.idempotency_key.is_none() && req.quantity > MAX_UNITS {
            let u = self.usage_now(req.key).await?;
            return Ok(ConsumeOutcome::new(
                false,
                u.used,
                u.topup_units,
                u.overage_units,
                0,
            ));
        }
        let row = match &self.lane {
            Some(lane) => {
                let mut conn = lane.acquire().await.map_err(|e| self.err("consume", e))?;
                let row = self.consume_on(&mut conn.conn, req).await;
                conn.done(row.is_ok()).await;
                row
            }
            None => match self.pool.acquire().await {
                Ok(mut conn) => self.consume_on(&mut conn, req).await,
                Err(e) => Err(e),
            },
        }
        .map_err(|e| self.err("consume", e))?;
        outcome_of(&row)
    }

    async fn usage_now(&self, key: CounterKey<'_>) -> StoreResult<Usage> {
        let row = sqlx::query(
            "SELECT used, topup_units, overage_units FROM usage_counters
             WHERE brand = $1 AND metric = $2 AND period = $3",
        )
        .bind(key.brand)
        .bind(key.metric)
        .bind(period(key.period))
        .fetch_optional(&self.pool)
        .await
        .map_err(|e| self.err("usage", e))?;
        row.as_ref().map_or(Ok(Usage::default()), usage_of)
    }

    async fn reset_counter_now(&self, reset: &CounterReset<'_>) -> StoreResult<Usage> {
        let op = "reset_counter";
        let key = reset.key;
        let used = within_domain(reset.used, "usage")?;
        let added = match reset.topup {
            Some(t) => within_domain(t.units, "top-up units")?,
            None => 0,
        };
        let mut tx = self.pool.begin().await.map_err(|e| self.err(op, e))?;
        // The counter's row lock first (as consumes take it), created when absent.
        let (topups,): (i64,) = sqlx::query_as(
            "INSERT INTO usage_counters AS c (brand, metric, period, retain_until)
             VALUES ($1, $2, $3, $4)
             ON CONFLICT (brand, metric, period) DO UPDATE SET retain_until = EXCLUDED.retain_until
             RETURNING c.topup_units",
        )
        .bind(key.brand)
        .bind(key.metric)
        .bind(period(key.period))
        .bind(reset.retain_until)
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| self.err(op, e))?;
        let room = clamp_to_bigint(MAX_UNITS).saturating_sub(topups);
        if added > room {
            return Err(StoreError::OutOfRange(format!(
                "the top-up would take the period's top-up units past {MAX_UNITS}"
            )));
        }
        let at = Utc::now();
        reset_period_on(
            &mut tx,
            key.brand,
            Some(key.metric),
            key.period,
            at,
            "reset_counter",
        )
        .await
        .map_err(|e| self.err(op, e))?;
        if let Some(topup) = reset.topup {
            crate::topups::insert_topup_on(&mut tx, topup)
                .await
                .map_err(|e| self.err(op, e))?
                .then_some(())
                .ok_or_else(|| {
                    StoreError::Conflict(format!("top-up {:?} already exists", topup.id))
                })?;
        }
        let point = UsagePoint {
            used,
            day: reset.day,
            retain_until: reset.retain_until,
            topups: added,
            at,
            note: "reset_counter",
        };
        let row = write_usage_point(&mut tx, key, &point)
            .await
            .map_err(|e| self.err(op, e))?;
        let usage = usage_of(&row)?;
        for event in reset.events {
            crate::alerts::insert_event_on(&mut tx, event)
                .await
                .map_err(|e| self.err(op, e))?;
        }
        tx.commit().await.map_err(|e| self.err(op, e))?;
        Ok(usage)
    }
}

/// `quota_reset_period` on `conn` (one metric, or all when `metric` is `None`).
async fn reset_period_on(
    conn: &mut PgConnection,
    brand: &str,
    metric: Option<&str>,
    period_key: PeriodKey,
    at: DateTime<Utc>,
    note: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT quota_reset_period($1, $2, $3, $4, $5)")
        .bind(brand)
        .bind(metric)
        .bind(period(period_key))
        .bind(at)
        .bind(note)
        .execute(&mut *conn)
        .await
        .map(|_| ())
}

/// The usage a reset writes into a counter it has just cleared.
struct UsagePoint<'a> {
    /// Units used, all in the bucket of `day` (none of them overage units).
    used: i64,
    day: u16,
    /// For a counter the reset creates.
    retain_until: DateTime<Utc>,
    /// Top-up units added.
    topups: i64,
    /// Time and note of the ledger row.
    at: DateTime<Utc>,
    note: &'a str,
}

/// Writes `point` into `key`'s (just reset) counter and records a `reset_target` ledger row
/// when it has usage. Returns the counter's `used`, `topup_units` and `overage_units`.
async fn write_usage_point(
    conn: &mut PgConnection,
    key: CounterKey<'_>,
    point: &UsagePoint<'_>,
) -> Result<PgRow, sqlx::Error> {
    sqlx::query(
        "WITH c AS (
             INSERT INTO usage_counters AS c
                 (brand, metric, period, used, topup_units, retain_until, days)
             VALUES ($1, $2, $3, $4, $7, $5,
                     CASE WHEN $4 > 0 THEN quota_days_add('{}'::BIGINT[], $6, $4)
                          ELSE '{}'::BIGINT[] END)
             ON CONFLICT (brand, metric, period) DO UPDATE
             SET used = EXCLUDED.used, days = EXCLUDED.days, overage_units = 0,
                 topup_units = c.topup_units + EXCLUDED.topup_units
             RETURNING c.used, c.topup_units, c.overage_units
         ), ledger AS (
             INSERT INTO usage_metric
                 (brand, metric, period, kind, quantity, at, used_after, topup_units_after,
                  overage_units_after, charged_units, note)
             SELECT $1, $2, $3, 'reset_target', c.used, $8, c.used, c.topup_units, 0, 0, $9
             FROM c WHERE c.used > 0
         )
         SELECT used, topup_units, overage_units FROM c",
    )
    .bind(key.brand)
    .bind(key.metric)
    .bind(period(key.period))
    .bind(point.used)
    .bind(point.retain_until)
    .bind(i32::from(point.day))
    .bind(point.topups)
    .bind(point.at)
    .bind(point.note)
    .fetch_one(&mut *conn)
    .await
}

#[async_trait]
impl UsageStore for PostgresStore {
    async fn consume(&self, req: &ConsumeRequest<'_>) -> StoreResult<ConsumeOutcome> {
        self.bounded(self.consume_now(req)).await
    }

    async fn release(&self, key: CounterKey<'_>, quantity: u64, day: u16) -> StoreResult<Usage> {
        self.bounded(async {
            let row = sqlx::query(
                "SELECT used, topup_units, overage_units FROM quota_release($1, $2, $3, $4, $5)",
            )
            .bind(key.brand)
            .bind(key.metric)
            .bind(period(key.period))
            .bind(clamp_to_bigint(quantity))
            .bind(i32::from(day))
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| self.err("release", e))?;
            row.as_ref().map_or(Ok(Usage::default()), usage_of)
        })
        .await
    }

    async fn usage(&self, key: CounterKey<'_>) -> StoreResult<Usage> {
        self.bounded(self.usage_now(key)).await
    }

    async fn daily_usage(&self, key: CounterKey<'_>) -> StoreResult<Vec<u64>> {
        self.bounded(async {
            let row: Option<(Vec<i64>,)> = sqlx::query_as(
                "SELECT days FROM usage_counters
                 WHERE brand = $1 AND metric = $2 AND period = $3",
            )
            .bind(key.brand)
            .bind(key.metric)
            .bind(period(key.period))
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| self.err("daily_usage", e))?;
            row.map_or_else(Vec::new, |(days,)| days)
                .into_iter()
                .map(|units| from_bigint(units, "daily units"))
                .collect()
        })
        .await
    }

    async fn adjust_gauge(
        &self,
        brand: &str,
        metric: &str,
        delta: i64,
        ceiling: Option<u64>,
    ) -> StoreResult<GaugeOutcome> {
        self.bounded(async {
            let (admitted, level): (bool, i64) =
                sqlx::query_as("SELECT admitted, level FROM quota_adjust_gauge($1, $2, $3, $4)")
                    .bind(brand)
                    .bind(metric)
                    .bind(delta)
                    .bind(ceiling.map(bound_param))
                    .fetch_one(&self.pool)
                    .await
                    .map_err(|e| self.err("adjust_gauge", e))?;
            Ok(GaugeOutcome {
                admitted,
                level: from_bigint(level, "gauge level")?,
            })
        })
        .await
    }

    async fn set_gauge(&self, brand: &str, metric: &str, level: u64) -> StoreResult<u64> {
        let level = within_domain(level, "gauge level")?;
        self.bounded(async {
            let (previous,): (i64,) = sqlx::query_as("SELECT quota_set_gauge($1, $2, $3)")
                .bind(brand)
                .bind(metric)
                .bind(level)
                .fetch_one(&self.pool)
                .await
                .map_err(|e| self.err("set_gauge", e))?;
            from_bigint(previous, "gauge level")
        })
        .await
    }

    async fn gauge(&self, brand: &str, metric: &str) -> StoreResult<u64> {
        self.bounded(async {
            let row: Option<(i64,)> =
                sqlx::query_as("SELECT level FROM usage_gauges WHERE brand = $1 AND metric = $2")
                    .bind(brand)
                    .bind(metric)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(|e| self.err("gauge", e))?;
            row.map_or(Ok(0), |(l,)| from_bigint(l, "gauge level"))
        })
        .await
    }

    async fn reset_period(
        &self,
        brand: &str,
        metric: Option<&str>,
        period_key: PeriodKey,
    ) -> StoreResult<()> {
        self.bounded(async {
            let mut conn = self
                .pool
                .acquire()
                .await
                .map_err(|e| self.err("reset_period", e))?;
            reset_period_on(
                &mut conn,
                brand,
                metric,
                period_key,
                Utc::now(),
                "reset_period",
            )
            .await
            .map_err(|e| self.err("reset_period", e))
        })
        .await
    }

    async fn reset_counter(&self, reset: &CounterReset<'_>) -> StoreResult<Usage> {
        self.bounded(self.reset_counter_now(reset)).await
    }

    async fn ping(&self) -> StoreResult<()> {
        self.ping_server().await
    }
}
