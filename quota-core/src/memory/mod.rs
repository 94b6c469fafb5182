//! `MemoryStore`: the embedded default store, on `dashmap` with one small lock per brand.
//!
//! Every operation that must be atomic (check-and-consume with top-ups and idempotency,
//! gauge adjustments, top-up completion, alert claims, the support reset) runs under the
//! brand's lock, so it is exact under any concurrency inside one process. It keeps nothing
//! across restarts. Its consume answers in the calling thread ([`ConsumeNow`]): the guard's
//! `consume` completes without a future.
//!
//! One file per store trait: `usage.rs`, `topups.rs`, `alerts.rs`, `subscriptions.rs`,
//! `outbox.rs`; `counter.rs` holds one counter of one period.

mod alerts;
mod counter;
mod outbox;
mod subscriptions;
mod topups;
mod usage;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use dashmap::DashMap;

use crate::outbox::OutboxRecord;
use crate::period::PeriodKey;
use crate::report::TimelineEvent;
use crate::store::{
    ConsumeOutcome, ConsumeRequest, CounterKey, DEFAULT_IDEMPOTENCY_TTL, StoreResult,
};
use crate::subscription::Subscription;
use crate::topup::UsageTopUp;
use crate::{ConsumeNow, CounterSlot};

use counter::{Counter, CounterCell};

type Hasher = foldhash::fast::RandomState;

/// In-process store. Cheap to clone (shared state).
///
/// ```
/// # tokio_test_block_on(async {
/// use quota_core::period::PeriodKey;
/// use quota_core::store::CounterKey;
/// use quota_core::{MemoryStore, UsageStore};
/// let store = MemoryStore::new();
/// let usage = store.usage(CounterKey::new("b", "m", PeriodKey(20261101))).await.unwrap();
/// assert_eq!(usage.used, 0);
/// # });
/// # fn tokio_test_block_on<F: std::future::Future>(f: F) -> F::Output {
/// #     tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct MemoryStore {
    inner: Arc<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    brands: DashMap<Box<str>, Arc<Mutex<BrandData>>, Hasher>,
    subscriptions: DashMap<Box<str>, Subscription, Hasher>,
    /// top-up id -> brand, to find the brand lock of a top-up.
    topup_brand: DashMap<Box<str>, Box<str>, Hasher>,
    idempotency_ttl: Duration,
    /// The alert outbox: small (a few messages per alert), one lock is plenty.
    outbox: Mutex<HashMap<Box<str>, OutboxRecord, Hasher>>,
}

#[derive(Debug, Default)]
struct BrandData {
    /// A brand has a handful of metrics: a linear scan beats hashing.
    metrics: Vec<(Box<str>, MetricData)>,
    /// Replays by key: the first outcome, when the key expires (Unix micros) and the
    /// fingerprint of the request it is bound to.
    idempotency: HashMap<Box<str>, (ConsumeOutcome, i64, u64), Hasher>,
    /// Sorted oldest first by (time, sequence): appends of the current time go at the end.
    events: Vec<TimelineEvent>,
    /// The last sequence number given to an event of the brand.
    event_seq: u64,
    topups: Vec<UsageTopUp>,
}

#[derive(Debug, Default)]
struct MetricData {
    /// Counters by period; a handful at most (old periods are pruned).
    periods: Vec<(PeriodKey, Arc<CounterCell>)>,
    gauge: u64,
}

/// Periods kept per metric before the oldest is dropped.
const KEPT_PERIODS: usize = 13;
/// Idempotency entries per brand before expired ones are swept.
const SWEEP_AT: usize = 4096;

impl MetricData {
    fn counter(&self, period: PeriodKey) -> Option<&CounterCell> {
        self.periods
            .iter()
            .rev()
            .find(|(p, _)| *p == period)
            .map(|(_, c)| &**c)
    }

    /// The period's counter, created on first use (the oldest is dropped past
    /// [`KEPT_PERIODS`]).
    fn cell(&mut self, period: PeriodKey) -> &Arc<CounterCell> {
        let pos = match self.periods.iter().rposition(|(p, _)| *p == period) {
            Some(pos) => pos,
            None => {
                if self.periods.len() >= KEPT_PERIODS
                    && let Some(oldest) = self
                        .periods
                        .iter()
                        .enumerate()
                        .min_by_key(|(_, (p, _))| *p)
                        .map(|(i, _)| i)
                {
                    let (_, dropped) = self.periods.swap_remove(oldest);
                    dropped.lock().dropped = true;
                }
                self.periods.push((period, Arc::default()));
                self.periods.len().saturating_sub(1)
            }
        };
        match self.periods.get(pos) {
            Some((_, c)) => c,
            None => unreachable!("position is in bounds"),
        }
    }

