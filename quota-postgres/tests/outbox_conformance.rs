//! The alert outbox conformance suite (`quota_core::outbox_conformance_tests!`) against
//! Postgres. In CI a missing server fails every case. Each case gets a database of its own.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use quota_core::outbox::{
    ClaimRequest, ClaimedMessage, OutboxLease, OutboxMessage, OutboxRecord, OutboxStatus,
    OutboxStore,
};
use quota_core::store::StoreResult;
use quota_postgres::{PostgresOptions, PostgresStore};

/// A store that owns its test database (dropped with it).
struct OwnedOutbox {
    store: PostgresStore,
    _db: common::TestDb,
}

#[async_trait]
impl OutboxStore for OwnedOutbox {
    async fn enqueue(&self, message: &OutboxMessage) -> StoreResult<bool> {
        self.store.enqueue(message).await
    }
    async fn claim_due(&self, req: &ClaimRequest<'_>) -> StoreResult<Vec<ClaimedMessage>> {
        self.store.claim_due(req).await
    }
    async fn ack(&self, id: &str) -> StoreResult<bool> {
        self.store.ack(id).await
    }
    async fn reschedule(
        &self,
        lease: &OutboxLease,
        due_at: DateTime<Utc>,
        error: &str,
    ) -> StoreResult<bool> {
        self.store.reschedule(lease, due_at, error).await
    }
    async fn dead_letter(&self, lease: &OutboxLease, error: &str) -> StoreResult<bool> {
        self.store.dead_letter(lease, error).await
    }
    async fn outbox_record(&self, id: &str) -> StoreResult<Option<OutboxRecord>> {
        self.store.outbox_record(id).await
    }
    async fn outbox_records(
        &self,
        sink: &str,
        status: OutboxStatus,
        limit: usize,
    ) -> StoreResult<Vec<OutboxRecord>> {
        self.store.outbox_records(sink, status, limit).await
    }
    async fn purge_outbox(&self, before: DateTime<Utc>) -> StoreResult<u64> {
        self.store.purge_outbox(before).await
    }
}

async fn make_outbox() -> Arc<dyn OutboxStore> {
    let db = common::TestDb::create("outbox").await;
    let store = db
        .store(PostgresOptions::new().set_max_connections(8))
        .await;
    Arc::new(OwnedOutbox { store, _db: db })
}

quota_core::outbox_conformance_tests!(make_outbox);
