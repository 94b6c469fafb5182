//! Subscriptions through the guard: subscribe, change plan, read.

use crate::Store;
use crate::error::{QuotaError, Result};
use crate::ids::{validate_brand_id, validate_plan_id};
use crate::metric::MetricKind;
use crate::period::BillingPeriod;
use crate::report::{EventKind, TimelineEvent};
use crate::subscription::Subscription;
use crate::threshold::Severity;

use super::QuotaGuard;

impl<S: Store + ?Sized> QuotaGuard<S> {
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
}