    fn counter_mut(&mut self, period: PeriodKey) -> MutexGuard<'_, Counter> {
        self.cell(period).lock()
    }
}

impl BrandData {
    fn metric(&self, metric: &str) -> Option<&MetricData> {
        self.metrics
            .iter()
            .find(|(k, _)| &**k == metric)
            .map(|(_, m)| m)
    }

    fn metric_mut(&mut self, metric: &str) -> &mut MetricData {
        metric_mut(&mut self.metrics, metric)
    }

    fn counter_mut(&mut self, key: CounterKey<'_>) -> MutexGuard<'_, Counter> {
        self.metric_mut(key.metric).counter_mut(key.period)
    }
}

impl Default for MemoryStore {
    /// The same as [`MemoryStore::new`] (idempotency keys remembered for 24 hours).
    fn default() -> Self {
        MemoryStore::new()
    }
}

impl MemoryStore {
    /// An empty store remembering idempotency keys for 24 hours.
    pub fn new() -> Self {
        MemoryStore::with_idempotency_ttl(DEFAULT_IDEMPOTENCY_TTL)
    }

    /// An empty store remembering idempotency keys for `ttl`.
    pub fn with_idempotency_ttl(ttl: Duration) -> Self {
        MemoryStore {
            inner: Arc::new(Inner {
                idempotency_ttl: ttl,
                ..Inner::default()
            }),
        }
    }

    fn brand(&self, brand: &str) -> Arc<Mutex<BrandData>> {
        if let Some(b) = self.inner.brands.get(brand) {
            return Arc::clone(b.value());
        }
        Arc::clone(self.inner.brands.entry(brand.into()).or_default().value())
    }

    /// Runs `f` under the brand's lock (the brand is created on first use) without cloning
    /// its `Arc` on the hot path.
    fn with_brand<R>(&self, brand: &str, f: impl FnOnce(&mut BrandData) -> R) -> R {
        if let Some(b) = self.inner.brands.get(brand) {
            return f(&mut lock(b.value()));
        }
        let b = self.brand(brand);
        f(&mut lock(&b))
    }

    /// Reads one counter of a brand that may not exist yet.
    fn read_counter<R>(&self, key: CounterKey<'_>, f: impl FnOnce(&Counter) -> R) -> Option<R> {
        let brand = self.existing_brand(key.brand)?;
        let data = lock(&brand);
        data.metric(key.metric)
            .and_then(|m| m.counter(key.period))
            .map(|c| f(&c.lock()))
    }

    fn existing_brand(&self, brand: &str) -> Option<Arc<Mutex<BrandData>>> {
        self.inner.brands.get(brand).map(|b| Arc::clone(b.value()))
    }

    /// The check-and-add on a brand's data, under its lock.
    fn consume_in(&self, data: &mut BrandData, req: &ConsumeRequest<'_>) -> ConsumeOutcome {
        if let Some(key) = req.idempotency_key
            && let Some((outcome, expires, fingerprint)) = data.idempotency.get(key)
            && *expires > req.at_us
        {
            if *fingerprint != req.fingerprint {
                return ConsumeOutcome::key_reused();
            }
            return outcome.as_replay();
        }
        let outcome = data.counter_mut(req.key).check_and_add(req);
        if let (true, Some(key)) = (outcome.admitted, req.idempotency_key) {
            if data.idempotency.len() >= SWEEP_AT {
                data.idempotency.retain(|_, (_, exp, _)| *exp > req.at_us);
            }
            let expires = ttl_deadline(req.at_us, self.inner.idempotency_ttl);
            data.idempotency
                .insert(key.into(), (outcome, expires, req.fingerprint));
        }
        outcome
    }
}

impl ConsumeNow for MemoryStore {
    fn consume_now(&self, req: &ConsumeRequest<'_>) -> StoreResult<ConsumeOutcome> {
        Ok(self.with_brand(req.key.brand, |data| self.consume_in(data, req)))
    }

