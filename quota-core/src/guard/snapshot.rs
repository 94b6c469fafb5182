//! The snapshot the cockpit and share links show.

use chrono::{DateTime, Utc};

use crate::domain::bound_units;
use crate::error::{QuotaError, Result};
use crate::metric::MetricKind;
use crate::money::Money;
use crate::period::{BillingPeriod, PeriodKey};
use crate::report::{
    EventKind, MetricSnapshot, PlanCard, Projection, ProjectionInput, ResetPoint,
    SNAPSHOT_TIMELINE_LEN, SNAPSHOT_TOPUPS, Snapshot, TimelineEvent, cumulative_curve, project,
    recommend, recommend_for_band,
};
use crate::store::{CounterKey, Usage};
use crate::threshold::{badge, percent_of};
use crate::{LimitState, Store};

use super::QuotaGuard;
use super::context::BrandContext;

/// One metric of a brand as read for a snapshot or a suggestion.
pub(crate) struct Reading {
    pub(crate) usage: Usage,
    pub(crate) daily: Vec<u64>,
    /// Included units plus top-ups; `None` when unlimited.
    pub(crate) allowance: Option<u64>,
    pub(crate) projection: Option<Projection>,
}

impl Reading {
    /// Projected units at period end, the median (the level of a gauge).
    pub(crate) fn projected(&self) -> u64 {
        self.projection
            .as_ref()
            .map_or(self.usage.used, |p| p.projected_used)
    }

    /// The 90th percentile of the units at period end (the level of a gauge).
    pub(crate) fn projected_high(&self) -> u64 {
        self.projection
            .as_ref()
            .map_or(self.usage.used, |p| p.projected_high)
    }
}

impl<S: Store + ?Sized> QuotaGuard<S> {
    /// Everything the cockpit shows for a brand.
    ///
    /// The overage so far is what was billed as the units were admitted (the store's
    /// overage units): a top-up bought later covers future usage and does not lower it. The
    /// estimate adds the projected units past the allowance to it.
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
        let timeline: Vec<TimelineEvent> = store
            .events(brand, SNAPSHOT_TIMELINE_LEN)
            .await?
            .into_iter()
            .filter(|e| e.period == pkey)
            .collect();
        let readings = self.readings(&ctx, now, &timeline).await?;
        self.remember_projection(&ctx, &readings);
        let high: Vec<(&str, u64)> = ctx
            .metrics
            .iter()
            .zip(&readings)
            .map(|(m, r)| (m.key.as_str(), r.projected_high()))
            .collect();

        let mut metrics = Vec::with_capacity(ctx.metrics.len());
        let mut overage_so_far = Money::zero(currency);
        let mut estimated_overage = Money::zero(currency);
        for (m, r) in ctx.metrics.iter().zip(readings) {
            let name = catalog
                .metric(&m.key)
                .map_or_else(|| m.key.clone(), |d| d.name.clone());
            let usage = r.usage;
            let policy = &m.limit.overage;
            let over_charge = policy.charge(usage.overage_units, currency);
            overage_so_far = overage_so_far.saturating_add(over_charge);
            estimated_overage = estimated_overage.saturating_add(
                r.projection
                    .as_ref()
                    .map_or(over_charge, |p| p.projected_overage_cost),
            );
            let state = m.state(usage.used, usage.topup_units);
            metrics.push(MetricSnapshot {
                metric: m.key.clone(),
                name,
                kind: m.kind,
                used: usage.used,
                included: m.limit.included,
                topup_units: usage.topup_units,
                limit: r.allowance,
                remaining: r.allowance.map(|a| a.saturating_sub(usage.used)),
                percent: r.allowance.map(|a| percent_of(usage.used, a)),
                badge: r
                    .allowance
                    .and_then(|a| badge(&m.thresholds, usage.used, a))
                    .map(|s| s.honest(state)),
                blocked: r.allowance.is_some() && state == LimitState::Blocked,
                overage_units: usage.overage_units,
                overage_charge: over_charge,
                accepts_topups: m.kind == MetricKind::Counter && m.limit.accepts_topups(),
                projection: r.projection,
                curve: if m.kind == MetricKind::Counter {
                    cumulative_curve(&r.daily, days_elapsed)
                } else {
                    Vec::new()
                },
            });
        }
        let projected: Vec<(&str, u64)> = ctx
            .metrics
            .iter()
            .zip(&metrics)
            .map(|(m, s)| {
                let units = s.projection.as_ref().map_or(s.used, |p| p.projected_used);
                (m.key.as_str(), units)
            })
            .collect();
        // The plan for the median; a risk note when it would block at the 90th percentile.
        let recommendation = recommend_for_band(
            catalog,
            &ctx.subscription.plan,
            Some(&ctx.subscription.overrides),
            &projected,
            &high,
        );
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

