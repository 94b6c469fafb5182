//! `MemoryStore`: the embedded default store, on `dashmap` with one small lock per brand.
//!
//! Every operation that must be atomic (check-and-consume with top-ups and idempotency,
//! gauge adjustments, top-up completion, alert claims) runs under the brand's lock, so it
//! is exact under any concurrency inside one process. It keeps nothing across restarts.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use dashmap::DashMap;

use crate::domain::{MAX_UNITS, add_units, bound_units};
use crate::error::StoreError;
use crate::outbox::{
    ClaimRequest, ClaimedMessage, OutboxLease, OutboxMessage, OutboxRecord, OutboxStatus,
    OutboxStore, lease_deadline,
};
use crate::period::PeriodKey;
use crate::store::{
    AlertStore, ConsumeOutcome, ConsumeRequest, CounterHandle, CounterKey, CounterReset,
    DEFAULT_IDEMPOTENCY_TTL, GaugeOutcome, StoreResult, SubscriptionStore, TopUpStore, Usage,
    UsageStore,
};
use crate::subscription::Subscription;
use crate::timeline::TimelineEvent;
use crate::topup::{TopUpStatus, TopUpTransition, UsageTopUp};

type Hasher = foldhash::fast::RandomState;

/// In-process store. Cheap to clone (shared state).
///
/// ```
/// # tokio_test_block_on(async {
/// use quota_core::{MemoryStore, store::{CounterKey, UsageStore}, PeriodKey};
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

/// One counter of one period. It has its own lock, always taken after the brand's (or
/// alone): the guard keeps the cell as a [`CounterHandle`] and consumes without a key
/// through it, skipping the brand lock and the metric and period lookups.
#[derive(Debug, Default)]
struct CounterCell(Mutex<Counter>);

/// `repr(C)`: what a consume reads and writes (the totals, the retired flag, today's bucket)
/// comes first, within the cell's first 64 bytes.
#[derive(Debug, Default)]
#[repr(C)]
struct Counter {
    used: u64,
    topup_units: u64,
    overage: u64,
    /// Pruned from its brand: handles on it must go through the brand again.
    retired: bool,
    days: Days,
    claims: BTreeSet<u16>,
}

/// Periods kept per metric before the oldest is dropped.
const KEPT_PERIODS: usize = 13;
/// Idempotency entries per brand before expired ones are swept.
const SWEEP_AT: usize = 4096;

impl MetricData {
    fn counter(&self, period: PeriodKey) -> Option<&Arc<CounterCell>> {
        self.periods
            .iter()
            .rev()
            .find(|(p, _)| *p == period)
            .map(|(_, c)| c)
    }

