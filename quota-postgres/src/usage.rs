//! Counters, daily buckets, gauges and resets (`UsageStore`), plus the runbook's reset.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use quota_core::PeriodKey;
use quota_core::store::{
    ConsumeOutcome, ConsumeRequest, CounterKey, GaugeOutcome, StoreResult, Usage, UsageStore,
};
use sqlx::Row;
use sqlx::postgres::{PgConnection, PgRow};

use crate::error::{clamp_to_bigint, from_bigint, to_bigint};
use crate::store::PostgresStore;

/// The keyless consume of an existing counter, as `quota_consume` does it (same conditional
/// update, same ledger row) in one data-modifying statement instead of a plpgsql call: no
/// row when the counter is absent or the quantity does not fit. Parameters: brand, metric,
/// period, quantity, ceiling (NULL = none, clamped to BIGINT), zero-based day, ledger time.
///
/// Under READ COMMITTED the update re-checks its WHERE against the newest committed row after
/// waiting for the row lock, so concurrent consumes never push `used` past the limit; the
/// ledger row is inserted in the same statement, hence the same transaction.
const FAST_CONSUME: &str = "WITH c AS (
    UPDATE usage_counters c
    SET used = c.used + $4::BIGINT,
        days = CASE WHEN $4::BIGINT > 0 THEN quota_days_add(c.days, $6::INTEGER, $4::BIGINT)
                    ELSE c.days END
    WHERE c.brand = $1::TEXT AND c.metric = $2::TEXT AND c.period = $3::BIGINT
      AND c.used::NUMERIC + $4::BIGINT
          <= LEAST(COALESCE($5::BIGINT::NUMERIC + c.topup_units, 9223372036854775807),
                   9223372036854775807)
    RETURNING c.used, c.topup_units
), ledger AS (
    INSERT INTO usage_metric (brand, metric, period, kind, quantity, at, used_after, topup_units_after)
    SELECT $1::TEXT, $2::TEXT, $3::BIGINT, 'consume', $4::BIGINT, $7::TIMESTAMPTZ, c.used, c.topup_units
    FROM c WHERE $4::BIGINT > 0
)
SELECT TRUE AS admitted, c.used, c.topup_units, FALSE AS replayed FROM c";

fn period(p: PeriodKey) -> i64 {
    i64::from(p.0)
}

fn usage_of(row: &PgRow) -> StoreResult<Usage> {
    Ok(Usage {
        used: from_bigint(row.try_get("used").map_err(corrupt)?, "used")?,
        topup_units: from_bigint(row.try_get("topup_units").map_err(corrupt)?, "topup_units")?,
    })
}

fn corrupt(e: sqlx::Error) -> quota_core::StoreError {
    crate::error::map_sqlx("decode", None, e)
}

/// The runbook's `quota reset`: clear a brand's period and write one usage point.
///
/// Built with [`ResetRequest::new`]; applied by [`PostgresStore::reset_usage_to`].
#[derive(Clone, Copy, Debug)]
pub struct ResetRequest<'a> {
    /// The counter that receives the usage point (its brand and period are reset).
    pub key: CounterKey<'a>,
    /// Units the counter holds after the reset (e.g. 92 % of the plan's allowance).
    pub target: u64,
    /// Zero-based day of the period for the daily bucket of the point.
    pub day: u16,
    /// When the reset happens (ledger time).
    pub at: DateTime<Utc>,
    /// When the period's data may be dropped.
    pub retain_until: DateTime<Utc>,
    /// Who or why, kept in the ledger.
    pub reason: &'a str,
    /// Reset every metric of the brand's period (the runbook's "delete the brand's
    /// `UsageMetric` of the current month"), not only `key.metric`.
    pub all_metrics: bool,
}

impl<'a> ResetRequest<'a> {
    /// A reset of `key`'s brand and period to `target` units of `key`'s metric.
    pub fn new(
        key: CounterKey<'a>,
        target: u64,
        day: u16,
        at: DateTime<Utc>,
        retain_until: DateTime<Utc>,
    ) -> Self {
        ResetRequest {
            key,
            target,
            day,
            at,
            retain_until,
            reason: "quota reset",
            all_metrics: false,
        }
    }

    /// Resets every metric of the brand's period, as the runbook's CLI does.
    #[must_use]
    pub fn all_metrics(mut self) -> Self {
        self.all_metrics = true;
        self
    }

    /// Sets the reason recorded in the ledger.
    #[must_use]
    pub fn reason(mut self, reason: &'a str) -> Self {
        self.reason = reason;
        self
    }
}

