//! The alert outbox on Postgres (`OutboxStore`): one row per message in `alert_outbox`
//! (migration 2); claims use `FOR UPDATE SKIP LOCKED`, so concurrent dispatchers in any
//! number of processes get each message once.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use quota_core::StoreError;
use quota_core::outbox::{
    ClaimRequest, ClaimedMessage, OutboxLease, OutboxMessage, OutboxRecord, OutboxStatus,
    OutboxStore, lease_deadline,
};
use quota_core::store::StoreResult;
use sqlx::types::Json;

use crate::store::PostgresStore;

type Row = (
    String,
    String,
    Json<serde_json::Value>,
    DateTime<Utc>,
    String,
    i32,
    Option<DateTime<Utc>>,
    Option<String>,
);

fn attempts(n: i32) -> StoreResult<u32> {
    u32::try_from(n).map_err(|_| StoreError::Corrupt(format!("outbox attempts {n} is negative")))
}

fn attempt_param(n: u32) -> i32 {
    // Attempts past i32::MAX cannot exist in the table: such a lease matches nothing.
    i32::try_from(n).unwrap_or(-1)
}

fn status(s: &str) -> StoreResult<OutboxStatus> {
    match s {
        "pending" => Ok(OutboxStatus::Pending),
        "delivered" => Ok(OutboxStatus::Delivered),
        "dead" => Ok(OutboxStatus::Dead),
        other => Err(StoreError::Corrupt(format!(
            "unknown outbox status {other:?}"
        ))),
    }
}

fn record(row: Row) -> StoreResult<OutboxRecord> {
    let (id, sink, Json(payload), due_at, st, n, leased_until, last_error) = row;
    Ok(OutboxRecord::new(
        OutboxMessage::new(id, sink, payload, due_at),
        status(&st)?,
        attempts(n)?,
        leased_until,
        last_error,
    ))
}

fn limit_param(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

#[async_trait]
impl OutboxStore for PostgresStore {
    async fn enqueue(&self, message: &OutboxMessage) -> StoreResult<bool> {
        self.bounded(async {
            let done = sqlx::query(
                "INSERT INTO alert_outbox (id, sink, payload, due_at) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (id) DO NOTHING",
            )
            .bind(&message.id)
            .bind(&message.sink)
            .bind(Json(&message.payload))
            .bind(message.due_at)
            .execute(&self.pool)
            .await
            .map_err(|e| self.err("outbox enqueue", e))?;
            Ok(done.rows_affected() == 1)
        })
        .await
    }

    async fn claim_due(&self, req: &ClaimRequest<'_>) -> StoreResult<Vec<ClaimedMessage>> {
        self.bounded(async {
            if req.sinks.is_empty() || req.limit == 0 {
                return Ok(Vec::new());
            }
            let until = lease_deadline(req.now, req.lease);
            let sinks: Vec<&str> = req.sinks.to_vec();
            let rows: Vec<(String, String, Json<serde_json::Value>, DateTime<Utc>, i32)> =
                sqlx::query_as(
                    "WITH due AS (
                         SELECT id FROM alert_outbox
                         WHERE status = 'pending' AND sink = ANY($1) AND due_at <= $2
                           AND (leased_until IS NULL OR leased_until <= $2)
                         ORDER BY due_at, id
                         LIMIT $4
                         FOR UPDATE SKIP LOCKED
                     )
                     UPDATE alert_outbox o
                     SET attempts = o.attempts + 1, leased_until = $3
                     FROM due WHERE o.id = due.id
                     RETURNING o.id, o.sink, o.payload, o.due_at, o.attempts",
                )
                .bind(&sinks)
                .bind(req.now)
                .bind(until)
                .bind(limit_param(req.limit))
                .fetch_all(&self.pool)
                .await
                .map_err(|e| self.err("outbox claim", e))?;
            let mut claimed = rows
                .into_iter()
                .map(|(id, sink, Json(payload), due_at, n)| {
                    Ok(ClaimedMessage::new(
                        OutboxMessage::new(id, sink, payload, due_at),
                        attempts(n)?,
                        until,
                    ))
                })
                .collect::<StoreResult<Vec<_>>>()?;
            // RETURNING has no order: restore the claim order.
            claimed.sort_by(|a, b| {
                (a.message.due_at, &a.message.id).cmp(&(b.message.due_at, &b.message.id))
            });
            Ok(claimed)
        })
        .await
    }

    async fn ack(&self, id: &str) -> StoreResult<bool> {
        self.bounded(async {
            let done = sqlx::query(
                "UPDATE alert_outbox SET status = 'delivered', leased_until = NULL
                 WHERE id = $1 AND status = 'pending'",
            )
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(|e| self.err("outbox ack", e))?;
            Ok(done.rows_affected() == 1)
        })
        .await
    }

    async fn reschedule(
        &self,
        lease: &OutboxLease,
        due_at: DateTime<Utc>,
        error: &str,
    ) -> StoreResult<bool> {
        self.bounded(async {
            let done = sqlx::query(
                "UPDATE alert_outbox SET due_at = $3, leased_until = NULL, last_error = $4
                 WHERE id = $1 AND attempts = $2 AND status = 'pending'",
            )
            .bind(&lease.id)
            .bind(attempt_param(lease.attempt))
            .bind(due_at)
            .bind(error)
            .execute(&self.pool)
            .await
            .map_err(|e| self.err("outbox reschedule", e))?;
            Ok(done.rows_affected() == 1)
        })
        .await
    }

    async fn dead_letter(&self, lease: &OutboxLease, error: &str) -> StoreResult<bool> {
        self.bounded(async {
            let done = sqlx::query(
                "UPDATE alert_outbox SET status = 'dead', leased_until = NULL, last_error = $3
                 WHERE id = $1 AND attempts = $2 AND status = 'pending'",
            )
            .bind(&lease.id)
            .bind(attempt_param(lease.attempt))
            .bind(error)
            .execute(&self.pool)
            .await
            .map_err(|e| self.err("outbox dead_letter", e))?;
            Ok(done.rows_affected() == 1)
        })
        .await
    }

    async fn outbox_record(&self, id: &str) -> StoreResult<Option<OutboxRecord>> {
        self.bounded(async {
            let row: Option<Row> = sqlx::query_as(
                "SELECT id, sink, payload, due_at, status, attempts, leased_until, last_error
                 FROM alert_outbox WHERE id = $1",
            )
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| self.err("outbox read", e))?;
            row.map(record).transpose()
        })
        .await
    }

    async fn outbox_records(
        &self,
        sink: &str,
        status: OutboxStatus,
        limit: usize,
    ) -> StoreResult<Vec<OutboxRecord>> {
        self.bounded(async {
            let rows: Vec<Row> = sqlx::query_as(
                "SELECT id, sink, payload, due_at, status, attempts, leased_until, last_error
                 FROM alert_outbox WHERE sink = $1 AND status = $2
                 ORDER BY due_at, id LIMIT $3",
            )
            .bind(sink)
            .bind(status.as_str())
            .bind(limit_param(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(|e| self.err("outbox list", e))?;
            rows.into_iter().map(record).collect()
        })
        .await
    }

    async fn purge_outbox(&self, before: DateTime<Utc>) -> StoreResult<u64> {
        self.bounded(async {
            let done =
                sqlx::query("DELETE FROM alert_outbox WHERE status <> 'pending' AND due_at < $1")
                    .bind(before)
                    .execute(&self.pool)
                    .await
                    .map_err(|e| self.err("outbox purge", e))?;
            Ok(done.rows_affected())
        })
        .await
    }
}
