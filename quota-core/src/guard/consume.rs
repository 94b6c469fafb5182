//! Decisions: check, consume (fast and slow paths), release and gauges.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::decision::{Decision, Denial, Overage, Verdict};
use crate::domain::{add_units, bound_units};
use crate::error::{QuotaError, Result};
use crate::ids::MAX_IDEMPOTENCY_KEY_LEN;
use crate::metric::MetricKind;
use crate::store::{ConsumeOutcome, CounterKey, fingerprint};
use crate::{LimitState, Store};

use super::QuotaGuard;
use super::context::{BrandContext, KeyedRequest, ResolvedMetric};
use super::future::ConsumeFuture;
use super::gauges::gauge_decision;

impl<S: Store + ?Sized> QuotaGuard<S> {
    /// Would `quantity` more units be admitted? No side effect. A quantity above the
    /// metric's per-request ceiling is refused ([`QuotaError::QuantityTooLarge`]).
    pub async fn check(&self, brand: &str, metric: &str, quantity: u64) -> Result<Decision> {
        let now = self.now();
        let ctx = self.context(brand, now).await?;
        let index = ctx.metric_index(metric)?;
        let m = ctx
            .metrics
            .get(index)
            .ok_or_else(|| QuotaError::UnknownMetric(metric.to_owned()))?;
        m.check_quantity(quantity)?;
        let store = &self.inner.store;
        match m.kind {
            MetricKind::Gauge => {
                let level = store.gauge(brand, metric).await?;
                let admitted = add_units(level, quantity)
                    .is_some_and(|after| m.ceiling.is_none_or(|c| after <= c));
                let verdict = if admitted {
                    Verdict::Allowed
                } else {
                    self.denial(&ctx, index, level, quantity, now).await
                };
                Ok(gauge_decision(m, verdict, level))
            }
            _ => {
                let key = CounterKey::new(brand, metric, ctx.period.key());
                let usage = store.usage(key).await?;
                // What the store would do (see `UsageStore::consume`), without doing it.
                let allowance = m.included.map(|i| bound_units(i, usage.topup_units));
                let admitted = usage.admit(quantity, m.ceiling, m.free);
                let verdict = if let Some((after, charged)) = admitted {
                    let out = ConsumeOutcome::new(
                        true,
                        after,
                        usage.topup_units,
                        usage.overage_units.saturating_add(charged),
                        charged,
                    );
                    admitted_verdict(m, &out, self.inner.catalog.currency())
                } else {
                    self.denial(&ctx, index, usage.used, quantity, now).await
                };
                Ok(Decision {
                    verdict,
                    used: usage.used,
                    limit: allowance,
                    resets_at: Some(ctx.period.end),
                    period_start: Some(ctx.period.start),
                    replayed: false,
                    state: m.state(usage.used, usage.topup_units),
                })
            }
        }
    }