impl PostgresStore {
    /// In one transaction: resets `key`'s metric (or all metrics, see
    /// [`ResetRequest::all_metrics`]) of the brand's period like [`UsageStore::reset_period`]
    /// (counters to zero with a `reset` ledger row each, daily buckets and alert claims
    /// deleted, top-ups kept), then sets `key`'s counter to `target` units on `day` with a
    /// `reset_target` ledger row. Another instance never sees the period half reset.
    ///
    /// Returns the counter after the reset. `target` above `i64::MAX` is refused.
    pub async fn reset_usage_to(&self, req: &ResetRequest<'_>) -> StoreResult<Usage> {
        let target = to_bigint(req.target, "reset target")?;
        let brand = req.key.brand;
        let metric = req.key.metric;
        let p = period(req.key.period);
        let mut tx = self.pool.begin().await.map_err(|e| self.err("reset", e))?;
        sqlx::query("SELECT quota_reset_period($1, $2, $3, $4, $5)")
            .bind(brand)
            .bind((!req.all_metrics).then_some(metric))
            .bind(p)
            .bind(req.at)
            .bind(req.reason)
            .execute(&mut *tx)
            .await
            .map_err(|e| self.err("reset", e))?;
        let row = sqlx::query(
            "INSERT INTO usage_counters AS c (brand, metric, period, used, topup_units, retain_until, days)
             VALUES ($1, $2, $3, $4, 0, $5,
                     CASE WHEN $4 > 0 THEN quota_days_add('{}'::BIGINT[], $6, $4) ELSE '{}'::BIGINT[] END)
             ON CONFLICT (brand, metric, period) DO UPDATE SET used = EXCLUDED.used, days = EXCLUDED.days
             RETURNING c.used, c.topup_units",
        )
        .bind(brand)
        .bind(metric)
        .bind(p)
        .bind(target)
        .bind(req.retain_until)
        .bind(i32::from(req.day))
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| self.err("reset", e))?;
        let usage = usage_of(&row)?;
        if target > 0 {
            sqlx::query(
                "INSERT INTO usage_metric
                   (brand, metric, period, kind, quantity, at, used_after, topup_units_after, note)
                 VALUES ($1, $2, $3, 'reset_target', $4, $5, $4, $6, $7)",
            )
            .bind(brand)
            .bind(metric)
            .bind(p)
            .bind(target)
            .bind(req.at)
            .bind(clamp_to_bigint(usage.topup_units))
            .bind(req.reason)
            .execute(&mut *tx)
            .await
            .map_err(|e| self.err("reset", e))?;
        }
        tx.commit().await.map_err(|e| self.err("reset", e))?;
        Ok(usage)
    }

    /// Runs a consume on `conn`. Without an idempotency key, the common case (the counter
    /// exists and the quantity fits) is one prepared statement, [`FAST_CONSUME`]; when it
    /// returns no row (first consume of the counter, or denied), or with a key, the
    /// `quota_consume` function decides.
    async fn consume_on(
        &self,
        conn: &mut PgConnection,
        req: &ConsumeRequest<'_>,
        quantity: i64,
    ) -> Result<PgRow, sqlx::Error> {
        let ceiling = req.ceiling.map(clamp_to_bigint);
        if req.idempotency_key.is_none() {
            let fast = sqlx::query(FAST_CONSUME)
                .bind(req.key.brand)
                .bind(req.key.metric)
                .bind(period(req.key.period))
                .bind(quantity)
                .bind(ceiling)
                .bind(i32::from(req.day))
                .bind(req.at())
                .fetch_optional(&mut *conn)
                .await?;
            if let Some(row) = fast {
                return Ok(row);
            }
        }
        sqlx::query(
            "SELECT admitted, used, topup_units, replayed
             FROM quota_consume($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(req.key.brand)
        .bind(req.key.metric)
        .bind(period(req.key.period))
        .bind(quantity)
        .bind(ceiling)
        .bind(req.idempotency_key)
        .bind(i32::from(req.day))
        .bind(req.at())
        .bind(req.retain_until)
        .bind(self.key_deadline(req.at()))
        .fetch_one(&mut *conn)
        .await
    }

    /// A consume whose quantity cannot be stored (above `i64::MAX`) can never be admitted:
    /// it replays a live key like any consume, else it is denied with the current usage.
    async fn consume_unrepresentable(
        &self,
        req: &ConsumeRequest<'_>,
    ) -> StoreResult<ConsumeOutcome> {
        if let Some(key) = req.idempotency_key {
            let row = sqlx::query(
                "SELECT l.used_after AS used, l.topup_units_after AS topup_units
                 FROM usage_idempotency_keys k JOIN usage_metric l ON l.id = k.ledger_id
                 WHERE k.brand = $1 AND k.idempotency_key = $2 AND k.expires_at > $3",
            )
            .bind(req.key.brand)
            .bind(key)
            .bind(req.at())
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| self.err("consume", e))?;
            if let Some(row) = row {
                let u = usage_of(&row)?;
                return Ok(ConsumeOutcome {
                    admitted: true,
                    used: u.used,
                    topup_units: u.topup_units,
                    replayed: true,
                });
            }
        }
        let u = self.usage(req.key).await?;
        Ok(ConsumeOutcome {
            admitted: false,
            used: u.used,
            topup_units: u.topup_units,
            replayed: false,
        })
    }
}

