//! Alerts: threshold crossings claimed once in the store, the timeline, resolutions.

use chrono::{DateTime, Utc};

use crate::error::Result;
use crate::metric::MetricKind;
use crate::store::{BLOCKED_CLAIM, CounterKey, Store};
use crate::threshold::{Severity, crossed_upwards, reached};
use crate::timeline::{EventKind, TimelineEvent};

use super::QuotaGuard;
use super::context::{BrandContext, ResolvedMetric};

impl<S: Store + ?Sized> QuotaGuard<S> {
    pub(crate) async fn emit_crossings(
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
    pub(crate) async fn claim_and_emit(
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