    /// Atomically checks and consumes `quantity` units.
    ///
    /// With an idempotency key, a retry of an admitted consume returns the first decision
    /// (`replayed`) and counts nothing; the key is bound to the request (metric and
    /// quantity): reused for another one, it is refused with
    /// [`QuotaError::IdempotencyKeyReused`] and nothing changes. Keys are per brand and
    /// remembered for the store's idempotency TTL (24 h by default). A denied consume does
    /// not use up its key. [`QuotaGuard::consume_scoped`] binds the key to a route too.
    ///
    /// A quantity above the metric's per-request ceiling is refused
    /// ([`QuotaError::QuantityTooLarge`]). Quantity 0 is a check that also reports usage.
    /// For gauges, consume raises the level (a seat taken) and [`QuotaGuard::release`]
    /// lowers it.
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
        match idempotency_key {
            None => {
                let now_us = self.inner.clock.now_micros();
                self.consume_at(brand, metric, quantity, None, now_us)
            }
            Some(key) => self.consume_scoped(brand, metric, quantity, key, ""),
        }
    }

    /// [`QuotaGuard::consume`] with an idempotency key bound to `scope` as well (the route
    /// or operation it was sent to, e.g. `POST /renders`): the same key sent to another
    /// scope is refused as reused.
    pub fn consume_scoped<'a>(
        &'a self,
        brand: &'a str,
        metric: &'a str,
        quantity: u64,
        idempotency_key: &'a str,
        scope: &str,
    ) -> ConsumeFuture<'a> {
        if let Err(e) = validate_idempotency_key(idempotency_key) {
            return ConsumeFuture::ready(Err(e));
        }
        let keyed = KeyedRequest {
            key: idempotency_key,
            fingerprint: fingerprint(metric, quantity, scope),
        };
        let now_us = self.inner.clock.now_micros();
        self.consume_at(brand, metric, quantity, Some(keyed), now_us)
    }

    /// With the brand's context cached: builds the request once and decides at once when
    /// the store is in-process, else returns one boxed store round trip. Without a fresh
    /// context (or for a gauge) it takes the slow path, which loads the context first.
    #[inline]
    pub(crate) fn consume_at<'a>(
        &'a self,
        brand: &'a str,
        metric: &'a str,
        quantity: u64,
        keyed: Option<KeyedRequest<'a>>,
        now_us: i64,
    ) -> ConsumeFuture<'a> {
        let slow = || {
            let now = crate::clock::from_micros(now_us);
            ConsumeFuture::boxed(self.consume_slow(brand, metric, quantity, keyed, now))
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
        if let Err(e) = m.check_quantity(quantity) {
            return ConsumeFuture::ready(Err(e));
        }
        let req = ctx.counter_request(m, brand, metric, quantity, keyed, now_us);
        let store = &self.inner.store;
        match store.in_process() {
            Some(local) => match m.consume_now(local, &req) {
                Ok(out) => self.finish_counter(ctx, index, out, quantity, keyed, now_us),
                Err(e) => ConsumeFuture::ready(Err(e.into())),
            },
            // One round trip with the request built above: the context and the metric are
            // looked up once.
            None => {
                let ctx = Arc::clone(ctx);
                ConsumeFuture::boxed(async move {
                    let out = store.consume(&req).await?;
                    self.finish_counter(&ctx, index, out, quantity, keyed, now_us)
                        .await
                })
            }
        }
    }

    pub(crate) async fn consume_slow(
        &self,
        brand: &str,
        metric: &str,
        quantity: u64,
        keyed: Option<KeyedRequest<'_>>,
        now: DateTime<Utc>,
    ) -> Result<Decision> {
        let ctx = self.context(brand, now).await?;
        let index = ctx.metric_index(metric)?;
        let Some(m) = ctx.metrics.get(index) else {
            return Err(QuotaError::UnknownMetric(metric.to_owned()));
        };
        m.check_quantity(quantity)?;
        if m.kind == MetricKind::Gauge {
            return self.consume_gauge(&ctx, index, quantity, now).await;
        }
        let now_us = now.timestamp_micros();
        let req = ctx.counter_request(m, brand, metric, quantity, keyed, now_us);
        let store = &self.inner.store;
        let out = match store.in_process() {
            Some(local) => m.consume_now(local, &req)?,
            None => store.consume(&req).await?,
        };
        self.finish_counter(&ctx, index, out, quantity, keyed, now_us)
            .await
    }

    /// Turns a store outcome into a decision; the work that follows a denial or a crossing
    /// (rare: the suggested plan, alerts) runs in a boxed future, the common case completes
    /// at once.
    #[inline(always)]
    pub(crate) fn finish_counter(
        &self,
        ctx: &Arc<BrandContext>,
        index: usize,
        out: ConsumeOutcome,
        quantity: u64,
        keyed: Option<KeyedRequest<'_>>,
        now_us: i64,
    ) -> ConsumeFuture<'_> {
        let Some(m) = ctx.metrics.get(index) else {
            return ConsumeFuture::ready(Err(QuotaError::InvalidArgument(
                "metric index out of range".into(),
            )));
        };
        if out.key_reused {
            return ConsumeFuture::ready(Err(QuotaError::IdempotencyKeyReused {
                key: keyed.map(|k| k.key.to_owned()).unwrap_or_default(),
            }));
        }
        let allowance = m.included.map(|i| bound_units(i, out.topup_units));
        let resets_at = Some(ctx.period.end);
        let period_start = Some(ctx.period.start);
        if !out.admitted {
            let ctx = Arc::clone(ctx);
            return ConsumeFuture::boxed(async move {
                let now = crate::clock::from_micros(now_us);
                let verdict = self.denial(&ctx, index, out.used, quantity, now).await;
                if let (Some(m), Some(limit)) = (ctx.metrics.get(index), allowance) {
                    self.record_denial(&ctx, m, &out, quantity, limit, now)
                        .await;
                }
                let state = ctx
                    .metrics
                    .get(index)
                    .map_or(LimitState::Within, |m| m.state(out.used, out.topup_units));
                Ok(Decision {
                    verdict,
                    used: out.used,
                    limit: allowance,
                    resets_at,
                    period_start,
                    replayed: false,
                    state,
                })
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
            state: m.state(out.used, out.topup_units),
        };
        match allowance {
            Some(limit) if !out.replayed && m.crosses_any(before, out.used, limit) => {
                let ctx = Arc::clone(ctx);
                ConsumeFuture::boxed(async move {
                    if let Some(m) = ctx.metrics.get(index) {
                        let now = crate::clock::from_micros(now_us);
                        let state = m.state(out.used, out.topup_units);
                        self.emit_crossings(&ctx, m, before, out.used, limit, state, now)
                            .await;
                    }
                    Ok(decision)
                })
            }
            _ => ConsumeFuture::ready(Ok(decision)),
        }
    }

    /// The verdict of a request of `requested` units refused at `used`, with the plan the
    /// recommender suggests for the brand's projected usage including this request.
    pub(crate) async fn denial(
        &self,
        ctx: &BrandContext,
        index: usize,
        used: u64,
        requested: u64,
        now: DateTime<Utc>,
    ) -> Verdict {
        let needed = used.saturating_add(requested);
        Verdict::Denied(Box::new(Denial {
            requested,
            suggested_plan: self.suggested_plan(ctx, index, needed, now).await,
        }))
    }
}

/// The verdict of an admitted consume: the overage units the store counted for it, priced
/// as the difference of the period's charge before and after (so the charges answered over
/// a period add up to the period's charge).
#[inline]
pub(crate) fn admitted_verdict(
    m: &ResolvedMetric,
    out: &ConsumeOutcome,
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

pub(crate) fn validate_idempotency_key(key: &str) -> Result<()> {
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
