//! `QuotaGuard`: the façade that turns plans into decisions on top of a store.
//!
//! The hot path (`consume`) is one store call: the brand's subscription, plan limits and
//! current period are cached in-process (refreshed every `subscription_cache_ttl`, at
//! period boundaries and on local plan changes), and alert claims are only asked for when
//! a threshold is actually crossed.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use dashmap::DashMap;
use smallvec::SmallVec;
use smol_str::SmolStr;

use crate::alert::AlertListener;
use crate::catalog::Catalog;
use crate::clock::{Clock, SystemClock};
use crate::decision::{Decision, Denial, Overage, Verdict};
use crate::domain::{MAX_UNITS, add_units, bound_units};
use crate::error::{QuotaError, Result};
use crate::ids::{validate_brand_id, validate_plan_id};
use crate::metric::MetricKind;
use crate::money::Money;
use crate::overage::overage_units;
use crate::period::{BillingPeriod, PeriodKey};
use crate::plan::Limit;
use crate::projection::{ProjectionInput, cumulative_curve, project};
use crate::recommendation::recommend;
use crate::snapshot::{MetricSnapshot, PlanCard, Snapshot};
use crate::store::{
    BLOCKED_CLAIM, ConsumeRequest, CounterHandle, CounterKey, Store, Usage, fingerprint,
};
use crate::subscription::Subscription;
use crate::threshold::{Severity, Threshold, badge, crossed_upwards, percent_of, reached};
use crate::timeline::{EventKind, TimelineEvent};
use crate::topup::{TopUpStatus, UsageTopUp};

type Hasher = foldhash::fast::RandomState;

/// Longest accepted idempotency key, in bytes.
pub const MAX_IDEMPOTENCY_KEY_LEN: usize = 255;
pub use crate::domain::MAX_TOPUP_UNITS;
/// Events kept in a snapshot's timeline.
pub const SNAPSHOT_TIMELINE_LEN: usize = 50;
/// Newest top-ups a snapshot reads (those of the current period are shown).
pub const SNAPSHOT_TOPUPS: usize = 50;

/// The future of [`QuotaGuard::consume`]: already complete when the decision was made
/// synchronously (cached brand, in-process store, nothing to announce), else boxed.
#[must_use = "futures do nothing unless awaited"]
pub struct ConsumeFuture<'a> {
    state: ConsumeState<'a>,
}

type BoxedDecision<'a> = std::pin::Pin<Box<dyn Future<Output = Result<Decision>> + Send + 'a>>;

enum ConsumeState<'a> {
    Ready(Result<Decision>),
    Boxed(BoxedDecision<'a>),
    Done,
}

impl<'a> ConsumeFuture<'a> {
    fn ready(result: Result<Decision>) -> Self {
        ConsumeFuture {
            state: ConsumeState::Ready(result),
        }
    }

    fn boxed(fut: impl Future<Output = Result<Decision>> + Send + 'a) -> Self {
        ConsumeFuture {
            state: ConsumeState::Boxed(Box::pin(fut)),
        }
    }

    /// The decision, if it was made without waiting (then polling is not needed).
    pub fn now_or_never(self) -> std::result::Result<Result<Decision>, Self> {
        match self.state {
            ConsumeState::Ready(result) => Ok(result),
            state => Err(ConsumeFuture { state }),
        }
    }
}

impl Future for ConsumeFuture<'_> {
    type Output = Result<Decision>;

    fn poll(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        let state = &mut self.get_mut().state;
        if let ConsumeState::Boxed(fut) = state {
            return fut.as_mut().poll(cx);
        }
        match std::mem::replace(state, ConsumeState::Done) {
            ConsumeState::Ready(result) => std::task::Poll::Ready(result),
            _ => std::task::Poll::Ready(Err(QuotaError::InvalidArgument(
                "consume future polled after completion".into(),
            ))),
        }
    }
}

impl std::fmt::Debug for ConsumeFuture<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = match self.state {
            ConsumeState::Ready(_) => "ready",
            ConsumeState::Boxed(_) => "pending",
            ConsumeState::Done => "done",
        };
        f.debug_struct("ConsumeFuture")
            .field("state", &state)
            .finish()
    }
}

/// Options of a [`QuotaGuard`].
#[derive(Clone, Debug)]
pub struct GuardBuilder {
    catalog: Arc<Catalog>,
    clock: Arc<dyn Clock>,
    listeners: Vec<Arc<dyn AlertListener>>,
    cache_ttl: Duration,
    retention: Duration,
}

impl GuardBuilder {
    /// Sets the clock (default: the system clock).
    #[must_use]
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Adds an alert listener.
    #[must_use]
    pub fn listener(mut self, listener: Arc<dyn AlertListener>) -> Self {
        self.listeners.push(listener);
        self
    }

    /// How long a brand's subscription is cached before it is read again from the store
    /// (default 5 s). Plan changes made through this guard apply at once; changes made by
    /// another instance apply within this delay. The hard limit itself is always enforced
    /// by the store, atomically.
    #[must_use]
    pub fn subscription_cache_ttl(mut self, ttl: Duration) -> Self {
        self.cache_ttl = ttl;
        self
    }

    /// How long a period's counters are kept after it ends (default 35 days).
    #[must_use]
    pub fn retention(mut self, retention: Duration) -> Self {
        self.retention = retention;
        self
    }

    /// Builds the guard over `store`.
    pub fn build<S: Store + ?Sized>(self, store: Arc<S>) -> QuotaGuard<S> {
        let ttl_us = i64::try_from(self.cache_ttl.as_micros()).unwrap_or(i64::MAX);
        let retention =
            chrono::Duration::from_std(self.retention).unwrap_or(chrono::Duration::days(35));
        QuotaGuard {
            inner: Arc::new(Inner {
                catalog: self.catalog,
                clock: self.clock,
                listeners: self.listeners,
                cache: DashMap::with_hasher(Hasher::default()),
                cache_ttl_us: ttl_us,
                retention,
                salt: id_salt(),
                seq: AtomicU64::new(0),
                store,
            }),
        }
    }
}

/// Enforces a catalog's plans on a store. Cheap to clone; share one per process.
///
/// `S` is the store type: a concrete store gives static dispatch, `dyn Store` (the default)
/// lets the backend be chosen at run time.
pub struct QuotaGuard<S: Store + ?Sized = dyn Store> {
    inner: Arc<Inner<S>>,
}

