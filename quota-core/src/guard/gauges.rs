//! Releases and gauges: units given back, seats taken and synced.

use chrono::{DateTime, Utc};

use crate::Store;
use crate::decision::{Decision, Verdict};
use crate::domain::MAX_UNITS;
use crate::error::{QuotaError, Result};
use crate::metric::MetricKind;
use crate::store::CounterKey;

use super::QuotaGuard;
use super::context::{BrandContext, ResolvedMetric};

impl<S: Store + ?Sized> QuotaGuard<S> {
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
    /// limit check; a level above [`MAX_UNITS`] is refused. Crossings and resolutions are
    /// reported (one alert for the highest threshold crossed).
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
        if level > MAX_UNITS {
            return Err(QuotaError::QuantityTooLarge {
                metric: metric.to_owned(),
                quantity: level,
                max: MAX_UNITS,
            });
        }
        let previous = self.inner.store.set_gauge(brand, metric, level).await?;
        if let Some(limit) = m.limit.included {
            let state = m.state(level, 0);
            self.emit_crossings(&ctx, m, previous, level, limit, state, now)
                .await;
        }
        self.resolve_alerts(&ctx, m, now).await?;
        Ok(previous)
    }

    pub(crate) async fn consume_gauge(
        &self,
        ctx: &BrandContext,
        index: usize,
        quantity: u64,
        now: DateTime<Utc>,
    ) -> Result<Decision> {
        let Some(m) = ctx.metrics.get(index) else {
            return Err(QuotaError::InvalidArgument(
                "metric index out of range".into(),
            ));
        };
        let brand = ctx.subscription.brand.as_str();
        // Within the per-request ceiling (at most MAX_UNITS), so within i64.
        let delta = i64::try_from(quantity).unwrap_or(i64::MAX);
        let out = self
            .inner
            .store
            .adjust_gauge(brand, &m.key, delta, m.ceiling)
            .await?;
        if !out.admitted {
            let verdict = self.denial(ctx, index, out.level, quantity, now).await;
            return Ok(gauge_decision(m, verdict, out.level));
        }
        if let Some(limit) = m.limit.included {
            let before = out.level.saturating_sub(quantity);
            let state = m.state(out.level, 0);
            self.emit_crossings(ctx, m, before, out.level, limit, state, now)
                .await;
        }
        Ok(gauge_decision(m, Verdict::Allowed, out.level))
    }
}

/// The decision on a gauge at `level`.
pub(crate) fn gauge_decision(m: &ResolvedMetric, verdict: Verdict, level: u64) -> Decision {
    Decision {
        verdict,
        used: level,
        limit: m.limit.included,
        resets_at: None,
        period_start: None,
        replayed: false,
        state: m.state(level, 0),
    }
}
