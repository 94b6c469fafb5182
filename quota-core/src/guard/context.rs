//! What the guard keeps of a brand between store reads, and how it is loaded.

use std::sync::{Arc, OnceLock};

use arrayvec::ArrayVec;
use chrono::{DateTime, Utc};

use crate::domain::{MAX_UNITS, bound_units};
use crate::error::{QuotaError, Result};
use crate::ids::validate_brand_id;
use crate::metric::MetricKind;
use crate::period::{BillingPeriod, PeriodKey};
use crate::plan::Limit;
use crate::store::{ConsumeOutcome, ConsumeRequest, CounterKey, StoreResult};
use crate::subscription::Subscription;
use crate::threshold::{Threshold, reached};
use crate::{ConsumeNow, CounterSlot, LimitState, Store};

use super::QuotaGuard;

/// What the guard knows of a brand between store reads.
///
/// `repr(C, align(64))` keeps what every consume reads in its first lines: the freshness
/// bounds, period bounds and key, retention (first line), then the first metrics inline,
/// each led by its hot fields (see [`ResolvedMetric`]); the subscription, which only the
/// slow paths read, comes last. Every line a consume reads is at a fixed offset from the
/// context: none waits on a pointer read from another.
#[derive(Debug)]
#[repr(C, align(64))]
pub(crate) struct BrandContext {
    // Precomputed so the hot path does integer compares instead of calendar math.
    pub(crate) start_us: i64,
    /// The cache entry is used while `start_us <= now < fresh_until_us`.
    pub(crate) fresh_until_us: i64,
    pub(crate) period: BillingPeriod,
    pub(crate) retain_until: DateTime<Utc>,
    pub(crate) key: PeriodKey,
    pub(crate) last_day: i64,
    pub(crate) metrics: Metrics,
    /// Its `plan` is the catalog plan the metrics were resolved from (the plan itself is read
    /// from the catalog: no per-brand copy).
    pub(crate) subscription: Subscription,
    /// Projected month-end units per metric (same order as `metrics`), as the last snapshot
    /// or denial computed them while this context was fresh: a client retrying denied
    /// requests in a loop costs one projection per context, not one per request.
    pub(crate) projected: std::sync::Mutex<Option<Vec<u64>>>,
}

/// Metrics kept inline in a brand's context; the others (a catalog rarely has more) follow
/// a pointer.
pub(crate) const INLINE_METRICS: usize = 3;

/// A context's metrics in catalog order: the first [`INLINE_METRICS`] inline.
#[derive(Debug)]
pub(crate) struct Metrics {
    first: ArrayVec<ResolvedMetric, INLINE_METRICS>,
    rest: Box<[ResolvedMetric]>,
}

impl Metrics {
    fn new(all: impl IntoIterator<Item = ResolvedMetric>) -> Self {
        let mut first = ArrayVec::new();
        let mut rest = Vec::new();
        for m in all {
            if let Err(full) = first.try_push(m) {
                rest.push(full.element());
            }
        }
        Metrics {
            first,
            rest: rest.into_boxed_slice(),
        }
    }

    #[inline]
    pub(crate) fn get(&self, index: usize) -> Option<&ResolvedMetric> {
        match self.first.get(index) {
            Some(m) => Some(m),
            None => self.rest.get(index.checked_sub(self.first.len())?),
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.first.len().saturating_add(self.rest.len())
    }

    /// The index of the metric `key`: keys of 8 to 16 bytes compare packed, others as
    /// strings.
    #[inline]
    pub(crate) fn position(&self, key: &str) -> Option<usize> {
        let packed = PackedKey::of(key);
        let matches = |m: &ResolvedMetric| match (m.packed, packed) {
            (Some(a), Some(b)) => a == b,
            (None, None) => m.key == key,
            _ => false,
        };
        if let Some(i) = self.first.iter().position(matches) {
            return Some(i);
        }
        let i = self.rest.iter().position(matches)?;
        i.checked_add(self.first.len())
    }

    #[inline]
    pub(crate) fn iter(&self) -> impl Iterator<Item = &ResolvedMetric> {
        self.first.iter().chain(self.rest.iter())
    }
}

impl<'a> IntoIterator for &'a Metrics {
    type Item = &'a ResolvedMetric;
    type IntoIter = std::iter::Chain<
        std::slice::Iter<'a, ResolvedMetric>,
        std::slice::Iter<'a, ResolvedMetric>,
    >;