#[async_trait]
impl UsageStore for PostgresStore {
    async fn consume(&self, req: &ConsumeRequest<'_>) -> StoreResult<ConsumeOutcome> {
        let Ok(quantity) = i64::try_from(req.quantity) else {
            return self.consume_unrepresentable(req).await;
        };
        let row = match &self.lane {
            Some(lane) => {
                let mut conn = lane.acquire().await.map_err(|e| self.err("consume", e))?;
                let row = self.consume_on(&mut conn.conn, req, quantity).await;
                conn.done(row.is_ok()).await;
                row
            }
            None => match self.pool.acquire().await {
                Ok(mut conn) => self.consume_on(&mut conn, req, quantity).await,
                Err(e) => Err(e),
            },
        }
        .map_err(|e| self.err("consume", e))?;
        let u = usage_of(&row)?;
        Ok(ConsumeOutcome {
            admitted: row.try_get("admitted").map_err(corrupt)?,
            used: u.used,
            topup_units: u.topup_units,
            replayed: row.try_get("replayed").map_err(corrupt)?,
        })
    }

    async fn release(&self, key: CounterKey<'_>, quantity: u64, day: u16) -> StoreResult<Usage> {
        let row = sqlx::query("SELECT used, topup_units FROM quota_release($1, $2, $3, $4, $5)")
            .bind(key.brand)
            .bind(key.metric)
            .bind(period(key.period))
            .bind(clamp_to_bigint(quantity))
            .bind(i32::from(day))
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| self.err("release", e))?;
        row.as_ref().map_or(Ok(Usage::default()), usage_of)
    }

    async fn usage(&self, key: CounterKey<'_>) -> StoreResult<Usage> {
        let row = sqlx::query(
            "SELECT used, topup_units FROM usage_counters
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

    async fn daily_usage(&self, key: CounterKey<'_>) -> StoreResult<Vec<u64>> {
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
    }

    async fn adjust_gauge(
        &self,
        brand: &str,
        metric: &str,
        delta: i64,
        ceiling: Option<u64>,
    ) -> StoreResult<GaugeOutcome> {
        let (admitted, level): (bool, i64) =
            sqlx::query_as("SELECT admitted, level FROM quota_adjust_gauge($1, $2, $3, $4)")
                .bind(brand)
                .bind(metric)
                .bind(delta)
                .bind(ceiling.map(clamp_to_bigint))
                .fetch_one(&self.pool)
                .await
                .map_err(|e| self.err("adjust_gauge", e))?;
        Ok(GaugeOutcome {
            admitted,
            level: from_bigint(level, "gauge level")?,
        })
    }

    async fn set_gauge(&self, brand: &str, metric: &str, level: u64) -> StoreResult<u64> {
        let level = to_bigint(level, "gauge level")?;
        let (previous,): (i64,) = sqlx::query_as("SELECT quota_set_gauge($1, $2, $3)")
            .bind(brand)
            .bind(metric)
            .bind(level)
            .fetch_one(&self.pool)
            .await
            .map_err(|e| self.err("set_gauge", e))?;
        from_bigint(previous, "gauge level")
    }

    async fn gauge(&self, brand: &str, metric: &str) -> StoreResult<u64> {
        let row: Option<(i64,)> =
            sqlx::query_as("SELECT level FROM usage_gauges WHERE brand = $1 AND metric = $2")
                .bind(brand)
                .bind(metric)
                .fetch_optional(&self.pool)
                .await
                .map_err(|e| self.err("gauge", e))?;
        row.map_or(Ok(0), |(l,)| from_bigint(l, "gauge level"))
    }

    async fn reset_period(
        &self,
        brand: &str,
        metric: Option<&str>,
        period_key: PeriodKey,
    ) -> StoreResult<()> {
        sqlx::query("SELECT quota_reset_period($1, $2, $3, now(), 'reset_period')")
            .bind(brand)
            .bind(metric)
            .bind(period(period_key))
            .execute(&self.pool)
            .await
            .map_err(|e| self.err("reset_period", e))?;
        Ok(())
    }

    async fn ping(&self) -> StoreResult<()> {
        self.ping_server().await
    }
}
