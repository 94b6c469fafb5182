//! Revoked share tokens, by token id. The trait is object safe so the server can keep the
//! list in its store; [`MemoryRevocations`] serves one process and the tests.

use std::fmt;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use dashmap::DashMap;
use quota_core::StoreError;

/// Where revoked token ids are kept.
#[async_trait]
pub trait ShareRevocations: Send + Sync + fmt::Debug {
    /// Revokes token `id`. `until` is when the token expires anyway, after which the entry
    /// may be forgotten. Revoking twice keeps the later `until`.
    async fn revoke(&self, id: &str, until: DateTime<Utc>) -> Result<(), StoreError>;

    /// Whether token `id` is revoked.
    async fn is_revoked(&self, id: &str) -> Result<bool, StoreError>;
}

/// Revocations in memory (one process; lost at restart).
#[derive(Debug, Default)]
pub struct MemoryRevocations {
    revoked: DashMap<String, DateTime<Utc>>,
}

impl MemoryRevocations {
    /// An empty list.
    pub fn new() -> Self {
        Self::default()
    }

    /// Forgets entries whose token has expired by `now`; returns how many were dropped.
    pub fn purge_expired(&self, now: DateTime<Utc>) -> usize {
        let before = self.revoked.len();
        self.revoked.retain(|_, until| *until > now);
        before.saturating_sub(self.revoked.len())
    }

    /// How many entries are held.
    pub fn len(&self) -> usize {
        self.revoked.len()
    }

    /// Whether no entry is held.
    pub fn is_empty(&self) -> bool {
        self.revoked.is_empty()
    }
}

#[async_trait]
impl ShareRevocations for MemoryRevocations {
    async fn revoke(&self, id: &str, until: DateTime<Utc>) -> Result<(), StoreError> {
        self.revoked
            .entry(id.to_owned())
            .and_modify(|u| *u = (*u).max(until))
            .or_insert(until);
        Ok(())
    }

    async fn is_revoked(&self, id: &str) -> Result<bool, StoreError> {
        Ok(self.revoked.contains_key(id))
    }
}