impl<S: Store + ?Sized> Clone for QuotaGuard<S> {
    fn clone(&self) -> Self {
        QuotaGuard {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<S: Store + ?Sized> std::fmt::Debug for QuotaGuard<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QuotaGuard")
            .field("plans", &self.inner.catalog.plans().len())
            .field("cached_brands", &self.inner.cache.len())
            .finish_non_exhaustive()
    }
}

struct Inner<S: Store + ?Sized> {
    catalog: Arc<Catalog>,
    clock: Arc<dyn Clock>,
    listeners: Vec<Arc<dyn AlertListener>>,
    /// Brand ids up to 23 bytes are stored inline in the map's slots: matching one reads no
    /// other memory.
    cache: DashMap<SmolStr, Arc<BrandContext>, Hasher>,
    cache_ttl_us: i64,
    retention: chrono::Duration,
    salt: u64,
    seq: AtomicU64,
    store: Arc<S>,
}

/// What the guard knows of a brand between store reads.
///
/// `repr(C)` keeps what every consume reads together at the front (metrics, freshness bounds,
/// period key, retention), ahead of the period and subscription that only the slow paths
/// read. The metrics are inline (a catalog has a handful): matching one follows no pointer
/// past the context.
#[derive(Debug)]
#[repr(C)]
pub(crate) struct BrandContext {
    metrics: SmallVec<[ResolvedMetric; INLINE_METRICS]>,
    // Precomputed so the hot path does integer compares instead of calendar math.
    start_us: i64,
    /// The cache entry is used while `start_us <= now < fresh_until_us`.
    fresh_until_us: i64,
    last_day: i64,
    key: PeriodKey,
    retain_until: DateTime<Utc>,
    pub(crate) period: BillingPeriod,
    /// Its `plan` is the catalog plan the metrics were resolved from (the plan itself is read
    /// from the catalog: no per-brand copy).
    pub(crate) subscription: Subscription,
}

const DAY_US: i64 = 86_400_000_000;

/// Metrics kept inline in a brand's context; a catalog with more spills them to the heap.
const INLINE_METRICS: usize = 3;

fn unknown_metric(key: &str) -> QuotaError {
    QuotaError::UnknownMetric(key.chars().take(80).collect())
}

/// A metric key of 8 to 16 bytes as its first and last 8 bytes (overlapping) and its length:
/// the hot path matches the caller's key against it without following a pointer or calling
/// `memcmp`. Other lengths compare as strings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct PackedKey(u64, u64, std::num::NonZeroU32);

impl PackedKey {
    #[inline]
    fn of(key: &str) -> Option<Self> {
        let b = key.as_bytes();
        let len = b.len();
        if !(8..=16).contains(&len) {
            return None;
        }
        let word = |at: usize| -> Option<u64> {
            Some(u64::from_ne_bytes(
                b.get(at..at.checked_add(8)?)?.try_into().ok()?,
            ))
        };
        let len = std::num::NonZeroU32::new(u32::try_from(len).ok()?)?;
        Some(PackedKey(word(0)?, word(b.len().checked_sub(8)?)?, len))
    }
}

/// Threshold percents kept inline for the crossing check of every consume (catalogs rarely
/// have more than a handful; past [`INLINE_THRESHOLDS`] the list is read instead).
const INLINE_THRESHOLDS: usize = 8;

/// A catalog metric resolved for one brand's plan and period.
///
/// `repr(C)` lays it out for the hot path: first what is read before the store call (key
/// match, handle, ceiling, kind), then what is read after it (allowance, grace, threshold
/// percents); the rest only the slow paths read.
#[derive(Debug)]
#[repr(C)]
pub(crate) struct ResolvedMetric {
    /// `key` packed, when its length allows (8 to 16 bytes: nearly always).
    packed: Option<PackedKey>,
    /// The store's handle on this counter for the context's period, if it offers one.
    handle: Option<CounterHandle>,
    ceiling: Option<u64>,
    pub(crate) kind: MetricKind,
    /// The catalog's per-request ceiling of the metric.
    max_per_request: u64,
    /// `included + grace`: units past it (and the top-ups) are billed; `None` when the
    /// policy never bills (unlimited, or blocked at the ceiling).
    free: Option<u64>,
    /// `limit.included`, next to the other fields read after the store call.
    included: Option<u64>,
    /// `limit.grace_units()`, computed once.
    grace: u64,
    /// Ascending threshold percents, `0` past the last one; `None` when there are too many.
    percents: Option<[u16; INLINE_THRESHOLDS]>,
    key: String,
    pub(crate) limit: Limit,
    thresholds: Vec<Threshold>,
}

impl ResolvedMetric {
    /// [`crosses_any`] on the inline percents when there are.
    #[inline]
    fn crosses_any(&self, before: u64, after: u64, allowance: u64) -> bool {
        match &self.percents {
            Some(percents) => crosses_inline(percents, before, after, allowance),
            None => crosses_any(&self.thresholds, before, after, allowance),
        }
    }
}

impl BrandContext {
    pub(crate) fn metric(&self, key: &str) -> Result<&ResolvedMetric> {
        let index = self.metric_index(key)?;
        self.metrics.get(index).ok_or_else(|| unknown_metric(key))
    }

    #[inline]
    fn metric_index(&self, key: &str) -> Result<usize> {
        let packed = PackedKey::of(key);
        self.metrics
            .iter()
            .position(|m| match (m.packed, packed) {
                (Some(a), Some(b)) => a == b,
                (None, None) => m.key == key,
                _ => false,
            })
            .ok_or_else(|| unknown_metric(key))
    }

    #[inline]
    fn counter_request<'a>(
        &self,
        m: &ResolvedMetric,
        brand: &'a str,
        metric: &'a str,
        quantity: u64,
        idempotency_key: Option<&'a str>,
        now_us: i64,
    ) -> ConsumeRequest<'a> {
        ConsumeRequest {
            key: CounterKey::new(brand, metric, self.key),
            quantity,
            ceiling: m.ceiling,
            free_units: m.free,
            idempotency_key,
            fingerprint: idempotency_key.map_or(0, |_| fingerprint(metric, quantity, "")),
            day: self.day_of(now_us),
            at_us: now_us,
            retain_until: self.retain_until,
        }
    }

    #[inline]
    pub(crate) fn day_of(&self, now_us: i64) -> u16 {
        // `max`/`min` rather than `clamp`, whose bounds assertion kept it out of line.
        let day = (now_us.saturating_sub(self.start_us) / DAY_US)
            .max(0)
            .min(self.last_day);
        u16::try_from(day).unwrap_or(0)
    }
}

