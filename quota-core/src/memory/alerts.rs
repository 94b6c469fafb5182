//! `AlertStore` for [`MemoryStore`]: alert claims and the timeline.

use async_trait::async_trait;

use crate::AlertStore;
use crate::report::TimelineEvent;
use crate::store::{CounterKey, StoreResult};

use super::{BrandData, MemoryStore, lock};

#[async_trait]
impl AlertStore for MemoryStore {
    async fn claim_alert(&self, key: CounterKey<'_>, threshold: u16) -> StoreResult<bool> {
        Ok(self.with_brand(key.brand, |data| {
            data.counter_mut(key).claims.insert(threshold)
        }))
    }

    async fn release_alert(&self, key: CounterKey<'_>, threshold: u16) -> StoreResult<bool> {
        Ok(self.with_brand(key.brand, |data| {
            data.counter_mut(key).claims.remove(&threshold)
        }))
    }

    async fn claimed_alerts(&self, key: CounterKey<'_>) -> StoreResult<Vec<u16>> {
        Ok(self
            .read_counter(key, |c| c.claims.iter().copied().collect())
            .unwrap_or_default())
    }

    async fn append_event(&self, event: &TimelineEvent) -> StoreResult<u64> {
        Ok(self.with_brand(&event.brand, |data| push_event(data, event)))
    }

    async fn events(&self, brand: &str, limit: usize) -> StoreResult<Vec<TimelineEvent>> {
        let Some(brand) = self.existing_brand(brand) else {
            return Ok(Vec::new());
        };
        let data = lock(&brand);
        Ok(data.events.iter().rev().take(limit).cloned().collect())
    }
}

/// Appends an event with the brand's next sequence number, keeping the list sorted by
/// (time, sequence).
pub(super) fn push_event(data: &mut BrandData, event: &TimelineEvent) -> u64 {
    data.event_seq = data.event_seq.saturating_add(1);
    let stored = event.clone().with_seq(data.event_seq);
    // Nearly always at the end; an event stamped earlier than the newest goes in its place.
    let at = data
        .events
        .iter()
        .rposition(|e| e.at <= stored.at)
        .map_or(0, |i| i.saturating_add(1));
    data.events.insert(at, stored);
    data.event_seq
}