    /// Reads and projects every metric of the brand's plan, in the context's order. The
    /// previous period's daily usage (kept by the stores for the retention period) is a
    /// prior early in the period; a reset in `timeline` (the brand's latest events, newest
    /// first) tells the projection which units a reset set.
    pub(crate) async fn readings(
        &self,
        ctx: &BrandContext,
        now: DateTime<Utc>,
        timeline: &[TimelineEvent],
    ) -> Result<Vec<Reading>> {
        let store = &self.inner.store;
        let brand = ctx.subscription.brand.as_str();
        let currency = self.inner.catalog.currency();
        let previous_period = ctx
            .period
            .start
            .checked_sub_signed(chrono::Duration::microseconds(1))
            .map(|t| BillingPeriod::containing(ctx.subscription.anchor, t).key());
        let mut out = Vec::with_capacity(ctx.metrics.len());
        for m in &ctx.metrics {
            let (usage, daily, previous) = match m.kind {
                MetricKind::Gauge => (
                    Usage::new(store.gauge(brand, &m.key).await?, 0, 0),
                    Vec::new(),
                    Vec::new(),
                ),
                _ => {
                    let key = CounterKey::new(brand, &m.key, ctx.period.key());
                    let previous = match previous_period {
                        Some(p) => store.daily_usage(CounterKey::new(brand, &m.key, p)).await?,
                        None => Vec::new(),
                    };
                    (
                        store.usage(key).await?,
                        store.daily_usage(key).await?,
                        previous,
                    )
                }
            };
            let allowance = m.included.map(|i| bound_units(i, usage.topup_units));
            let projection = (m.kind == MetricKind::Counter).then(|| {
                let mut p = project(&ProjectionInput {
                    period: ctx.period,
                    now,
                    daily: &daily,
                    previous: &previous,
                    used: usage.used,
                    allowance,
                    limit: &m.limit,
                    currency,
                    reset: latest_reset(timeline, ctx.period.key(), &m.key),
                });
                // Priced like the store bills: the overage already counted, plus the
                // projected units that neither the free units, the top-ups nor the overage
                // billed so far pay for.
                let future = m.free.map_or(0, |f| usage.billed_past(f, p.projected_used));
                let units = usage.overage_units.saturating_add(future);
                p.projected_overage_cost = m.limit.overage.charge(units, currency);
                p
            });
            out.push(Reading {
                usage,
                daily,
                allowance,
                projection,
            });
        }
        Ok(out)
    }

    fn remember_projection(&self, ctx: &BrandContext, readings: &[Reading]) {
        let units = readings.iter().map(Reading::projected).collect();
        if let Ok(mut slot) = ctx.projected.lock() {
            *slot = Some(units);
        }
    }

    /// The plan to suggest when a request of metric `index` that needs `needed` units in
    /// all is refused: the recommender's choice (as on the cockpit) for the brand's
    /// projected usage with that metric raised to `needed`; `None` when it is the current
    /// plan or when no plan fits.
    pub(crate) async fn suggested_plan(
        &self,
        ctx: &BrandContext,
        index: usize,
        needed: u64,
        now: DateTime<Utc>,
    ) -> Option<String> {
        let cached = ctx.projected.lock().ok().and_then(|p| p.clone());
        let mut units = match cached {
            Some(units) => units,
            None => {
                let brand = ctx.subscription.brand.as_str();
                let timeline = self
                    .inner
                    .store
                    .events(brand, SNAPSHOT_TIMELINE_LEN)
                    .await
                    .unwrap_or_default();
                let readings = self.readings(ctx, now, &timeline).await.ok()?;
                self.remember_projection(ctx, &readings);
                readings.iter().map(Reading::projected).collect()
            }
        };
        if let Some(u) = units.get_mut(index) {
            *u = (*u).max(needed);
        }
        let projected: Vec<(&str, u64)> = ctx
            .metrics
            .iter()
            .map(|m| m.key.as_str())
            .zip(units)
            .collect();
        let r = recommend(
            &self.inner.catalog,
            &ctx.subscription.plan,
            Some(&ctx.subscription.overrides),
            &projected,
        )?;
        r.recommended
            .map(|p| p.plan)
            .filter(|p| *p != ctx.subscription.plan)
    }
}

/// The latest reset of `metric` in `period` among `timeline` (newest first): a reset of that
/// metric or of all metrics, with the level it set (events without one are skipped).
fn latest_reset(timeline: &[TimelineEvent], period: PeriodKey, metric: &str) -> Option<ResetPoint> {
    timeline
        .iter()
        .filter(|e| e.period == period)
        .find_map(|e| match &e.kind {
            EventKind::PeriodReset {
                level: Some(level), ..
            } if e.metric.as_deref().is_none_or(|m| m == metric) => Some(ResetPoint {
                at: e.at,
                level: *level,
            }),
            _ => None,
        })
}