fn id_salt() -> u64 {
    use std::hash::{BuildHasher, Hasher as _};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u32(std::process::id());
    h.finish()
}

impl QuotaGuard<dyn Store> {
    /// A builder with the system clock, no listener and default cache settings.
    pub fn builder(catalog: Catalog) -> GuardBuilder {
        GuardBuilder {
            catalog: Arc::new(catalog),
            clock: Arc::new(SystemClock),
            listeners: Vec::new(),
            cache_ttl: Duration::from_secs(5),
            retention: Duration::from_secs(35 * 24 * 3600),
        }
    }
}

impl<S: Store + ?Sized> QuotaGuard<S> {
    /// A guard with default options.
    pub fn new(catalog: Catalog, store: Arc<S>) -> Self {
        QuotaGuard::builder(catalog).build(store)
    }

    /// The catalog.
    pub fn catalog(&self) -> &Catalog {
        &self.inner.catalog
    }

    /// The store.
    pub fn store(&self) -> &Arc<S> {
        &self.inner.store
    }

    /// The clock.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.inner.clock
    }

    // ---- subscriptions ------------------------------------------------------------------

    /// Creates or replaces a brand's subscription. Changing plan records a `plan_changed`
    /// event and resolves alerts that the new allowance brings back under.
    pub async fn subscribe(&self, subscription: Subscription) -> Result<()> {
        validate_brand_id(&subscription.brand)?;
        validate_plan_id(&subscription.plan)?;
        let catalog = &self.inner.catalog;
        if catalog.plan(&subscription.plan).is_none() {
            return Err(QuotaError::UnknownPlan(subscription.plan.clone()));
        }
        for (metric, limit) in &subscription.overrides {
            let def = catalog
                .metric(metric)
                .ok_or_else(|| QuotaError::UnknownMetric(metric.clone()))?;
            if limit.grace_percent > 100 {
                return Err(QuotaError::InvalidArgument(
                    "override grace_percent must be within 0..=100".into(),
                ));
            }
            if def.kind == MetricKind::Gauge && limit.overage.charges() {
                return Err(QuotaError::InvalidArgument(format!(
                    "gauge {metric:?} cannot charge overage"
                )));
            }
            if let Some(t) = &limit.thresholds {
                crate::threshold::validate_thresholds(t).map_err(QuotaError::InvalidArgument)?;
            }
        }
        let store = &self.inner.store;
        let previous = store.subscription(&subscription.brand).await?;
        store.put_subscription(&subscription).await?;
        self.inner.cache.remove(subscription.brand.as_str());
        if let Some(prev) = previous.filter(|p| p.plan != subscription.plan) {
            let now = self.now();
            let ctx = self.context(&subscription.brand, now).await?;
            self.emit(TimelineEvent::new(
                &subscription.brand,
                now,
                ctx.period.key(),
                None,
                Severity::Info,
                EventKind::PlanChanged {
                    from: prev.plan,
                    to: subscription.plan.clone(),
                },
            ))
            .await;
            for m in &ctx.metrics {
                self.resolve_alerts(&ctx, m, now).await?;
            }
        }
        Ok(())
    }

    /// Moves a brand to another plan, keeping its anchor and overrides.
    pub async fn change_plan(&self, brand: &str, plan: &str) -> Result<()> {
        let now = self.now();
        let ctx = self.context(brand, now).await?;
        let mut sub = ctx.subscription.clone();
        plan.clone_into(&mut sub.plan);
        sub.since = now;
        self.subscribe(sub).await
    }

    /// A brand's subscription.
    pub async fn subscription(&self, brand: &str) -> Result<Subscription> {
        let ctx = self.context(brand, self.now()).await?;
        Ok(ctx.subscription.clone())
    }

    /// The current billing period of a brand.
    pub async fn period(&self, brand: &str) -> Result<BillingPeriod> {
        Ok(self.context(brand, self.now()).await?.period)
    }

    // ---- decisions ----------------------------------------------------------------------

    /// Would `quantity` more units be admitted? No side effect.
    pub async fn check(&self, brand: &str, metric: &str, quantity: u64) -> Result<Decision> {
        let now = self.now();
        let ctx = self.context(brand, now).await?;
        let m = ctx.metric(metric)?;
        let store = &self.inner.store;
        match m.kind {
            MetricKind::Gauge => {
                let level = store.gauge(brand, metric).await?;
                let admitted = level
                    .checked_add(quantity)
                    .is_some_and(|after| m.ceiling.is_none_or(|c| after <= c));
                Ok(self.gauge_decision(&ctx, m, level, quantity, admitted))
            }
            _ => {
                let key = CounterKey::new(brand, metric, ctx.period.key());
                let usage = store.usage(key).await?;
                // What the store would do (see `UsageStore::consume`), without doing it.
                let limit = m
                    .ceiling
                    .map_or(MAX_UNITS, |c| bound_units(c, usage.topup_units));
                let after = add_units(usage.used, quantity).filter(|a| *a <= limit);
                let allowance = m
                    .limit
                    .included
                    .map(|i| i.saturating_add(usage.topup_units));
                let verdict = if let Some(after) = after {
                    let charged = m.free.map_or(0, |free| {
                        after.saturating_sub(usage.used.max(bound_units(free, usage.topup_units)))
                    });
                    let out = crate::store::ConsumeOutcome::new(
                        true,
                        after,
                        usage.topup_units,
                        usage.overage_units.saturating_add(charged),
                        charged,
                    );
                    admitted_verdict(m, &out, self.inner.catalog.currency())
                } else {
                    self.denied(&ctx, m, usage.used, quantity)
                };
                Ok(Decision {
                    verdict,
                    used: usage.used,
                    limit: allowance,
                    resets_at: Some(ctx.period.end),
                    period_start: Some(ctx.period.start),
                    replayed: false,
                })
            }
        }
    }

    /// Atomically checks and consumes `quantity` units. With an idempotency key, a retry of
    /// an admitted consume returns the first decision (`replayed`) and counts nothing.
    ///
    /// Quantity 0 is a check that also reports usage. For gauges, consume raises the level
    /// (a seat taken) and [`QuotaGuard::release`] lowers it.
    ///
    /// When the brand is cached and the store answers in-process, the decision is made
    /// synchronously inside this call and the returned future is already complete: no
    /// allocation, nothing to poll. Otherwise the future does the store round trip.
    pub fn consume<'a>(
        &'a self,
        brand: &'a str,
        metric: &'a str,
        quantity: u64,
        idempotency_key: Option<&'a str>,
    ) -> ConsumeFuture<'a> {
        if let Some(key) = idempotency_key {
            if let Err(e) = validate_idempotency_key(key) {
                return ConsumeFuture::ready(Err(e));
            }
        }
        let now_us = self.inner.clock.now_micros();
        self.consume_at(brand, metric, quantity, idempotency_key, now_us)
    }

    /// Decides synchronously when it can (cached brand, counter metric, in-process store),
    /// else returns the boxed slow path. Every exit builds the returned future in place: a
    /// fast decision is not moved again on its way out (each move of a freshly written
    /// `Decision` costs a store-forwarding stall).
    #[inline]
    fn consume_at<'a>(
        &'a self,
        brand: &'a str,
        metric: &'a str,
        quantity: u64,
        idempotency_key: Option<&'a str>,
        now_us: i64,
    ) -> ConsumeFuture<'a> {
        let slow = || {
            let now = crate::clock::from_micros(now_us);
            ConsumeFuture::boxed(self.consume_slow(brand, metric, quantity, idempotency_key, now))
        };
        // The cache entry's read guard is held for this synchronous path: no `Arc` traffic on
        // the context unless alert work has to outlive it.
        let Some(cached) = self.inner.cache.get(brand) else {
            return slow();
        };
        let ctx: &Arc<BrandContext> = cached.value();
        if !(ctx.start_us <= now_us && now_us < ctx.fresh_until_us) {
            return slow();
        }
        let index = match ctx.metric_index(metric) {
            Ok(i) => i,
            Err(e) => return ConsumeFuture::ready(Err(e)),
        };
        let Some(m) = ctx
            .metrics
            .get(index)
            .filter(|m| m.kind == MetricKind::Counter)
        else {
            return slow();
        };
        let req = ctx.counter_request(m, brand, metric, quantity, idempotency_key, now_us);
        let store = &self.inner.store;
        let fast = match &m.handle {
            Some(handle) => store.try_consume_at(handle, &req),
            None => store.try_consume(&req),
        };
        match fast {
            Some(Ok(out)) => self.finish_counter(ctx, index, out, quantity, now_us),
            Some(Err(e)) => ConsumeFuture::ready(Err(e.into())),
            None => slow(),
        }
    }

    async fn consume_slow(
        &self,
        brand: &str,
        metric: &str,
        quantity: u64,
        idempotency_key: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Decision> {
        let ctx = self.context(brand, now).await?;
        let index = ctx.metric_index(metric)?;
        let Some(m) = ctx.metrics.get(index) else {
            return Err(QuotaError::UnknownMetric(metric.to_owned()));
        };
        if m.kind == MetricKind::Gauge {
            return self.consume_gauge(&ctx, m, quantity, now).await;
        }
        let req = ctx.counter_request(
            m,
            brand,
            metric,
            quantity,
            idempotency_key,
            now.timestamp_micros(),
        );
        let store = &self.inner.store;
        let out = match store.try_consume(&req) {
            Some(out) => out?,
            None => store.consume(&req).await?,
        };
        self.finish_counter(&ctx, index, out, quantity, now.timestamp_micros())
            .await
    }

    /// Turns a store outcome into a decision; the alert work that follows a denial or a
    /// crossing (rare) runs in a boxed future, the common case completes at once.
    #[inline(always)]
    fn finish_counter(
        &self,
        ctx: &Arc<BrandContext>,
        index: usize,
        out: crate::store::ConsumeOutcome,
        quantity: u64,
        now_us: i64,
    ) -> ConsumeFuture<'_> {
        let Some(m) = ctx.metrics.get(index) else {
            return ConsumeFuture::ready(Err(QuotaError::InvalidArgument(
                "metric index out of range".into(),
            )));
        };
        let allowance = m.included.map(|i| i.saturating_add(out.topup_units));
        let resets_at = Some(ctx.period.end);
        let period_start = Some(ctx.period.start);
        if !out.admitted {
            let decision = Decision {
                verdict: self.denied(ctx, m, out.used, quantity),
                used: out.used,
                limit: allowance,
                resets_at,
                period_start,
                replayed: false,
            };
            let Some(limit) = allowance else {
                return ConsumeFuture::ready(Ok(decision));
            };
            let ctx = Arc::clone(ctx);
            return ConsumeFuture::boxed(async move {
                if let Some(m) = ctx.metrics.get(index) {
                    let kind = EventKind::Blocked {
                        used: out.used,
                        limit,
                    };
                    let now = crate::clock::from_micros(now_us);
                    self.claim_and_emit(&ctx, m, BLOCKED_CLAIM, Severity::Blocked, kind, now)
                        .await;
                }
                Ok(decision)
            });
        }
        let before = out.used.saturating_sub(quantity);
        let decision = Decision {
            verdict: admitted_verdict(m, &out, self.inner.catalog.currency()),
            used: out.used,
            limit: allowance,
            resets_at,
            period_start,
            replayed: out.replayed,
        };
        match allowance {
            Some(limit) if !out.replayed && m.crosses_any(before, out.used, limit) => {
                let ctx = Arc::clone(ctx);
                ConsumeFuture::boxed(async move {
                    if let Some(m) = ctx.metrics.get(index) {
                        let now = crate::clock::from_micros(now_us);
                        self.emit_crossings(&ctx, m, before, out.used, limit, now)
                            .await;
                    }
                    Ok(decision)
                })
            }
            _ => ConsumeFuture::ready(Ok(decision)),
        }
    }

    /// Gives back `quantity` units (a refund after a failed job, a seat freed). Alerts that
    /// usage falls back under are resolved. Returns the usage (or level) after.
    pub async fn release(&self, brand: &str, metric: &str, quantity: u64) -> Result<u64> {
        let now = self.now();
        let ctx = self.context(brand, now).await?;
        let m = ctx.metric(metric)?;
        let store = &self.inner.store;
        let after = if m.kind == MetricKind::Gauge {
            let delta = i64::try_from(quantity).unwrap_or(i64::MAX);
            store
                .adjust_gauge(brand, metric, delta.saturating_neg(), None)
                .await?
                .level
        } else {
            let key = CounterKey::new(brand, metric, ctx.period.key());
            store
                .release(key, quantity, ctx.period.day_index(now))
                .await?
                .used
        };
        self.resolve_alerts(&ctx, m, now).await?;
        Ok(after)
    }

    /// Sets a gauge's level (e.g. seats synced from the identity provider), without a
    /// limit check. Crossings and resolutions are reported.
    pub async fn set_gauge(&self, brand: &str, metric: &str, level: u64) -> Result<u64> {
        let now = self.now();
        let ctx = self.context(brand, now).await?;
        let m = ctx.metric(metric)?;
        if m.kind != MetricKind::Gauge {
            return Err(QuotaError::WrongMetricKind {
                metric: metric.to_owned(),
                kind: m.kind.as_str(),
                reason: "only gauges can be set; counters are consumed",
            });
        }
        let previous = self.inner.store.set_gauge(brand, metric, level).await?;
        if let Some(limit) = m.limit.included {
            self.emit_crossings(&ctx, m, previous, level, limit, now)
                .await;
        }
        self.resolve_alerts(&ctx, m, now).await?;
        Ok(previous)
    }

    // ---- top-ups -------------------------------------------------------------------------

    /// Starts a top-up of `units` for the current period (pending until paid).
    pub async fn start_topup(&self, brand: &str, metric: &str, units: u64) -> Result<UsageTopUp> {
        if units == 0 || units > MAX_TOPUP_UNITS {
            return Err(QuotaError::InvalidArgument(format!(
                "top-up units must be within 1..={MAX_TOPUP_UNITS}"
            )));
        }
        let now = self.now();
        let ctx = self.context(brand, now).await?;
        let m = ctx.metric(metric)?;
        if m.kind != MetricKind::Counter || !m.limit.accepts_topups() {
            return Err(QuotaError::TopUpNotAllowed {
                metric: metric.to_owned(),
                plan: ctx.subscription.plan.clone(),
            });
        }
        let seq = self.inner.seq.fetch_add(1, Ordering::Relaxed);
        let id = format!(
            "tu_{:x}{:x}{:04x}",
            now.timestamp_micros(),
            self.inner.salt & 0xffff_ffff,
            seq & 0xffff
        );
        let topup = UsageTopUp::pending(
            id,
            brand,
            metric,
            units,
            ctx.period.key(),
            now,
            ctx.period.end,
        );
        self.inner.store.insert_topup(&topup).await?;
        Ok(topup)
    }

    /// Marks a top-up paid: its units join the allowance at once. Idempotent: completing a
    /// completed top-up changes nothing. Resolves alerts the new allowance brings under.
    pub async fn complete_topup(&self, id: &str) -> Result<UsageTopUp> {
        let now = self.now();
        let tr = self.transition(id, TopUpStatus::Completed, now).await?;
        if tr.topup.status != TopUpStatus::Completed {
            return Err(QuotaError::TopUpTransition {
                id: id.to_owned(),
                from: tr.topup.status,
                to: TopUpStatus::Completed,
            });
        }
        if tr.changed {
            let t = &tr.topup;
            self.emit(TimelineEvent::new(
                &t.brand,
                now,
                t.period,
                Some(t.metric.clone()),
                Severity::Info,
                EventKind::TopUpCompleted {
                    topup_id: t.id.clone(),
                    units: t.units,
                },
            ))
            .await;
            let ctx = self.context(&t.brand, now).await?;
            if ctx.period.key() == t.period {
                if let Ok(m) = ctx.metric(&t.metric) {
                    self.resolve_alerts(&ctx, m, now).await?;
                }
            }
        }
        Ok(tr.topup)
    }

    /// Marks a top-up failed or cancelled.
    pub async fn fail_topup(&self, id: &str) -> Result<UsageTopUp> {
        Ok(self
            .transition(id, TopUpStatus::Failed, self.now())
            .await?
            .topup)
    }

    /// A top-up by id.
    pub async fn topup(&self, id: &str) -> Result<UsageTopUp> {
        self.inner
            .store
            .topup(id)
            .await?
            .ok_or_else(|| QuotaError::UnknownTopUp(id.to_owned()))
    }

    /// A brand's top-ups, newest first, with expired pending ones shown as expired.
    pub async fn topups(&self, brand: &str) -> Result<Vec<UsageTopUp>> {
        validate_brand_id(brand)?;
        let now = self.now();
        let mut list = self.inner.store.topups(brand).await?;
        for t in &mut list {
            t.status = t.status_at(now);
        }
        Ok(list)
    }

    async fn transition(
        &self,
        id: &str,
        to: TopUpStatus,
        now: DateTime<Utc>,
    ) -> Result<crate::topup::TopUpTransition> {
        let store = &self.inner.store;
        match store.set_topup_status(id, to, now).await {
            Ok(tr) => Ok(tr),
            Err(crate::error::StoreError::NotFound(_)) => {
                Err(QuotaError::UnknownTopUp(id.to_owned()))
            }
            Err(crate::error::StoreError::Conflict(_)) => {
                let from = store
                    .topup(id)
                    .await?
                    .map_or(TopUpStatus::Pending, |t| t.status);
                Err(QuotaError::TopUpTransition {
                    id: id.to_owned(),
                    from,
                    to,
                })
            }
            Err(e) => Err(e.into()),
        }
    }

    // ---- support tooling -----------------------------------------------------------------

    /// Resets a brand's current period, for one metric or all: usage, daily curve and alert
    /// claims start again from zero; a `period_reset` event records who did it.
    pub async fn reset_period(
        &self,
        brand: &str,
        metric: Option<&str>,
        reason: &str,
    ) -> Result<PeriodKey> {
        let now = self.now();
        let ctx = self.context(brand, now).await?;
        if let Some(m) = metric {
            ctx.metric(m)?;
        }
        let key = ctx.period.key();
        self.inner.store.reset_period(brand, metric, key).await?;
        self.emit(TimelineEvent::new(
            brand,
            now,
            key,
            metric.map(str::to_owned),
            Severity::Info,
            EventKind::PeriodReset {
                reason: reason.chars().take(200).collect(),
            },
        ))
        .await;
        Ok(key)
    }

    // ---- snapshot ------------------------------------------------------------------------

    /// Everything the cockpit shows for a brand.
    pub async fn snapshot(&self, brand: &str) -> Result<Snapshot> {
        let now = self.now();
        let ctx = self.context(brand, now).await?;
        let store = &self.inner.store;
        let catalog = &self.inner.catalog;
        let plan = catalog
            .plan(&ctx.subscription.plan)
            .ok_or_else(|| QuotaError::UnknownPlan(ctx.subscription.plan.clone()))?;
        let currency = catalog.currency();
        let period = ctx.period;
        let pkey = period.key();
        let days_elapsed = period.day_index(now).saturating_add(1);

        let mut metrics = Vec::with_capacity(ctx.metrics.len());
        let mut projected_units = Vec::with_capacity(ctx.metrics.len());
        let mut overage_so_far = Money::zero(currency);
        let mut estimated_overage = Money::zero(currency);
        for m in &ctx.metrics {
            let name = catalog
                .metric(&m.key)
                .map_or_else(|| m.key.clone(), |d| d.name.clone());
            let (usage, daily) = match m.kind {
                MetricKind::Gauge => (
                    Usage::new(store.gauge(brand, &m.key).await?, 0, 0),
                    Vec::new(),
                ),
                _ => {
                    let key = CounterKey::new(brand, &m.key, pkey);
                    (store.usage(key).await?, store.daily_usage(key).await?)
                }
            };
            let allowance = m
                .limit
                .included
                .map(|i| i.saturating_add(usage.topup_units));
            let (over_units, over_charge) = match allowance {
                Some(a) => {
                    let units = overage_units(usage.used, m.limit.free_units(a));
                    (units, m.limit.overage.charge(units, currency))
                }
                None => (0, Money::zero(currency)),
            };
            overage_so_far = overage_so_far.saturating_add(over_charge);
            let projection = (m.kind == MetricKind::Counter).then(|| {
                project(&ProjectionInput {
                    period,
                    now,
                    daily: &daily,
                    used: usage.used,
                    allowance,
                    limit: &m.limit,
                    currency,
                })
            });
            let projected = projection.as_ref().map_or(usage.used, |p| p.projected_used);
            estimated_overage = estimated_overage.saturating_add(
                projection
                    .as_ref()
                    .map_or(over_charge, |p| p.projected_overage_cost),
            );
            projected_units.push((m.key.clone(), projected));
            let blocked = allowance.is_some_and(|a| {
                m.ceiling
                    .is_some_and(|c| usage.used >= c.saturating_add(usage.topup_units))
                    && reached(usage.used, a, 100)
            });
            metrics.push(MetricSnapshot {
                metric: m.key.clone(),
                name,
                kind: m.kind,
                used: usage.used,
                included: m.limit.included,
                topup_units: usage.topup_units,
                limit: allowance,
                remaining: allowance.map(|a| a.saturating_sub(usage.used)),
                percent: allowance.map(|a| percent_of(usage.used, a)),
                badge: allowance.and_then(|a| badge(&m.thresholds, usage.used, a)),
                blocked,
                overage_units: over_units,
                overage_charge: over_charge,
                accepts_topups: m.kind == MetricKind::Counter && m.limit.accepts_topups(),
                projection,
                curve: if m.kind == MetricKind::Counter {
                    cumulative_curve(&daily, days_elapsed)
                } else {
                    Vec::new()
                },
            });
        }
        let refs: Vec<(&str, u64)> = projected_units
            .iter()
            .map(|(k, v)| (k.as_str(), *v))
            .collect();
        let recommendation = recommend(
            catalog,
            &ctx.subscription.plan,
            Some(&ctx.subscription.overrides),
            &refs,
        );
        let timeline: Vec<TimelineEvent> = store
            .events(brand, SNAPSHOT_TIMELINE_LEN)
            .await?
            .into_iter()
            .filter(|e| e.period == pkey)
            .collect();
        // The newest top-ups only: abandoned checkouts must not slow every snapshot down.
        let topups = store
            .recent_topups(brand, SNAPSHOT_TOPUPS)
            .await?
            .into_iter()
            .filter(|t| t.period == pkey)
            .map(|mut t| {
                t.status = t.status_at(now);
                t
            })
            .collect();
        Ok(Snapshot {
            brand_id: brand.to_owned(),
            generated_at: now,
            period,
            period_key: pkey,
            period_days: period.length_days(),
            plan: PlanCard {
                id: plan.id.clone(),
                name: plan.name.clone(),
                price: plan.price,
                overage_so_far,
                estimated_overage,
                estimated_total: plan.price.saturating_add(estimated_overage),
            },
            metrics,
            recommendation,
            stable: timeline.is_empty(),
            timeline,
            topups,
        })
    }

    /// The brand's latest `limit` events, all periods, newest first.
    pub async fn timeline(&self, brand: &str, limit: usize) -> Result<Vec<TimelineEvent>> {
        validate_brand_id(brand)?;
        Ok(self.inner.store.events(brand, limit).await?)
    }

    // ---- internals -----------------------------------------------------------------------

    pub(crate) fn now(&self) -> DateTime<Utc> {
        self.inner.clock.now()
    }

    pub(crate) async fn context(
        &self,
        brand: &str,
        now: DateTime<Utc>,
    ) -> Result<Arc<BrandContext>> {
        let now_us = now.timestamp_micros();
        if let Some(ctx) = self.inner.cache.get(brand) {
            if ctx.start_us <= now_us && now_us < ctx.fresh_until_us {
                return Ok(Arc::clone(ctx.value()));
            }
        }
        Box::pin(self.load_context(brand, now)).await
    }

    /// Reads the subscription and resolves the plan (cache miss, period change, expiry).
    async fn load_context(&self, brand: &str, now: DateTime<Utc>) -> Result<Arc<BrandContext>> {
        validate_brand_id(brand)?;
        let sub = self
            .inner
            .store
            .subscription(brand)
            .await?
            .ok_or_else(|| QuotaError::UnknownBrand(brand.to_owned()))?;
        let mut ctx = self.resolve(sub, now)?;
        for m in &mut ctx.metrics {
            if m.kind == MetricKind::Counter {
                let key = CounterKey::new(brand, &m.key, ctx.key);
                m.handle = self.inner.store.counter_handle(key);
            }
        }
        let ctx = Arc::new(ctx);
        self.inner.cache.insert(brand.into(), Arc::clone(&ctx));
        Ok(ctx)
    }

    fn resolve(&self, subscription: Subscription, now: DateTime<Utc>) -> Result<BrandContext> {
        let catalog = &self.inner.catalog;
        let plan = catalog
            .plan(&subscription.plan)
            .ok_or_else(|| QuotaError::UnknownPlan(subscription.plan.clone()))?;
        let metrics: SmallVec<[ResolvedMetric; INLINE_METRICS]> = catalog
            .metrics()
            .iter()
            .filter_map(|def| {
                let limit = subscription
                    .overrides
                    .get(&def.key)
                    .or_else(|| plan.limit(&def.key))?
                    .clone();
                let thresholds = catalog.thresholds_for(plan, &limit).to_vec();
                Some(ResolvedMetric {
                    packed: PackedKey::of(&def.key),
                    handle: None,
                    ceiling: limit.ceiling_without_topups(),
                    kind: def.kind,
                    max_per_request: def.max_per_request,
                    free: limit
                        .included
                        .filter(|_| limit.overage.charges())
                        .map(|i| i.saturating_add(limit.grace_units())),
                    included: limit.included,
                    grace: limit.grace_units(),
                    percents: inline_percents(&thresholds),
                    key: def.key.clone(),
                    limit,
                    thresholds,
                })
            })
            .collect();
        let period = BillingPeriod::containing(subscription.anchor, now);
        let end_us = period.end.timestamp_micros();
        Ok(BrandContext {
            key: period.key(),
            start_us: period.start.timestamp_micros(),
            fresh_until_us: end_us.min(
                now.timestamp_micros()
                    .saturating_add(self.inner.cache_ttl_us),
            ),
            last_day: i64::from(period.length_days().saturating_sub(1)),
            retain_until: period
                .end
                .checked_add_signed(self.inner.retention)
                .unwrap_or(period.end),
            period,
            subscription,
            metrics,
        })
    }

    async fn consume_gauge(
        &self,
        ctx: &BrandContext,
        m: &ResolvedMetric,
        quantity: u64,
        now: DateTime<Utc>,
    ) -> Result<Decision> {
        let brand = ctx.subscription.brand.as_str();
        let Ok(delta) = i64::try_from(quantity) else {
            let level = self.inner.store.gauge(brand, &m.key).await?;
            return Ok(self.gauge_decision(ctx, m, level, quantity, false));
        };
        let out = self
            .inner
            .store
            .adjust_gauge(brand, &m.key, delta, m.ceiling)
            .await?;
        if out.admitted {
            if let Some(limit) = m.limit.included {
                let before = out.level.saturating_sub(quantity);
                self.emit_crossings(ctx, m, before, out.level, limit, now)
                    .await;
            }
        }
        Ok(self.gauge_decision(ctx, m, out.level, quantity, out.admitted))
    }

    fn gauge_decision(
        &self,
        ctx: &BrandContext,
        m: &ResolvedMetric,
        level: u64,
        quantity: u64,
        admitted: bool,
    ) -> Decision {
        Decision {
            verdict: if admitted {
                Verdict::Allowed
            } else {
                self.denied(ctx, m, level, quantity)
            },
            used: level,
            limit: m.limit.included,
            resets_at: None,
            period_start: None,
            replayed: false,
        }
    }

    fn denied(&self, ctx: &BrandContext, m: &ResolvedMetric, used: u64, requested: u64) -> Verdict {
        let needed = used.saturating_add(requested);
        Verdict::Denied(Box::new(Denial {
            requested,
            suggested_plan: self
                .inner
                .catalog
                .suggest_plan(&ctx.subscription.plan, &m.key, needed)
                .map(|p| p.id.clone()),
        }))
    }

    async fn emit_crossings(
        &self,
        ctx: &BrandContext,
        m: &ResolvedMetric,
        before: u64,
        after: u64,
        limit: u64,
        now: DateTime<Utc>,
    ) {
        for t in crossed_upwards(&m.thresholds, before, after, limit) {
            self.claim_and_emit(
                ctx,
                m,
                t.percent,
                t.severity,
                EventKind::ThresholdCrossed {
                    threshold: t.percent,
                    used: after,
                    limit,
                },
                now,
            )
            .await;
        }
    }

    /// Claims an alert in the store and, if this caller won, records and announces it.
    /// Failures are logged, never returned: the decision they follow has already been made.
    async fn claim_and_emit(
        &self,
        ctx: &BrandContext,
        m: &ResolvedMetric,
        claim: u16,
        severity: Severity,
        kind: EventKind,
        now: DateTime<Utc>,
    ) {
        let brand = ctx.subscription.brand.as_str();
        let key = CounterKey::new(brand, &m.key, ctx.period.key());
        match self.inner.store.claim_alert(key, claim).await {
            Ok(true) => {
                let event = TimelineEvent::new(
                    brand,
                    now,
                    ctx.period.key(),
                    Some(m.key.clone()),
                    severity,
                    kind,
                );
                self.emit(event).await;
            }
            Ok(false) => {}
            Err(error) => {
                tracing::warn!(%error, brand, metric = %m.key, claim, "alert claim failed");
            }
        }
    }

    pub(crate) async fn emit(&self, event: TimelineEvent) {
        let event = match self.inner.store.append_event(&event).await {
            Ok(seq) => event.with_seq(seq),
            Err(error) => {
                tracing::warn!(%error, brand = %event.brand, kind = event.kind.name(), "timeline append failed");
                event
            }
        };
        self.announce(&event);
    }

    /// Tells the listeners about a stored event.
    pub(crate) fn announce(&self, event: &TimelineEvent) {
        for l in &self.inner.listeners {
            l.on_event(event);
        }
    }

    /// Releases claimed thresholds that usage is now under, emitting one `alert_resolved`
    /// per released claim.
    async fn resolve_alerts(
        &self,
        ctx: &BrandContext,
        m: &ResolvedMetric,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let brand = ctx.subscription.brand.as_str();
        let store = &self.inner.store;
        let key = CounterKey::new(brand, &m.key, ctx.period.key());
        let claimed = store.claimed_alerts(key).await?;
        if claimed.is_empty() {
            return Ok(());
        }
        let (used, limit) = match m.kind {
            MetricKind::Gauge => (store.gauge(brand, &m.key).await?, m.limit.included),
            _ => {
                let u = store.usage(key).await?;
                (
                    u.used,
                    m.limit.included.map(|i| i.saturating_add(u.topup_units)),
                )
            }
        };
        for threshold in claimed {
            let still = match limit {
                None => false,
                Some(l) if threshold == BLOCKED_CLAIM => used >= l,
                Some(l) => reached(used, l, threshold),
            };
            if still || !store.release_alert(key, threshold).await? {
                continue;
            }
            if threshold == BLOCKED_CLAIM {
                continue;
            }
            self.emit(TimelineEvent::new(
                brand,
                now,
                ctx.period.key(),
                Some(m.key.clone()),
                Severity::Info,
                EventKind::AlertResolved {
                    threshold,
                    used,
                    limit: limit.unwrap_or(0),
                },
            ))
            .await;
        }
        Ok(())
    }
}

