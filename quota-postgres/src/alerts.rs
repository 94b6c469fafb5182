//! Alert claims (exactly once across instances) and the timeline (`AlertStore`).

use async_trait::async_trait;
use quota_core::StoreError;
use quota_core::store::{AlertStore, CounterKey, StoreResult};
use quota_core::timeline::TimelineEvent;
use sqlx::types::Json;

use crate::store::PostgresStore;

#[async_trait]
impl AlertStore for PostgresStore {
    async fn claim_alert(&self, key: CounterKey<'_>, threshold: u16) -> StoreResult<bool> {
        // The primary key arbitrates: exactly one concurrent insert succeeds.
        let done = sqlx::query(
            "INSERT INTO alert_claims (brand, metric, period, threshold) VALUES ($1, $2, $3, $4)
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
    }

    async fn release_alert(&self, key: CounterKey<'_>, threshold: u16) -> StoreResult<bool> {
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
    }

    async fn claimed_alerts(&self, key: CounterKey<'_>) -> StoreResult<Vec<u16>> {
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
                u16::try_from(t)
                    .map_err(|_| StoreError::Corrupt(format!("alert threshold {t} out of range")))
            })
            .collect()
    }

    async fn append_event(&self, event: &TimelineEvent) -> StoreResult<()> {
        let doc = serde_json::to_value(event)
            .map_err(|e| StoreError::backend("cannot encode timeline event", e))?;
        sqlx::query(
            "INSERT INTO timeline_events (brand, at, period, metric, severity, kind, event)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&event.brand)
        .bind(event.at)
        .bind(i64::from(event.period.0))
        .bind(event.metric.as_deref())
        .bind(event.severity.as_str())
        .bind(event.kind.name())
        .bind(Json(doc))
        .execute(&self.pool)
        .await
        .map_err(|e| self.err("append_event", e))?;
        Ok(())
    }

    async fn events(&self, brand: &str, limit: usize) -> StoreResult<Vec<TimelineEvent>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows: Vec<(Json<TimelineEvent>,)> = sqlx::query_as(
            "SELECT event FROM timeline_events WHERE brand = $1 ORDER BY id DESC LIMIT $2",
        )
        .bind(brand)
        .bind(limit)
        .fetch_all(&self.pool)
        .await
        .map_err(|e| self.err("events", e))?;
        Ok(rows.into_iter().map(|(Json(e),)| e).collect())
    }
}
