//! `OutboxStore` for [`MemoryStore`]: the alert outbox under one small lock.

use std::collections::HashMap;
use std::sync::{MutexGuard, PoisonError};

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::outbox::{
    ClaimRequest, ClaimedMessage, OutboxLease, OutboxMessage, OutboxRecord, OutboxStatus,
    OutboxStore, lease_deadline,
};
use crate::store::StoreResult;

use super::{Hasher, MemoryStore};

impl MemoryStore {
    fn outbox(&self) -> MutexGuard<'_, HashMap<Box<str>, OutboxRecord, Hasher>> {
        // Every update below is a plain assignment: a poisoned lock still holds valid data.
        self.inner
            .outbox
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Applies `f` to the pending message that `lease` covers; `false` when there is none.
    fn with_lease(&self, lease: &OutboxLease, f: impl FnOnce(&mut OutboxRecord)) -> bool {
        let mut outbox = self.outbox();
        match outbox.get_mut(lease.id.as_str()) {
            Some(r) if r.status == OutboxStatus::Pending && r.attempts == lease.attempt => {
                f(r);
                true
            }
            _ => false,
        }
    }
}

#[async_trait]
impl OutboxStore for MemoryStore {
    async fn enqueue(&self, message: &OutboxMessage) -> StoreResult<bool> {
        let mut outbox = self.outbox();
        if outbox.contains_key(message.id.as_str()) {
            return Ok(false);
        }
        outbox.insert(
            message.id.as_str().into(),
            OutboxRecord {
                message: message.clone(),
                status: OutboxStatus::Pending,
                attempts: 0,
                leased_until: None,
                last_error: None,
            },
        );
        Ok(true)
    }

    async fn claim_due(&self, req: &ClaimRequest<'_>) -> StoreResult<Vec<ClaimedMessage>> {
        let (now, lease, limit) = (req.now, req.lease, req.limit);
        let mut outbox = self.outbox();
        let mut due: Vec<&mut OutboxRecord> = outbox
            .values_mut()
            .filter(|r| {
                r.status == OutboxStatus::Pending
                    && req.sinks.contains(&r.message.sink.as_str())
                    && r.message.due_at <= now
                    && r.leased_until.is_none_or(|l| l <= now)
            })
            .collect();
        due.sort_by(|a, b| {
            (a.message.due_at, &a.message.id).cmp(&(b.message.due_at, &b.message.id))
        });
        let until = lease_deadline(now, lease);
        Ok(due
            .into_iter()
            .take(limit)
            .map(|r| {
                r.attempts = r.attempts.saturating_add(1);
                r.leased_until = Some(until);
                ClaimedMessage::new(r.message.clone(), r.attempts, until)
            })
            .collect())
    }

    async fn ack(&self, id: &str) -> StoreResult<bool> {
        let mut outbox = self.outbox();
        match outbox.get_mut(id) {
            Some(r) if r.status == OutboxStatus::Pending => {
                r.status = OutboxStatus::Delivered;
                r.leased_until = None;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn reschedule(
        &self,
        lease: &OutboxLease,
        due_at: DateTime<Utc>,
        error: &str,
    ) -> StoreResult<bool> {
        Ok(self.with_lease(lease, |r| {
            r.message.due_at = due_at;
            r.leased_until = None;
            r.last_error = Some(error.to_owned());
        }))
    }

    async fn dead_letter(&self, lease: &OutboxLease, error: &str) -> StoreResult<bool> {
        Ok(self.with_lease(lease, |r| {
            r.status = OutboxStatus::Dead;
            r.leased_until = None;
            r.last_error = Some(error.to_owned());
        }))
    }

    async fn outbox_record(&self, id: &str) -> StoreResult<Option<OutboxRecord>> {
        Ok(self.outbox().get(id).cloned())
    }

    async fn outbox_records(
        &self,
        sink: &str,
        status: OutboxStatus,
        limit: usize,
    ) -> StoreResult<Vec<OutboxRecord>> {
        let outbox = self.outbox();
        let mut records: Vec<&OutboxRecord> = outbox
            .values()
            .filter(|r| r.status == status && r.message.sink == sink)
            .collect();
        records.sort_by(|a, b| {
            (a.message.due_at, &a.message.id).cmp(&(b.message.due_at, &b.message.id))
        });
        Ok(records.into_iter().take(limit).cloned().collect())
    }

    async fn purge_outbox(&self, before: DateTime<Utc>) -> StoreResult<u64> {
        let mut outbox = self.outbox();
        let size = outbox.len();
        outbox.retain(|_, r| r.status == OutboxStatus::Pending || r.message.due_at >= before);
        Ok(u64::try_from(size.saturating_sub(outbox.len())).unwrap_or(u64::MAX))
    }
}