    /// The counter's cell itself: a consume through it takes the counter's lock only.
    fn counter_slot(&self, key: CounterKey<'_>) -> Option<Arc<dyn CounterSlot>> {
        let cell = self.with_brand(key.brand, |data| {
            Arc::clone(data.metric_mut(key.metric).cell(key.period))
        });
        Some(cell)
    }
}

/// The metric's data, created on first use; looked up by `&str` so the hot path does not
/// allocate once the metric exists.
fn metric_mut<'a>(
    metrics: &'a mut Vec<(Box<str>, MetricData)>,
    metric: &str,
) -> &'a mut MetricData {
    let pos = match metrics.iter().position(|(k, _)| &**k == metric) {
        Some(pos) => pos,
        None => {
            metrics.push((metric.into(), MetricData::default()));
            metrics.len().saturating_sub(1)
        }
    };
    match metrics.get_mut(pos) {
        Some((_, m)) => m,
        None => unreachable!("position is in bounds"),
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Nothing panics while holding the lock; if something ever did, the data is still
    // consistent (every update is a single assignment), so keep serving.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// `at_us + ttl` in Unix micros, saturating.
fn ttl_deadline(at_us: i64, ttl: Duration) -> i64 {
    at_us.saturating_add(i64::try_from(ttl.as_micros()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Utc};

    use super::*;
    use crate::UsageStore;

    fn req(period: u32, quantity: u64, ceiling: Option<u64>) -> ConsumeRequest<'static> {
        ConsumeRequest {
            key: CounterKey::new("b", "m", PeriodKey(period)),
            quantity,
            ceiling,
            free_units: None,
            idempotency_key: None,
            fingerprint: 0,
            day: 0,
            at_us: 0,
            retain_until: DateTime::<Utc>::MAX_UTC,
        }
    }

    #[tokio::test]
    async fn old_periods_are_pruned_past_the_kept_window() {
        let store = MemoryStore::new();
        assert!(store.consume_now(&req(1, 4, None)).unwrap().admitted);
        for p in 2..=u32::try_from(KEPT_PERIODS).unwrap() + 1 {
            store.consume_now(&req(p, 1, None)).unwrap();
        }
        // Period 1 fell out of the window: it starts again from zero.
        let key = CounterKey::new("b", "m", PeriodKey(1));
        assert_eq!(store.usage(key).await.unwrap().used, 0);
        let newest = CounterKey::new("b", "m", PeriodKey(2));
        assert_eq!(store.usage(newest).await.unwrap().used, 1);
    }

    #[tokio::test]
    async fn a_counter_slot_counts_into_the_counter_every_operation_sees() {
        let store = MemoryStore::new();
        let key = CounterKey::new("b", "m", PeriodKey(1));
        let slot = store
            .counter_slot(key)
            .expect("the memory store gives slots");
        assert_eq!(slot.consume(&req(1, 3, Some(5))).unwrap().used, 3);
        assert_eq!(store.consume_now(&req(1, 1, Some(5))).unwrap().used, 4);
        assert!(!slot.consume(&req(1, 2, Some(5))).unwrap().admitted);
        assert_eq!(store.usage(key).await.unwrap().used, 4);
        assert_eq!(store.daily_usage(key).await.unwrap(), [4]);
        // A reset clears the counter the slot holds, in place.
        store.reset_period("b", None, PeriodKey(1)).await.unwrap();
        assert_eq!(slot.consume(&req(1, 2, Some(5))).unwrap().used, 2);
        assert_eq!(store.usage(key).await.unwrap().used, 2);
    }

    #[test]
    fn a_slot_of_a_dropped_period_refuses_to_decide() {
        let store = MemoryStore::new();
        let slot = store
            .counter_slot(CounterKey::new("b", "m", PeriodKey(1)))
            .unwrap();
        for p in 2..=u32::try_from(KEPT_PERIODS).unwrap() + 1 {
            store.consume_now(&req(p, 1, None)).unwrap();
        }
        assert!(slot.consume(&req(1, 1, None)).is_none());
        // The store itself starts the period again from zero.
        assert_eq!(store.consume_now(&req(1, 1, None)).unwrap().used, 1);
    }

    #[test]
    fn the_store_answers_consumes_in_process() {
        let store = MemoryStore::new();
        let now = store.in_process().expect("an in-process store");
        assert_eq!(now.consume_now(&req(1, 3, Some(5))).unwrap().used, 3);
        assert!(!now.consume_now(&req(1, 3, Some(5))).unwrap().admitted);
    }
}
