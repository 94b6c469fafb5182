//! Top-ups (`UsageTopUp`, `TopUpStore`): records, status transitions, allowance.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use quota_core::domain::MAX_UNITS;
use quota_core::store::StoreResult;
use quota_core::topup::{TopUpStatus, TopUpTransition, UsageTopUp};
use quota_core::{StoreError, TopUpStore};
use sqlx::postgres::PgConnection;
use sqlx::types::Json;

use crate::error::{clamp_to_bigint, to_bigint};
use crate::store::PostgresStore;

fn doc(topup: &UsageTopUp) -> StoreResult<serde_json::Value> {
    serde_json::to_value(topup)
        .map_err(|e| StoreError::backend(format!("cannot encode top-up {:?}", topup.id), e))
}

/// Inserts `topup` on `conn` unless its id exists. Returns whether it was inserted.
pub(crate) async fn insert_topup_on(
    conn: &mut PgConnection,
    topup: &UsageTopUp,
) -> Result<bool, sqlx::Error> {
    let units = i64::try_from(topup.units).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
    let doc = serde_json::to_value(topup).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
    let inserted = sqlx::query(
        "INSERT INTO usage_topup
           (id, brand, metric, units, status, period, created_at, settled_at, expires_at, doc)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
         ON CONFLICT (id) DO NOTHING",
    )
    .bind(&topup.id)
    .bind(&topup.brand)
    .bind(&topup.metric)
    .bind(units)
    .bind(topup.status.as_str())
    .bind(i64::from(topup.period.0))
    .bind(topup.created_at)
    .bind(topup.settled_at)
    .bind(topup.expires_at)
    .bind(Json(doc))
    .execute(&mut *conn)
    .await?;
    Ok(inserted.rows_affected() == 1)
}

impl PostgresStore {
    async fn set_topup_status_now(
        &self,
        id: &str,
        to: TopUpStatus,
        at: DateTime<Utc>,
    ) -> StoreResult<TopUpTransition> {
        let op = "set_topup_status";
        let mut tx = self.pool.begin().await.map_err(|e| self.err(op, e))?;
        // The row lock serializes concurrent webhooks: exactly one completion adds units.
        let row: Option<(Json<UsageTopUp>,)> =
            sqlx::query_as("SELECT doc FROM usage_topup WHERE id = $1 FOR UPDATE")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await
                .map_err(|e| self.err(op, e))?;
        let Some((Json(mut topup),)) = row else {
            return Err(StoreError::NotFound(format!("top-up {id:?}")));
        };
        if topup.status == to && to != TopUpStatus::Pending {
            return Ok(TopUpTransition::new(topup, false));
        }
        if !topup.status.can_become(to) {
            return Err(StoreError::Conflict(format!(
                "top-up {id:?} is {} and cannot become {to}",
                topup.status
            )));
        }
        let target = if to == TopUpStatus::Completed && topup.expires_at <= at {
            TopUpStatus::Expired
        } else {
            to
        };
        if target == TopUpStatus::Completed {
            // Within the domain or not at all: the transaction ends without a commit and the
            // top-up stays pending.
            let past_domain = || {
                StoreError::OutOfRange(format!(
                    "top-up {id:?} would take the period's top-up units past {MAX_UNITS}"
                ))
            };
            if topup.units > MAX_UNITS {
                return Err(past_domain());
            }
            let added = sqlx::query(
                "INSERT INTO usage_counters AS c (brand, metric, period, used, topup_units)
                 VALUES ($1, $2, $3, 0, $4)
                 ON CONFLICT (brand, metric, period) DO UPDATE
                 SET topup_units = c.topup_units + EXCLUDED.topup_units
                 WHERE EXCLUDED.topup_units <= $5 - c.topup_units",
            )
            .bind(&topup.brand)
            .bind(&topup.metric)
            .bind(i64::from(topup.period.0))
            .bind(clamp_to_bigint(topup.units))
            .bind(clamp_to_bigint(MAX_UNITS))
            .execute(&mut *tx)
            .await
            .map_err(|e| self.err(op, e))?;
            if added.rows_affected() == 0 {
                return Err(past_domain());
            }
        }
        topup.status = target;
        topup.settled_at = Some(at);
        sqlx::query("UPDATE usage_topup SET status = $2, settled_at = $3, doc = $4 WHERE id = $1")
            .bind(id)
            .bind(target.as_str())
            .bind(at)
            .bind(Json(doc(&topup)?))
            .execute(&mut *tx)
            .await
            .map_err(|e| self.err(op, e))?;
        tx.commit().await.map_err(|e| self.err(op, e))?;
        Ok(TopUpTransition::new(topup, true))
    }

    async fn list_topups(&self, brand: &str, limit: Option<usize>) -> StoreResult<Vec<UsageTopUp>> {
        // LIMIT NULL is no limit.
        let limit = limit.map(|l| i64::try_from(l).unwrap_or(i64::MAX));
        let rows: Vec<(Json<UsageTopUp>,)> = sqlx::query_as(
            "SELECT doc FROM usage_topup WHERE brand = $1 ORDER BY seq DESC LIMIT $2",
        )
        .bind(brand)
        .bind(limit)
        .fetch_all(&self.pool)
        .await
        .map_err(|e| self.err("topups", e))?;
        Ok(rows.into_iter().map(|(Json(t),)| t).collect())
    }
}

#[async_trait]
impl TopUpStore for PostgresStore {
    async fn insert_topup(&self, topup: &UsageTopUp) -> StoreResult<()> {
        to_bigint(topup.units, "top-up units")?;
        self.bounded(async {
            let mut conn = self
                .pool
                .acquire()
                .await
                .map_err(|e| self.err("insert_topup", e))?;
            if insert_topup_on(&mut conn, topup)
                .await
                .map_err(|e| self.err("insert_topup", e))?
            {
                Ok(())
            } else {
                Err(StoreError::Conflict(format!(
                    "top-up {:?} already exists",
                    topup.id
                )))
            }
        })
        .await
    }

    async fn topup(&self, id: &str) -> StoreResult<Option<UsageTopUp>> {
        self.bounded(async {
            let row: Option<(Json<UsageTopUp>,)> =
                sqlx::query_as("SELECT doc FROM usage_topup WHERE id = $1")
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(|e| self.err("topup", e))?;
            Ok(row.map(|(Json(t),)| t))
        })
        .await
    }

    async fn set_topup_status(
        &self,
        id: &str,
        to: TopUpStatus,
        at: DateTime<Utc>,
    ) -> StoreResult<TopUpTransition> {
        self.bounded(self.set_topup_status_now(id, to, at)).await
    }

    async fn topups(&self, brand: &str) -> StoreResult<Vec<UsageTopUp>> {
        self.bounded(self.list_topups(brand, None)).await
    }

    async fn recent_topups(&self, brand: &str, limit: usize) -> StoreResult<Vec<UsageTopUp>> {
        self.bounded(self.list_topups(brand, Some(limit))).await
    }
}
