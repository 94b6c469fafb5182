//! The support reset of the runbook (`quota reset --brand --metric --target [--topup]`):
//! clear one metric's usage of the current period, write one usage point at a target % of
//! the plan's included units, and optionally add a completed top-up.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::Store;
use crate::domain::{MAX_TOPUP_UNITS, MAX_UNITS};
use crate::error::{QuotaError, Result};
use crate::guard::QuotaGuard;
use crate::metric::MetricKind;
use crate::period::{BillingPeriod, PeriodKey};
use crate::report::{EventKind, TimelineEvent};
use crate::store::{CounterKey, CounterReset};
use crate::threshold::Severity;
use crate::topup::{TopUpStatus, UsageTopUp};

/// Highest accepted target, in percent of the included units.
pub const MAX_TARGET_PERCENT: u16 = 1000;

/// What to reset.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ResetRequest {
    /// The brand.
    pub brand: String,
    /// The metric (a counter).
    pub metric: String,
    /// Target usage in percent of the plan's included units (0 to 1000).
    pub target_percent: u16,
    /// Units of a completed top-up to add, if any.
    pub topup_units: Option<u64>,
}

impl ResetRequest {
    /// A reset of `metric` to `target_percent` % of its included units.
    pub fn new(brand: impl Into<String>, metric: impl Into<String>, target_percent: u16) -> Self {
        ResetRequest {
            brand: brand.into(),
            metric: metric.into(),
            target_percent,
            topup_units: None,
        }
    }

    /// Adds a completed top-up of `units`.
    #[must_use]
    pub fn with_topup(mut self, units: u64) -> Self {
        self.topup_units = Some(units);
        self
    }
}

/// What a reset will do (the `--dry-run` output) or did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ResetPlan {
    /// The brand.
    pub brand: String,
    /// The metric.
    pub metric: String,
    /// The brand's plan.
    pub plan: String,
    /// The period reset.
    pub period: BillingPeriod,
    /// Units the plan includes.
    pub included: u64,
    /// Usage before the reset.
    pub used_before: u64,
    /// Completed top-up units of the period before the reset.
    pub topup_units_before: u64,
    /// Target in percent of `included`.
    pub target_percent: u16,
    /// The usage point written: `included * target% / 100`, rounded.
    pub target_units: u64,
    /// The top-up to add.
    pub topup_units: Option<u64>,
    /// Why the requested top-up will not be added (metric without overage charge).
    pub topup_refused: Option<String>,
}

/// The result of an applied reset.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ResetOutcome {
    /// What was planned.
    pub plan: ResetPlan,
    /// Usage after.
    pub used_after: u64,
    /// Allowance after (included + top-ups).
    pub limit_after: u64,
    /// The completed top-up, if one was added.
    pub topup: Option<UsageTopUp>,
}

impl<S: Store + ?Sized> QuotaGuard<S> {
    /// Computes what [`QuotaGuard::apply_reset`] would do, changing nothing (`--dry-run`).
    /// Every check of the reset happens here: a request this refuses changes nothing.
    pub async fn plan_reset(&self, req: &ResetRequest) -> Result<ResetPlan> {
        self.plan_reset_at(req, self.now()).await
    }

