//! Alert claims (exactly once across instances) and the timeline (`AlertStore`).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use quota_core::report::TimelineEvent;
use quota_core::store::{CounterKey, StoreResult};
use quota_core::{AlertStore, StoreError};
use sqlx::postgres::PgConnection;
use sqlx::types::Json;

use crate::error::from_bigint;
use crate::store::PostgresStore;

/// Appends `event` on `conn`; returns its sequence number (the row's `id`).
pub(crate) async fn insert_event_on(
    conn: &mut PgConnection,
    event: &TimelineEvent,
) -> Result<i64, sqlx::Error> {
    let doc = serde_json::to_value(event).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO timeline_events (brand, at, period, metric, severity, kind, event)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         RETURNING id",
    )
    .bind(&event.brand)
    .bind(event.at)
    .bind(i64::from(event.period.0))
    .bind(event.metric.as_deref())
    .bind(event.severity.as_str())
    .bind(event.kind.name())
    .bind(Json(doc))
    .fetch_one(&mut *conn)
    .await?;
    Ok(id)
}

#[async_trait]
impl AlertStore for PostgresStore {
    async fn claim_alert(&self, key: CounterKey<'_>, threshold: u16) -> StoreResult<bool> {
        self.bounded(async {
            // The primary key arbitrates: exactly one concurrent insert succeeds.
            let done = sqlx::query(
                "INSERT INTO alert_claims (brand, metric, period, threshold)
                 VALUES ($1, $2, $3, $4)
                 ON CONFLICT DO NOTHING",
            )
            .bind(key.brand)
            .bind(key.metric)
            .bind(i64::from(key.period.0))
            .bind(i32::from(threshold))
            .execute(&self.pool)
            .await
            .map_err(|e| self.err("claim_alert", e))?;
            Ok(done.rows_affected() == 1)
        })
        .await
    }

    async fn release_alert(&self, key: CounterKey<'_>, threshold: u16) -> StoreResult<bool> {
        self.bounded(async {
            let done = sqlx::query(
                "DELETE FROM alert_claims
                 WHERE brand = $1 AND metric = $2 AND period = $3 AND threshold = $4",
            )
            .bind(key.brand)
            .bind(key.metric)
            .bind(i64::from(key.period.0))
            .bind(i32::from(threshold))
            .execute(&self.pool)
            .await
            .map_err(|e| self.err("release_alert", e))?;
            Ok(done.rows_affected() == 1)
        })
        .await
    }

    async fn claimed_alerts(&self, key: CounterKey<'_>) -> StoreResult<Vec<u16>> {
        self.bounded(async {
            let rows: Vec<(i32,)> = sqlx::query_as(
                "SELECT threshold FROM alert_claims
                 WHERE brand = $1 AND metric = $2 AND period = $3 ORDER BY threshold",
            )
            .bind(key.brand)
            .bind(key.metric)
            .bind(i64::from(key.period.0))
            .fetch_all(&self.pool)
            .await
            .map_err(|e| self.err("claimed_alerts", e))?;
            rows.into_iter()
                .map(|(t,)| {
                    u16::try_from(t).map_err(|_| {
                        StoreError::Corrupt(format!("alert threshold {t} out of range"))
                    })
                })
                .collect()
        })
        .await
    }

    async fn append_event(&self, event: &TimelineEvent) -> StoreResult<u64> {
        self.bounded(async {
            let mut conn = self
                .pool
                .acquire()
                .await
                .map_err(|e| self.err("append_event", e))?;
            let id = insert_event_on(&mut conn, event)
                .await
                .map_err(|e| self.err("append_event", e))?;
            from_bigint(id, "timeline sequence number")
        })
        .await
    }

    async fn events(&self, brand: &str, limit: usize) -> StoreResult<Vec<TimelineEvent>> {
        self.bounded(async {
            let limit = i64::try_from(limit).unwrap_or(i64::MAX);
            // The time column is what orders the timeline (microseconds), so it is also the
            // time each event reads back with.
            let rows: Vec<(i64, DateTime<Utc>, Json<TimelineEvent>)> = sqlx::query_as(
                "SELECT id, at, event FROM timeline_events
                 WHERE brand = $1 ORDER BY at DESC, id DESC LIMIT $2",
            )
            .bind(brand)
            .bind(limit)
            .fetch_all(&self.pool)
            .await
            .map_err(|e| self.err("events", e))?;
            rows.into_iter()
                .map(|(id, at, Json(event))| {
                    let mut event = event.with_seq(from_bigint(id, "timeline sequence number")?);
                    event.at = at;
                    Ok(event)
                })
                .collect()
        })
        .await
    }
}