/// Whether going from `before` to `after` crosses a threshold: only the lowest threshold not
/// yet reached at `before` needs checking (thresholds are increasing).
#[inline]
fn crosses_any(thresholds: &[Threshold], before: u64, after: u64, allowance: u64) -> bool {
    thresholds
        .iter()
        .find(|t| !reached(before, allowance, t.percent))
        .is_some_and(|t| reached(after, allowance, t.percent))
}

/// [`crosses_any`] over inline percents (`0` ends the list).
#[inline]
fn crosses_inline(
    percents: &[u16; INLINE_THRESHOLDS],
    before: u64,
    after: u64,
    allowance: u64,
) -> bool {
    percents
        .iter()
        .take_while(|p| **p > 0)
        .find(|p| !reached(before, allowance, **p))
        .is_some_and(|p| reached(after, allowance, *p))
}

/// The percents of `thresholds` inline, if they fit (catalog validation already keeps them
/// strictly increasing within 1..=1000, so `0` can end the list).
fn inline_percents(thresholds: &[Threshold]) -> Option<[u16; INLINE_THRESHOLDS]> {
    if thresholds.len() > INLINE_THRESHOLDS {
        return None;
    }
    let mut out = [0u16; INLINE_THRESHOLDS];
    for (slot, t) in out.iter_mut().zip(thresholds) {
        *slot = t.percent;
    }
    Some(out)
}