    async fn plan_reset_at(&self, req: &ResetRequest, now: DateTime<Utc>) -> Result<ResetPlan> {
        if req.target_percent > MAX_TARGET_PERCENT {
            return Err(QuotaError::InvalidArgument(format!(
                "target must be within 0..={MAX_TARGET_PERCENT} %"
            )));
        }
        if req.topup_units == Some(0) {
            return Err(QuotaError::InvalidArgument(
                "top-up units must be at least 1".into(),
            ));
        }
        if let Some(units) = req.topup_units.filter(|u| *u > MAX_TOPUP_UNITS) {
            return Err(QuotaError::QuantityTooLarge {
                metric: req.metric.clone(),
                quantity: units,
                max: MAX_TOPUP_UNITS,
            });
        }
        let ctx = self.context(&req.brand, now).await?;
        let m = ctx.metric(&req.metric)?;
        if m.kind != MetricKind::Counter {
            return Err(QuotaError::WrongMetricKind {
                metric: req.metric.clone(),
                kind: m.kind.as_str(),
                reason: "only counters have period usage to reset; set the gauge instead",
            });
        }
        let included = m.limit.included.ok_or_else(|| {
            QuotaError::InvalidArgument(format!(
                "metric {:?} is unlimited on plan {:?}: there is no included amount to aim at",
                req.metric, ctx.subscription.plan
            ))
        })?;
        let scaled = u128::from(included)
            .saturating_mul(u128::from(req.target_percent))
            .saturating_add(50);
        let target_units = u64::try_from(scaled.checked_div(100).unwrap_or(0)).unwrap_or(u64::MAX);
        if target_units > MAX_UNITS {
            return Err(QuotaError::QuantityTooLarge {
                metric: req.metric.clone(),
                quantity: target_units,
                max: MAX_UNITS,
            });
        }
        let before = self
            .store()
            .usage(CounterKey::new(&req.brand, &req.metric, ctx.period.key()))
            .await?;
        let topup_refused = match req.topup_units {
            Some(_) if !m.limit.accepts_topups() => Some(format!(
                "metric {:?} does not accept overage charge on plan {:?}: no top-up added",
                req.metric, ctx.subscription.plan
            )),
            _ => None,
        };
        Ok(ResetPlan {
            brand: req.brand.clone(),
            metric: req.metric.clone(),
            plan: ctx.subscription.plan.clone(),
            period: ctx.period,
            included,
            used_before: before.used,
            topup_units_before: before.topup_units,
            target_percent: req.target_percent,
            target_units,
            topup_units: req.topup_units,
            topup_refused,
        })
    }

    /// Applies the reset as one store operation ([`UsageStore::reset_counter`](crate::UsageStore::reset_counter)): clears the
    /// metric's usage, overage, daily curve and alert claims of the current period, writes
    /// the target usage point (no alert fires for it), adds the completed top-up when the
    /// metric accepts one, and records `topup_completed` and `period_reset` events. The
    /// whole reset reads the clock once: its events share one time, in write order. If
    /// any check or the store operation fails, nothing has changed.
    pub async fn apply_reset(&self, req: &ResetRequest) -> Result<ResetOutcome> {
        let now = self.now();
        let plan = self.plan_reset_at(req, now).await?;
        let ctx = self.context(&req.brand, now).await?;
        let key = CounterKey::new(&req.brand, &req.metric, ctx.period.key());
        let topup = match (plan.topup_units, &plan.topup_refused) {
            (Some(units), None) => {
                let mut t = self.new_topup(&req.brand, &req.metric, units, now).await?;
                t.status = TopUpStatus::Completed;
                t.settled_at = Some(now);
                Some(t)
            }
            _ => None,
        };
        let mut reason = format!(
            "quota reset: {} % of {} included",
            plan.target_percent, plan.included
        );
        let mut events = Vec::with_capacity(2);
        if let Some(t) = &topup {
            reason.push_str(&format!(", top-up +{}", t.units));
            events.push(TimelineEvent::new(
                &req.brand,
                now,
                key.period,
                Some(req.metric.clone()),
                Severity::Info,
                EventKind::TopUpCompleted {
                    topup_id: t.id.clone(),
                    units: t.units,
                },
            ));
        }
        events.push(TimelineEvent::new(
            &req.brand,
            now,
            key.period,
            Some(req.metric.clone()),
            Severity::Info,
            EventKind::PeriodReset {
                reason,
                level: Some(plan.target_units),
            },
        ));
        let mut op = CounterReset::new(
            key,
            plan.target_units,
            ctx.day_of(now.timestamp_micros()),
            ctx.retain_until,
        )
        .with_events(&events);
        if let Some(t) = &topup {
            op = op.with_topup(t);
        }
        let usage = self.store().reset_counter(&op).await?;
        for event in &events {
            self.announce(event);
        }
        Ok(ResetOutcome {
            limit_after: plan.included.saturating_add(usage.topup_units),
            plan,
            used_after: usage.used,
            topup,
        })
    }
}

impl<S: Store + ?Sized> QuotaGuard<S> {
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
        self.store().reset_period(brand, metric, key).await?;
        self.emit(TimelineEvent::new(
            brand,
            now,
            key,
            metric.map(str::to_owned),
            Severity::Info,
            EventKind::PeriodReset {
                reason: reason.chars().take(200).collect(),
                level: Some(0),
            },
        ))
        .await;
        Ok(key)
    }
}