    fn into_iter(self) -> Self::IntoIter {
        self.first.iter().chain(self.rest.iter())
    }
}

/// An idempotency key and the fingerprint of the request it came with.
#[derive(Clone, Copy, Debug)]
pub(crate) struct KeyedRequest<'a> {
    pub(crate) key: &'a str,
    pub(crate) fingerprint: u64,
}

pub(crate) const DAY_US: i64 = 86_400_000_000;

pub(crate) fn unknown_metric(key: &str) -> QuotaError {
    QuotaError::UnknownMetric(key.chars().take(80).collect())
}

/// A metric key of 8 to 16 bytes as its first and last 8 bytes (overlapping) and its length:
/// the hot path matches the caller's key against it without following a pointer or calling
/// `memcmp`. Other lengths compare as strings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct PackedKey(u64, u64, std::num::NonZeroU32);

impl PackedKey {
    #[inline]
    pub(crate) fn of(key: &str) -> Option<Self> {
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
pub(crate) const INLINE_THRESHOLDS: usize = 8;

/// A catalog metric resolved for one brand's plan and period.
///
/// `repr(C, align(64))` lays it out for the hot path: everything a consume reads (key
/// match, kind, per-request ceiling, the request's bounds, the allowance, threshold
/// percents, the counter slot) fills its first two cache lines; the rest only the slow
/// paths read.
#[derive(Debug)]
#[repr(C, align(64))]
pub(crate) struct ResolvedMetric {
    /// `key` packed, when its length allows (8 to 16 bytes: nearly always).
    pub(crate) packed: Option<PackedKey>,
    /// Ascending threshold percents, `0` past the last one, when `percents_inline`.
    pub(crate) percents: [u16; INLINE_THRESHOLDS],
    pub(crate) kind: MetricKind,
    /// `limit.overage.charges()`, computed once.
    pub(crate) charges: bool,
    /// Whether `percents` holds every threshold (else the list is read).
    pub(crate) percents_inline: bool,
    /// The catalog's per-request ceiling of the metric.
    pub(crate) max_per_request: u64,
    pub(crate) ceiling: Option<u64>,
    /// `included + grace`: units past it (and the top-ups) are billed; `None` when the
    /// policy never bills (unlimited, or blocked at the ceiling).
    pub(crate) free: Option<u64>,
    /// `limit.included`.
    pub(crate) included: Option<u64>,
    /// The in-process store's handle on this metric's counter of the context's period.
    pub(crate) slot: SlotCache,
    /// `limit.grace_units()`, computed once.
    pub(crate) grace: u64,
    pub(crate) key: String,
    pub(crate) limit: Limit,
    pub(crate) thresholds: Vec<Threshold>,
}

/// The counter slot of a metric (see [`ConsumeNow::counter_slot`]), asked of the store on
/// the first consume without an idempotency key and kept for the context's life (the
/// context is per brand and period, so the slot is always the same counter's).
#[derive(Default)]
pub(crate) struct SlotCache(OnceLock<Option<Arc<dyn CounterSlot>>>);

impl std::fmt::Debug for SlotCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = match self.0.get() {
            None => "not asked",
            Some(None) => "none",
            Some(Some(_)) => "held",
        };
        f.debug_tuple("SlotCache").field(&state).finish()
    }
}

