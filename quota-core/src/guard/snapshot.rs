//! The snapshot the cockpit and share links show.

use crate::error::{QuotaError, Result};
use crate::metric::MetricKind;
use crate::money::Money;
use crate::overage::overage_units;
use crate::projection::{ProjectionInput, cumulative_curve, project};
use crate::recommendation::recommend;
use crate::snapshot::{MetricSnapshot, PlanCard, Snapshot};
use crate::store::{CounterKey, Store, Usage};
use crate::threshold::{badge, percent_of, reached};
use crate::timeline::TimelineEvent;

use super::{QuotaGuard, SNAPSHOT_TIMELINE_LEN, SNAPSHOT_TOPUPS};

impl<S: Store + ?Sized> QuotaGuard<S> {
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
}
