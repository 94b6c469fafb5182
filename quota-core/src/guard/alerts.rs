//! Alerts: threshold crossings claimed once in the store, the timeline, resolutions.

use chrono::{DateTime, Utc};

use crate::error::Result;
use crate::metric::MetricKind;
use crate::report::{EventKind, TimelineEvent};
use crate::store::{BLOCKED_CLAIM, ConsumeOutcome, CounterKey};
use crate::threshold::{Severity, crossed_upwards, reached};
use crate::{LimitState, Store};

use super::QuotaGuard;
use super::context::{BrandContext, ResolvedMetric};

/// Claim ids of the "request refused" notices: one per hour of the period (a period has at
/// most 31 x 24 hours), above every threshold claim (1..=1000 %) and [`BLOCKED_CLAIM`].
const REFUSAL_CLAIMS: u16 = 2000;

impl<S: Store + ?Sized> QuotaGuard<S> {
    /// Claims every threshold crossed going from `before` to `after` units and announces
    /// one alert, for the highest threshold this caller won: a jump across several
    /// thresholds (a seeded gauge, a bulk import) is one alert, not one per threshold. Its
    /// severity is what the metric's `state` allows ([`Severity::honest`]).
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn emit_crossings(
        &self,
        ctx: &BrandContext,
        m: &ResolvedMetric,
        before: u64,
        after: u64,
        limit: u64,
        state: LimitState,
        now: DateTime<Utc>,
    ) {
        let mut highest = None;
        for t in crossed_upwards(&m.thresholds, before, after, limit) {
            if self.claim(ctx, m, t.percent).await {
                highest = Some(t);
            }
        }
        if let Some(t) = highest {
            let kind = EventKind::ThresholdCrossed {
                threshold: t.percent,
                used: after,
                limit,
            };
            self.emit(self.event(ctx, m, t.severity.honest(state), kind, now))
                .await;
        }
    }

    /// Records a denied consume: `blocked` (once per period) when not one more unit fits,
    /// else a `request_refused` notice, at most one per metric and hour of the period.
    pub(crate) async fn record_denial(
        &self,
        ctx: &BrandContext,
        m: &ResolvedMetric,
        out: &ConsumeOutcome,
        requested: u64,
        limit: u64,
        now: DateTime<Utc>,
    ) {
        let blocked = m.state(out.used, out.topup_units) == LimitState::Blocked;
        let (claim, severity, kind) = if blocked {
            let kind = EventKind::Blocked {
                used: out.used,
                limit,
            };
            (BLOCKED_CLAIM, Severity::Blocked, kind)
        } else {
            let hour = now.signed_duration_since(ctx.period.start).num_hours();
            let hour = u16::try_from(hour.clamp(0, 31 * 24)).unwrap_or(0);
            let kind = EventKind::RequestRefused {
                requested,
                used: out.used,
                limit,
            };
            (REFUSAL_CLAIMS.saturating_add(hour), Severity::Warning, kind)
        };
        if self.claim(ctx, m, claim).await {
            self.emit(self.event(ctx, m, severity, kind, now)).await;
        }
    }

    /// Claims an alert in the store: `true` for the one caller that wins it. Failures are
    /// logged, never returned: the decision they follow has already been made.
    async fn claim(&self, ctx: &BrandContext, m: &ResolvedMetric, claim: u16) -> bool {
        let brand = ctx.subscription.brand.as_str();
        let key = CounterKey::new(brand, &m.key, ctx.period.key());
        match self.inner.store.claim_alert(key, claim).await {
            Ok(won) => won,
            Err(error) => {
                tracing::warn!(%error, brand, metric = %m.key, claim, "alert claim failed");
                false
            }
        }
    }

    fn event(
        &self,
        ctx: &BrandContext,
        m: &ResolvedMetric,
        severity: Severity,
        kind: EventKind,
        now: DateTime<Utc>,
    ) -> TimelineEvent {
        TimelineEvent::new(
            ctx.subscription.brand.as_str(),
            now,
            ctx.period.key(),
            Some(m.key.clone()),
            severity,
            kind,
        )
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
    pub(crate) async fn resolve_alerts(
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
        // Refusal notices are rate limits, not alerts: they stay claimed for their hour.
        let mut highest = None;
        for threshold in claimed.into_iter().filter(|c| *c < REFUSAL_CLAIMS) {
            let still = match limit {
                None => false,
                Some(l) if threshold == BLOCKED_CLAIM => used >= l,
                Some(l) => reached(used, l, threshold),
            };
            if still || !store.release_alert(key, threshold).await? {
                continue;
            }
            if threshold != BLOCKED_CLAIM {
                highest = Some(threshold);
            }
        }
        // One resolution for the highest threshold released, as crossings announce one
        // alert for the highest threshold crossed.
        if let Some(threshold) = highest {
            let kind = EventKind::AlertResolved {
                threshold,
                used,
                limit: limit.unwrap_or(0),
            };
            self.emit(self.event(ctx, m, Severity::Info, kind, now))
                .await;
        }
        Ok(())
    }
}