/// The verdict of an admitted consume: the overage units the store counted for it, priced
/// as the difference of the period's charge before and after (so the charges answered over
/// a period add up to the period's charge).
#[inline]
fn admitted_verdict(
    m: &ResolvedMetric,
    out: &crate::store::ConsumeOutcome,
    currency: crate::money::Currency,
) -> Verdict {
    if out.charged_units == 0 {
        return Verdict::Allowed;
    }
    let policy = &m.limit.overage;
    let over_before = out.overage_units.saturating_sub(out.charged_units);
    let period_charge = policy.charge(out.overage_units, currency);
    let charge_before = policy.charge(over_before, currency);
    Verdict::AllowedWithOverage(Box::new(Overage {
        overage_units: out.charged_units,
        charge: period_charge.saturating_sub(charge_before),
        period_overage_units: out.overage_units,
        period_charge,
    }))
}

fn validate_idempotency_key(key: &str) -> Result<()> {
    if key.is_empty()
        || key.len() > MAX_IDEMPOTENCY_KEY_LEN
        || !key.bytes().all(|b| b.is_ascii_graphic())
    {
        return Err(QuotaError::InvalidArgument(format!(
            "idempotency key must be 1 to {MAX_IDEMPOTENCY_KEY_LEN} visible ASCII characters"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod hot_path_tests {
    use super::*;

    #[test]
    fn packed_keys_match_exactly_like_strings() {
        let keys: Vec<String> = (0..=24)
            .flat_map(|len| {
                let base: String = "abcdefghijklmnopqrstuvwxyz".chars().take(len).collect();
                let mut variants = vec![base.clone()];
                for at in 0..len {
                    let mut b = base.clone().into_bytes();
                    b[at] = b'_';
                    variants.push(String::from_utf8(b).unwrap());
                }
                variants
            })
            .collect();
        for a in &keys {
            let pa = PackedKey::of(a);
            assert_eq!(pa.is_some(), (8..=16).contains(&a.len()), "{a}");
            for b in &keys {
                if let (Some(pa), Some(pb)) = (pa, PackedKey::of(b)) {
                    assert_eq!(pa == pb, a == b, "{a} vs {b}");
                }
            }
        }
    }

    #[test]
    fn inline_percents_cross_like_the_threshold_list() {
        let lists: [&[u16]; 4] = [
            &[50, 75, 90, 100],
            &[100],
            &[10, 20, 30, 40, 50, 60, 70, 80],
            &[],
        ];
        for percents in lists {
            let thresholds: Vec<Threshold> = percents
                .iter()
                .map(|p| Threshold::new(*p, crate::Severity::Info))
                .collect();
            let inline = inline_percents(&thresholds).unwrap();
            for allowance in [0, 1, 3, 7, 10, 100] {
                for before in 0..=12 {
                    for after in before..=12 {
                        assert_eq!(
                            crosses_inline(&inline, before, after, allowance),
                            crosses_any(&thresholds, before, after, allowance),
                            "{percents:?} {before}->{after} of {allowance}"
                        );
                    }
                }
            }
        }
        let nine: Vec<Threshold> = (1..=9)
            .map(|p| Threshold::new(p * 10, crate::Severity::Info))
            .collect();
        assert_eq!(inline_percents(&nine), None);
    }
}