impl ResolvedMetric {
    /// `local.consume_now(req)`, through the counter's slot when the request has no
    /// idempotency key and the store gives slots (the counter is not looked up again).
    #[inline(always)]
    pub(crate) fn consume_now(
        &self,
        local: &dyn ConsumeNow,
        req: &ConsumeRequest<'_>,
    ) -> StoreResult<ConsumeOutcome> {
        if req.idempotency_key.is_none() {
            let slot = self.slot.0.get_or_init(|| local.counter_slot(req.key));
            if let Some(out) = slot.as_ref().and_then(|s| s.consume(req)) {
                return Ok(out);
            }
        }
        local.consume_now(req)
    }

    /// Refuses a quantity above the metric's per-request ceiling.
    #[inline]
    pub(crate) fn check_quantity(&self, quantity: u64) -> Result<()> {
        if quantity > self.max_per_request {
            return Err(QuotaError::QuantityTooLarge {
                metric: self.key.clone(),
                quantity,
                max: self.max_per_request,
            });
        }
        Ok(())
    }

    /// The most usage admitted with `topup_units` completed (the store's bound).
    pub(crate) fn ceiling_with(&self, topup_units: u64) -> u64 {
        self.ceiling
            .map_or(MAX_UNITS, |c| bound_units(c, topup_units))
    }

    /// Where `used` stands with `topup_units` completed.
    pub(crate) fn state(&self, used: u64, topup_units: u64) -> LimitState {
        let allowance = self.included.map(|i| bound_units(i, topup_units));
        LimitState::of(
            used,
            allowance,
            Some(self.ceiling_with(topup_units)),
            self.charges,
        )
    }

    /// [`crosses_any`] on the inline percents when there are.
    #[inline]
    pub(crate) fn crosses_any(&self, before: u64, after: u64, allowance: u64) -> bool {
        if self.percents_inline {
            crosses_inline(&self.percents, before, after, allowance)
        } else {
            crosses_any(&self.thresholds, before, after, allowance)
        }
    }
}

impl BrandContext {
    pub(crate) fn metric(&self, key: &str) -> Result<&ResolvedMetric> {
        let index = self.metric_index(key)?;
        self.metrics.get(index).ok_or_else(|| unknown_metric(key))
    }

    #[inline]
    pub(crate) fn metric_index(&self, key: &str) -> Result<usize> {
        self.metrics
            .position(key)
            .ok_or_else(|| unknown_metric(key))
    }

    #[inline]
    pub(crate) fn counter_request<'a>(
        &self,
        m: &ResolvedMetric,
        brand: &'a str,
        metric: &'a str,
        quantity: u64,
        keyed: Option<KeyedRequest<'a>>,
        now_us: i64,
    ) -> ConsumeRequest<'a> {
        ConsumeRequest {
            key: CounterKey::new(brand, metric, self.key),
            quantity,
            ceiling: m.ceiling,
            free_units: m.free,
            idempotency_key: keyed.map(|k| k.key),
            fingerprint: keyed.map_or(0, |k| k.fingerprint),
            day: self.day_of(now_us),
            at_us: now_us,
            retain_until: self.retain_until,
        }
    }

    #[inline]
    pub(crate) fn day_of(&self, now_us: i64) -> u16 {
        // `max`/`min` rather than `clamp`: `clamp` asserts its bounds, which stops it inlining here.
        let day = (now_us.saturating_sub(self.start_us) / DAY_US)
            .max(0)
            .min(self.last_day);
        u16::try_from(day).unwrap_or(0)
    }
}

impl<S: Store + ?Sized> QuotaGuard<S> {
    pub(crate) async fn context(
        &self,
        brand: &str,
        now: DateTime<Utc>,
    ) -> Result<Arc<BrandContext>> {
        let now_us = now.timestamp_micros();
        if let Some(ctx) = self.inner.cache.get(brand)
            && ctx.start_us <= now_us
            && now_us < ctx.fresh_until_us
        {
            return Ok(Arc::clone(ctx.value()));
        }
        Box::pin(self.load_context(brand, now)).await
    }