    /// The period's counter, created on first use (the oldest is pruned past
    /// [`KEPT_PERIODS`]).
    fn counter_mut(&mut self, period: PeriodKey) -> &Arc<CounterCell> {
        let pos = match self.periods.iter().rposition(|(p, _)| *p == period) {
            Some(pos) => pos,
            None => {
                if self.periods.len() >= KEPT_PERIODS {
                    if let Some(oldest) = self
                        .periods
                        .iter()
                        .enumerate()
                        .min_by_key(|(_, (p, _))| *p)
                        .map(|(i, _)| i)
                    {
                        let (_, cell) = self.periods.swap_remove(oldest);
                        cell.lock().retired = true;
                    }
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
}

impl CounterCell {
    fn lock(&self) -> MutexGuard<'_, Counter> {
        // As for brands: every update is a plain assignment, a poisoned lock is consistent.
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Counter {
    /// The check-and-add itself (no idempotency: the caller handles keys).
    fn check_and_add(&mut self, req: &ConsumeRequest<'_>) -> ConsumeOutcome {
        let limit = req
            .ceiling
            .map_or(MAX_UNITS, |c| bound_units(c, self.topup_units));
        let after = add_units(self.used, req.quantity).filter(|after| *after <= limit);
        let Some(after) = after else {
            return ConsumeOutcome::new(false, self.used, self.topup_units, self.overage, 0);
        };
        // Units past what is paid for already (free units, top-ups completed by now, units
        // billed as overage) are billed.
        let charged = req.free_units.map_or(0, |free| {
            let paid = bound_units(bound_units(free, self.topup_units), self.overage);
            after.saturating_sub(self.used.max(paid))
        });
        self.used = after;
        // Within the domain: overage units never exceed the units used.
        self.overage = self.overage.saturating_add(charged).min(after);
        let bucket = self.bucket_mut(req.day);
        *bucket = bucket.saturating_add(req.quantity);
        ConsumeOutcome::new(true, after, self.topup_units, self.overage, charged)
    }

    fn usage(&self) -> Usage {
        Usage::new(self.used, self.topup_units, self.overage)
    }

    /// Forgets the period's usage (top-up units stay).
    fn clear_usage(&mut self) {
        self.used = 0;
        self.overage = 0;
        self.days.clear();
        self.claims.clear();
    }

    fn bucket_mut(&mut self, day: u16) -> &mut u64 {
        self.days.bucket_mut(day)
    }
}

/// A counter's daily buckets. The bucket being written (`today`) lives apart, next to the
/// counter's totals, and goes back into the list when another day is written: the hot path
/// adds to a field of the line it already holds.
#[derive(Debug, Default)]
#[repr(C)]
struct Days {
    /// The bucket of day `today` (its slot in `others` is not used meanwhile).
    today_units: u64,
    today: u16,
    /// Whether `today` holds a day (else nothing was written yet).
    started: bool,
    others: Vec<u64>,
}

impl Days {
    /// The day's bucket; the list grows (with zeros) to include it.
    #[inline]
    fn bucket_mut(&mut self, day: u16) -> &mut u64 {
        if !self.started || day != self.today {
            self.switch_to(day);
        }
        &mut self.today_units
    }

    /// Makes `day` the bucket kept apart (once a day per counter, or for a late writer).
    #[cold]
    #[inline(never)]
    fn switch_to(&mut self, day: u16) {
        self.park();
        self.today_units = self
            .others
            .get_mut(usize::from(day))
            .map(std::mem::take)
            .unwrap_or(0);
        self.today = day;
        self.started = true;
    }

    /// Puts today's bucket back into the list.
    fn park(&mut self) {
        if self.started {
            *slot(&mut self.others, self.today) = self.today_units;
        }
    }

    fn to_vec(&self) -> Vec<u64> {
        let mut all = self.others.clone();
        if self.started {
            *slot(&mut all, self.today) = self.today_units;
        }
        all
    }

    fn clear(&mut self) {
        *self = Days::default();
    }
}

/// The list's slot for `day`, growing the list with zeros to include it.
fn slot(list: &mut Vec<u64>, day: u16) -> &mut u64 {
    let at = usize::from(day);
    if list.len() <= at {
        list.resize(at.saturating_add(1), 0);
    }
    match list.get_mut(at) {
        Some(b) => b,
        None => unreachable!("resized above"),
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

    /// The atomic check-and-add, synchronously (nothing here waits on I/O).
    fn consume_now(&self, req: &ConsumeRequest<'_>) -> ConsumeOutcome {
        self.with_brand(req.key.brand, |data| self.consume_in(data, req))
    }

    /// The check-and-add on a brand's data, under its lock.
    fn consume_in(&self, data: &mut BrandData, req: &ConsumeRequest<'_>) -> ConsumeOutcome {
        {
            if let Some(key) = req.idempotency_key {
                if let Some((outcome, expires, fingerprint)) = data.idempotency.get(key) {
                    if *expires > req.at_us {
                        if *fingerprint != req.fingerprint {
                            return ConsumeOutcome::key_reused();
                        }
                        return outcome.as_replay();
                    }
                }
            }
            let cell = metric_mut(&mut data.metrics, req.key.metric).counter_mut(req.key.period);
            let outcome = cell.lock().check_and_add(req);
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

    /// Runs `f` under the brand's lock without cloning its `Arc` on the hot path.
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
            .map(|cell| f(&cell.lock()))
    }

    fn existing_brand(&self, brand: &str) -> Option<Arc<Mutex<BrandData>>> {
        self.inner.brands.get(brand).map(|b| Arc::clone(b.value()))
    }
}

fn lock(m: &Mutex<BrandData>) -> MutexGuard<'_, BrandData> {
    // Nothing panics while holding the lock; if something ever did, the data is still
    // consistent (every update is a single assignment), so keep serving.
    m.lock().unwrap_or_else(PoisonError::into_inner)
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

impl BrandData {
    fn metric(&self, metric: &str) -> Option<&MetricData> {
        self.metrics
            .iter()
            .find(|(k, _)| &**k == metric)
            .map(|(_, m)| m)
    }
}

/// `at_us + ttl` in Unix micros, saturating.
fn ttl_deadline(at_us: i64, ttl: Duration) -> i64 {
    at_us.saturating_add(i64::try_from(ttl.as_micros()).unwrap_or(i64::MAX))
}

#[async_trait]
impl UsageStore for MemoryStore {
    async fn consume(&self, req: &ConsumeRequest<'_>) -> StoreResult<ConsumeOutcome> {
        Ok(self.consume_now(req))
    }

    fn try_consume(&self, req: &ConsumeRequest<'_>) -> Option<StoreResult<ConsumeOutcome>> {
        Some(Ok(self.consume_now(req)))
    }

    fn counter_handle(&self, key: CounterKey<'_>) -> Option<CounterHandle> {
        let brand = self.brand(key.brand);
        let mut data = lock(&brand);
        let cell = Arc::clone(metric_mut(&mut data.metrics, key.metric).counter_mut(key.period));
        Some(cell)
    }

    fn try_consume_at(
        &self,
        handle: &CounterHandle,
        req: &ConsumeRequest<'_>,
    ) -> Option<StoreResult<ConsumeOutcome>> {
        // Keys live with the brand: a keyed consume takes the brand path.
        if req.idempotency_key.is_none() {
            if let Some(cell) = handle.downcast_ref::<CounterCell>() {
                let mut counter = cell.lock();
                if !counter.retired {
                    return Some(Ok(counter.check_and_add(req)));
                }
            }
        }
        Some(Ok(self.consume_now(req)))
    }

    async fn release(&self, key: CounterKey<'_>, quantity: u64, day: u16) -> StoreResult<Usage> {
        let brand = self.brand(key.brand);
        let mut data = lock(&brand);
        let metric = metric_mut(&mut data.metrics, key.metric);
        let mut counter = metric.counter_mut(key.period).lock();
        let given_back = quantity.min(counter.used);
        counter.used = counter.used.saturating_sub(given_back);
        counter.overage = counter.overage.saturating_sub(given_back);
        let bucket = counter.bucket_mut(day);
        *bucket = bucket.saturating_sub(given_back);
        Ok(counter.usage())
    }

    async fn usage(&self, key: CounterKey<'_>) -> StoreResult<Usage> {
        Ok(self.read_counter(key, Counter::usage).unwrap_or_default())
    }

    async fn daily_usage(&self, key: CounterKey<'_>) -> StoreResult<Vec<u64>> {
        Ok(self
            .read_counter(key, |c| c.days.to_vec())
            .unwrap_or_default())
    }

    async fn adjust_gauge(
        &self,
        brand: &str,
        metric: &str,
        delta: i64,
        ceiling: Option<u64>,
    ) -> StoreResult<GaugeOutcome> {
        let brand = self.brand(brand);
        let mut data = lock(&brand);
        let m = metric_mut(&mut data.metrics, metric);
        let step = delta.unsigned_abs();
        if delta >= 0 {
            let admitted =
                add_units(m.gauge, step).is_some_and(|after| ceiling.is_none_or(|c| after <= c));
            if admitted {
                m.gauge = m.gauge.saturating_add(step);
            }
            Ok(GaugeOutcome {
                admitted,
                level: m.gauge,
            })
        } else {
            m.gauge = m.gauge.saturating_sub(step);
            Ok(GaugeOutcome {
                admitted: true,
                level: m.gauge,
            })
        }
    }

    async fn set_gauge(&self, brand: &str, metric: &str, level: u64) -> StoreResult<u64> {
        if level > MAX_UNITS {
            return Err(StoreError::OutOfRange(format!(
                "gauge level {level} is above {MAX_UNITS}"
            )));
        }
        let brand = self.brand(brand);
        let mut data = lock(&brand);
        let m = metric_mut(&mut data.metrics, metric);
        Ok(std::mem::replace(&mut m.gauge, level))
    }

    async fn gauge(&self, brand: &str, metric: &str) -> StoreResult<u64> {
        let Some(brand) = self.existing_brand(brand) else {
            return Ok(0);
        };
        let data = lock(&brand);
        Ok(data.metric(metric).map_or(0, |m| m.gauge))
    }

    async fn reset_period(
        &self,
        brand: &str,
        metric: Option<&str>,
        period: PeriodKey,
    ) -> StoreResult<()> {
        let Some(brand) = self.existing_brand(brand) else {
            return Ok(());
        };
        let mut data = lock(&brand);
        let chosen = data
            .metrics
            .iter_mut()
            .filter(|(k, _)| metric.is_none_or(|m| &**k == m));
        for (_, m) in chosen {
            if let Some(cell) = m.counter(period) {
                cell.lock().clear_usage();
            }
        }
        Ok(())
    }

    async fn reset_counter(&self, reset: &CounterReset<'_>) -> StoreResult<Usage> {
        let key = reset.key;
        if reset.used > MAX_UNITS {
            return Err(StoreError::OutOfRange(format!(
                "usage {} is above {MAX_UNITS}",
                reset.used
            )));
        }
        let brand = self.brand(key.brand);
        let mut data = lock(&brand);
        let data = &mut *data;
        // Every check before the first write: a refused reset changes nothing.
        let cell = Arc::clone(metric_mut(&mut data.metrics, key.metric).counter_mut(key.period));
        let mut counter = cell.lock();
        let topup_units = match reset.topup {
            Some(t) => add_units(counter.topup_units, t.units).ok_or_else(|| {
                StoreError::OutOfRange(format!("top-up units would pass {MAX_UNITS}"))
            })?,
            None => counter.topup_units,
        };
        if let Some(t) = reset.topup {
            match self.inner.topup_brand.entry(t.id.as_str().into()) {
                dashmap::Entry::Occupied(_) => {
                    return Err(StoreError::Conflict(format!(
                        "top-up {:?} already exists",
                        t.id
                    )));
                }
                dashmap::Entry::Vacant(v) => {
                    v.insert(key.brand.into());
                }
            }
            data.topups.push(t.clone());
        }
        counter.clear_usage();
        counter.topup_units = topup_units;
        counter.used = reset.used;
        if reset.used > 0 {
            *counter.bucket_mut(reset.day) = reset.used;
        }
        let usage = counter.usage();
        drop(counter);
        for event in reset.events {
            push_event(data, event);
        }
        Ok(usage)
    }
}

/// Appends an event with the brand's next sequence number, keeping the list sorted by
/// (time, sequence).
fn push_event(data: &mut BrandData, event: &TimelineEvent) -> u64 {
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

#[async_trait]
impl TopUpStore for MemoryStore {
    async fn insert_topup(&self, topup: &UsageTopUp) -> StoreResult<()> {
        let brand = self.brand(&topup.brand);
        let mut data = lock(&brand);
        match self.inner.topup_brand.entry(topup.id.as_str().into()) {
            dashmap::Entry::Occupied(_) => {
                return Err(StoreError::Conflict(format!(
                    "top-up {:?} already exists",
                    topup.id
                )));
            }
            dashmap::Entry::Vacant(v) => {
                v.insert(topup.brand.as_str().into());
            }
        }
        data.topups.push(topup.clone());
        Ok(())
    }

    async fn topup(&self, id: &str) -> StoreResult<Option<UsageTopUp>> {
        let Some(brand) = self.inner.topup_brand.get(id).map(|b| b.value().clone()) else {
            return Ok(None);
        };
        let brand = self.brand(&brand);
        let data = lock(&brand);
        Ok(data.topups.iter().find(|t| t.id == id).cloned())
    }

    async fn set_topup_status(
        &self,
        id: &str,
        to: TopUpStatus,
        at: DateTime<Utc>,
    ) -> StoreResult<TopUpTransition> {
        let not_found = || StoreError::NotFound(format!("top-up {id:?}"));
        let brand_id = self
            .inner
            .topup_brand
            .get(id)
            .map(|b| b.value().clone())
            .ok_or_else(not_found)?;
        let brand = self.brand(&brand_id);
        let mut data = lock(&brand);
        let data = &mut *data;
        let topup = data
            .topups
            .iter_mut()
            .find(|t| t.id == id)
            .ok_or_else(not_found)?;
        if topup.status == to && to != TopUpStatus::Pending {
            return Ok(TopUpTransition::new(topup.clone(), false));
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
            let metric = metric_mut(&mut data.metrics, &topup.metric);
            let mut counter = metric.counter_mut(topup.period).lock();
            counter.topup_units = add_units(counter.topup_units, topup.units).ok_or_else(|| {
                StoreError::OutOfRange(format!(
                    "top-up {id:?} would take the period's top-up units past {MAX_UNITS}"
                ))
            })?;
        }
        topup.status = target;
        topup.settled_at = Some(at);
        Ok(TopUpTransition::new(topup.clone(), true))
    }

    async fn topups(&self, brand: &str) -> StoreResult<Vec<UsageTopUp>> {
        self.recent_topups(brand, usize::MAX).await
    }

    async fn recent_topups(&self, brand: &str, limit: usize) -> StoreResult<Vec<UsageTopUp>> {
        let Some(brand) = self.existing_brand(brand) else {
            return Ok(Vec::new());
        };
        let data = lock(&brand);
        Ok(data.topups.iter().rev().take(limit).cloned().collect())
    }
}

#[async_trait]
impl AlertStore for MemoryStore {
    async fn claim_alert(&self, key: CounterKey<'_>, threshold: u16) -> StoreResult<bool> {
        let brand = self.brand(key.brand);
        let mut data = lock(&brand);
        let metric = metric_mut(&mut data.metrics, key.metric);
        Ok(metric
            .counter_mut(key.period)
            .lock()
            .claims
            .insert(threshold))
    }

    async fn release_alert(&self, key: CounterKey<'_>, threshold: u16) -> StoreResult<bool> {
        let brand = self.brand(key.brand);
        let mut data = lock(&brand);
        let metric = metric_mut(&mut data.metrics, key.metric);
        Ok(metric
            .counter_mut(key.period)
            .lock()
            .claims
            .remove(&threshold))
    }

    async fn claimed_alerts(&self, key: CounterKey<'_>) -> StoreResult<Vec<u16>> {
        Ok(self
            .read_counter(key, |c| c.claims.iter().copied().collect())
            .unwrap_or_default())
    }

    async fn append_event(&self, event: &TimelineEvent) -> StoreResult<u64> {
        let brand = self.brand(&event.brand);
        Ok(push_event(&mut lock(&brand), event))
    }

    async fn events(&self, brand: &str, limit: usize) -> StoreResult<Vec<TimelineEvent>> {
        let Some(brand) = self.existing_brand(brand) else {
            return Ok(Vec::new());
        };
        let data = lock(&brand);
        Ok(data.events.iter().rev().take(limit).cloned().collect())
    }
}

#[async_trait]
impl SubscriptionStore for MemoryStore {
    async fn put_subscription(&self, sub: &Subscription) -> StoreResult<()> {
        self.inner
            .subscriptions
            .insert(sub.brand.as_str().into(), sub.clone());
        Ok(())
    }

    async fn subscription(&self, brand: &str) -> StoreResult<Option<Subscription>> {
        Ok(self
            .inner
            .subscriptions
            .get(brand)
            .map(|s| s.value().clone()))
    }

    async fn subscriptions(&self) -> StoreResult<Vec<Subscription>> {
        let mut all: Vec<Subscription> = self
            .inner
            .subscriptions
            .iter()
            .map(|s| s.value().clone())
            .collect();
        all.sort_by(|a, b| a.brand.cmp(&b.brand));
        Ok(all)
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

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

    fn consume_at(
        store: &MemoryStore,
        h: &CounterHandle,
        r: &ConsumeRequest<'_>,
    ) -> ConsumeOutcome {
        store.try_consume_at(h, r).unwrap().unwrap()
    }

    #[test]
    fn day_buckets_grow_like_a_list_whichever_day_is_written() {
        let mut days = Days::default();
        assert!(days.to_vec().is_empty());
        *days.bucket_mut(2) += 5;
        assert_eq!(days.to_vec(), [0, 0, 5]);
        *days.bucket_mut(40) += 7;
        let mut want = vec![0; 41];
        want[2] = 5;
        want[40] = 7;
        assert_eq!(days.to_vec(), want);
        // Back to an earlier day (a late writer) and forth again: nothing is lost.
        *days.bucket_mut(2) += 1;
        *days.bucket_mut(40) += 1;
        *days.bucket_mut(0) += 1;
        want[0] = 1;
        want[2] = 6;
        want[40] = 8;
        assert_eq!(days.to_vec(), want);
        // A release on a day written before sees that day's whole bucket.
        let b = days.bucket_mut(2);
        *b = b.saturating_sub(10);
        want[2] = 0;
        assert_eq!(days.to_vec(), want);
        days.clear();
        assert!(days.to_vec().is_empty());
    }

    proptest::proptest! {
        #[test]
        fn day_buckets_behave_like_a_plain_list(
            writes in proptest::collection::vec((0u16..64, 0u64..1000, proptest::bool::ANY), 0..200)
        ) {
            let mut days = Days::default();
            let mut model: Vec<u64> = Vec::new();
            for (day, units, add) in writes {
                let at = usize::from(day);
                if model.len() <= at {
                    model.resize(at + 1, 0);
                }
                let b = days.bucket_mut(day);
                if add {
                    *b = b.saturating_add(units);
                    model[at] = model[at].saturating_add(units);
                } else {
                    *b = b.saturating_sub(units);
                    model[at] = model[at].saturating_sub(units);
                }
                proptest::prop_assert_eq!(days.to_vec(), model.clone());
            }
        }
    }

    #[test]
    fn a_counters_hot_fields_lie_in_its_first_64_bytes() {
        let cell = CounterCell::default();
        let base = std::ptr::from_ref(&cell) as usize;
        let c = cell.lock();
        for field in [
            std::ptr::from_ref(&c.used) as usize,
            std::ptr::from_ref(&c.retired) as usize,
            std::ptr::from_ref(&c.days.today_units) as usize,
            std::ptr::from_ref(&c.days.started) as usize,
        ] {
            assert!(field - base < 64, "field at offset {}", field - base);
        }
    }

    #[test]
    fn a_handle_and_the_brand_path_share_one_counter() {
        let store = MemoryStore::new();
        let h = store.counter_handle(req(1, 0, None).key).unwrap();
        assert_eq!(consume_at(&store, &h, &req(1, 3, Some(5))).used, 3);
        assert_eq!(
            store
                .try_consume(&req(1, 2, Some(5)))
                .unwrap()
                .unwrap()
                .used,
            5
        );
        let denied = consume_at(&store, &h, &req(1, 1, Some(5)));
        assert!(!denied.admitted);
        assert_eq!(denied.used, 5);
    }

    #[test]
    fn a_handle_on_a_pruned_period_goes_through_the_brand_again() {
        let store = MemoryStore::new();
        let old = store.counter_handle(req(1, 0, None).key).unwrap();
        assert!(consume_at(&store, &old, &req(1, 4, None)).admitted);
        // Newer periods push period 1 out of the kept window: its cell is retired.
        for p in 2..=u32::try_from(KEPT_PERIODS).unwrap() + 1 {
            store.try_consume(&req(p, 1, None)).unwrap().unwrap();
        }
        // The stale handle must not write into the retired cell: the brand path recreates
        // period 1 (it was pruned, so it starts again from zero) and the write is visible.
        let out = consume_at(&store, &old, &req(1, 2, None));
        assert!(out.admitted);
        assert_eq!(out.used, 2);
        let fresh = store.counter_handle(req(1, 0, None).key).unwrap();
        assert_eq!(consume_at(&store, &fresh, &req(1, 0, None)).used, 2);
    }
}
