//! Top-ups through the guard: start, complete, fail or cancel, read.

use std::sync::atomic::Ordering;

use chrono::{DateTime, Utc};

use crate::Store;
use crate::domain::MAX_TOPUP_UNITS;
use crate::error::{QuotaError, Result};
use crate::ids::validate_brand_id;
use crate::metric::MetricKind;
use crate::report::{EventKind, TimelineEvent};
use crate::threshold::Severity;
use crate::topup::{TopUpStatus, UsageTopUp};

use super::QuotaGuard;

impl<S: Store + ?Sized> QuotaGuard<S> {
    // ---- top-ups -------------------------------------------------------------------------

    /// Starts a top-up of `units` for the current period (pending until paid, until the
    /// period ends): 1 to the metric's `maxTopupUnits` (the per-checkout bound of the
    /// catalog, at most [`MAX_TOPUP_UNITS`]).
    pub async fn start_topup(&self, brand: &str, metric: &str, units: u64) -> Result<UsageTopUp> {
        self.start_topup_expiring(brand, metric, units, None).await
    }

    /// [`QuotaGuard::start_topup`] whose pending top-up expires `ttl` after now (or at the
    /// period's end, whichever comes first): every store then refuses to complete it past
    /// that instant (it becomes `expired`), so a checkout left open cannot be paid later.
    pub async fn start_topup_expiring(
        &self,
        brand: &str,
        metric: &str,
        units: u64,
        ttl: Option<chrono::Duration>,
    ) -> Result<UsageTopUp> {
        let max = self
            .catalog()
            .metric(metric)
            .map_or(MAX_TOPUP_UNITS, |m| m.max_topup_units);
        if units > max {
            return Err(QuotaError::QuantityTooLarge {
                metric: metric.to_owned(),
                quantity: units,
                max,
            });
        }
        let now = self.now();
        let mut topup = self.new_topup(brand, metric, units, now).await?;
        if let Some(deadline) = ttl.and_then(|ttl| now.checked_add_signed(ttl)) {
            topup.expires_at = topup.expires_at.min(deadline);
        }
        self.inner.store.insert_topup(&topup).await?;
        Ok(topup)
    }

    /// A pending top-up of the current period, checked but not stored.
    pub(crate) async fn new_topup(
        &self,
        brand: &str,
        metric: &str,
        units: u64,
        now: DateTime<Utc>,
    ) -> Result<UsageTopUp> {
        if units == 0 {
            return Err(QuotaError::InvalidArgument(
                "top-up units must be at least 1".into(),
            ));
        }
        if units > MAX_TOPUP_UNITS {
            return Err(QuotaError::QuantityTooLarge {
                metric: metric.to_owned(),
                quantity: units,
                max: MAX_TOPUP_UNITS,
            });
        }
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
        Ok(UsageTopUp::pending(
            id,
            brand,
            metric,
            units,
            ctx.period.key(),
            now,
            ctx.period.end,
        ))
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
            if ctx.period.key() == t.period
                && let Ok(m) = ctx.metric(&t.metric)
            {
                self.resolve_alerts(&ctx, m, now).await?;
            }
        }
        Ok(tr.topup)
    }

    /// Marks a top-up failed (the payment did not go through).
    pub async fn fail_topup(&self, id: &str) -> Result<UsageTopUp> {
        Ok(self
            .transition(id, TopUpStatus::Failed, self.now())
            .await?
            .topup)
    }

    /// Marks a top-up cancelled (the buyer left the checkout).
    pub async fn cancel_topup(&self, id: &str) -> Result<UsageTopUp> {
        Ok(self
            .transition(id, TopUpStatus::Cancelled, self.now())
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

    /// A brand's `limit` newest top-ups, newest first (expired pending ones shown as expired):
    /// one page of history, bounded however many checkouts the brand started.
    pub async fn recent_topups(&self, brand: &str, limit: usize) -> Result<Vec<UsageTopUp>> {
        validate_brand_id(brand)?;
        let now = self.now();
        let mut list = self.inner.store.recent_topups(brand, limit).await?;
        for t in &mut list {
            t.status = t.status_at(now);
        }
        Ok(list)
    }

    pub(crate) async fn transition(
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
}