    /// Reads the subscription and resolves the plan (cache miss, period change, expiry).
    pub(crate) async fn load_context(
        &self,
        brand: &str,
        now: DateTime<Utc>,
    ) -> Result<Arc<BrandContext>> {
        validate_brand_id(brand)?;
        let sub = self
            .inner
            .store
            .subscription(brand)
            .await?
            .ok_or_else(|| QuotaError::UnknownBrand(brand.to_owned()))?;
        let ctx = Arc::new(self.resolve(sub, now)?);
        self.inner.cache.insert(brand.into(), Arc::clone(&ctx));
        Ok(ctx)
    }

    pub(crate) fn resolve(
        &self,
        subscription: Subscription,
        now: DateTime<Utc>,
    ) -> Result<BrandContext> {
        let catalog = &self.inner.catalog;
        let plan = catalog
            .plan(&subscription.plan)
            .ok_or_else(|| QuotaError::UnknownPlan(subscription.plan.clone()))?;
        let metrics = Metrics::new(catalog.metrics().iter().filter_map(|def| {
            let limit = subscription
                .overrides
                .get(&def.key)
                .or_else(|| plan.limit(&def.key))?
                .clone();
            let thresholds = catalog.thresholds_for(plan, &limit).to_vec();
            let percents = inline_percents(&thresholds);
            Some(ResolvedMetric {
                packed: PackedKey::of(&def.key),
                percents: percents.unwrap_or_default(),
                charges: limit.overage.charges(),
                percents_inline: percents.is_some(),
                ceiling: limit.ceiling_without_topups(),
                kind: def.kind,
                slot: SlotCache::default(),
                max_per_request: def.max_per_request,
                free: limit
                    .included
                    .filter(|_| limit.overage.charges())
                    .map(|i| i.saturating_add(limit.grace_units())),
                included: limit.included,
                grace: limit.grace_units(),
                key: def.key.clone(),
                limit,
                thresholds,
            })
        }));
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
            projected: std::sync::Mutex::new(None),
        })
    }
}

/// Whether going from `before` to `after` crosses a threshold: only the lowest threshold not
/// yet reached at `before` needs checking (thresholds are increasing).
#[inline]
pub(crate) fn crosses_any(
    thresholds: &[Threshold],
    before: u64,
    after: u64,
    allowance: u64,
) -> bool {
    thresholds
        .iter()
        .find(|t| !reached(before, allowance, t.percent))
        .is_some_and(|t| reached(after, allowance, t.percent))
}

/// [`crosses_any`] over inline percents (`0` ends the list).
#[inline]
pub(crate) fn crosses_inline(
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
pub(crate) fn inline_percents(thresholds: &[Threshold]) -> Option<[u16; INLINE_THRESHOLDS]> {
    if thresholds.len() > INLINE_THRESHOLDS {
        return None;
    }
    let mut out = [0u16; INLINE_THRESHOLDS];
    for (slot, t) in out.iter_mut().zip(thresholds) {
        *slot = t.percent;
    }
    Some(out)
}

#[cfg(test)]
mod hot_path_tests {
    use super::*;

    #[test]
    pub(crate) fn packed_keys_match_exactly_like_strings() {
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
    pub(crate) fn inline_percents_cross_like_the_threshold_list() {
        let lists: [&[u16]; 4] = [
            &[50, 75, 90, 100],
            &[100],
            &[10, 20, 30, 40, 50, 60, 70, 80],
            &[],
        ];
        for percents in lists {
            let thresholds: Vec<Threshold> = percents
                .iter()
                .map(|p| Threshold::new(*p, crate::threshold::Severity::Info))
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
            .map(|p| Threshold::new(p * 10, crate::threshold::Severity::Info))
            .collect();
        assert_eq!(inline_percents(&nine), None);
    }
}
