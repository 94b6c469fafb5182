//! `UsageStore` for [`MemoryStore`]: counters, day buckets, gauges, resets.

use async_trait::async_trait;

use crate::domain::{MAX_UNITS, add_units};
use crate::error::StoreError;
use crate::period::PeriodKey;
use crate::store::{
    ConsumeOutcome, ConsumeRequest, CounterKey, CounterReset, GaugeOutcome, StoreResult, Usage,
};
use crate::{ConsumeNow, UsageStore};

use super::MemoryStore;
use super::alerts::push_event;
use super::counter::Counter;

#[async_trait]
impl UsageStore for MemoryStore {
    async fn consume(&self, req: &ConsumeRequest<'_>) -> StoreResult<ConsumeOutcome> {
        self.consume_now(req)
    }

    fn in_process(&self) -> Option<&dyn ConsumeNow> {
        Some(self)
    }

    async fn release(&self, key: CounterKey<'_>, quantity: u64, day: u16) -> StoreResult<Usage> {
        Ok(self.with_brand(key.brand, |data| {
            data.counter_mut(key).release(quantity, day)
        }))
    }

    async fn usage(&self, key: CounterKey<'_>) -> StoreResult<Usage> {
        Ok(self.read_counter(key, Counter::usage).unwrap_or_default())
    }

    async fn daily_usage(&self, key: CounterKey<'_>) -> StoreResult<Vec<u64>> {
        Ok(self
            .read_counter(key, |c| c.days.to_vec())
            .unwrap_or_default())
    }

    async fn adjust_gauge(
        &self,
        brand: &str,
        metric: &str,
        delta: i64,
        ceiling: Option<u64>,
    ) -> StoreResult<GaugeOutcome> {
        Ok(self.with_brand(brand, |data| {
            let m = data.metric_mut(metric);
            let step = delta.unsigned_abs();
            if delta < 0 {
                m.gauge = m.gauge.saturating_sub(step);
                return GaugeOutcome {
                    admitted: true,
                    level: m.gauge,
                };
            }
            let after = add_units(m.gauge, step).filter(|a| ceiling.is_none_or(|c| *a <= c));
            if let Some(after) = after {
                m.gauge = after;
            }
            GaugeOutcome {
                admitted: after.is_some(),
                level: m.gauge,
            }
        }))
    }

    async fn set_gauge(&self, brand: &str, metric: &str, level: u64) -> StoreResult<u64> {
        if level > MAX_UNITS {
            return Err(StoreError::OutOfRange(format!(
                "gauge level {level} is above {MAX_UNITS}"
            )));
        }
        Ok(self.with_brand(brand, |data| {
            std::mem::replace(&mut data.metric_mut(metric).gauge, level)
        }))
    }

    async fn gauge(&self, brand: &str, metric: &str) -> StoreResult<u64> {
        let Some(brand) = self.existing_brand(brand) else {
            return Ok(0);
        };
        let data = super::lock(&brand);
        Ok(data.metric(metric).map_or(0, |m| m.gauge))
    }

    async fn reset_period(
        &self,
        brand: &str,
        metric: Option<&str>,
        period: PeriodKey,
    ) -> StoreResult<()> {
        let Some(brand) = self.existing_brand(brand) else {
            return Ok(());
        };
        let mut data = super::lock(&brand);
        let chosen = data
            .metrics
            .iter_mut()
            .filter(|(k, _)| metric.is_none_or(|m| &**k == m));
        for (_, m) in chosen {
            if let Some((_, counter)) = m.periods.iter().find(|(p, _)| *p == period) {
                counter.lock().clear_usage();
            }
        }
        Ok(())
    }

    async fn reset_counter(&self, reset: &CounterReset<'_>) -> StoreResult<Usage> {
        let key = reset.key;
        if reset.used > MAX_UNITS {
            return Err(StoreError::OutOfRange(format!(
                "usage {} is above {MAX_UNITS}",
                reset.used
            )));
        }
        self.with_brand(key.brand, |data| {
            // Every check before the first write: a refused reset changes nothing.
            let topup_units = data.counter_mut(key).topup_units;
            let topup_units = match reset.topup {
                Some(t) => add_units(topup_units, t.units).ok_or_else(|| {
                    StoreError::OutOfRange(format!("top-up units would pass {MAX_UNITS}"))
                })?,
                None => topup_units,
            };
            if let Some(t) = reset.topup {
                match self.inner.topup_brand.entry(t.id.as_str().into()) {
                    dashmap::Entry::Occupied(_) => {
                        return Err(StoreError::Conflict(format!(
                            "top-up {:?} already exists",
                            t.id
                        )));
                    }
                    dashmap::Entry::Vacant(v) => {
                        v.insert(key.brand.into());
                    }
                }
                data.topups.push(t.clone());
            }
            let usage = {
                let mut counter = data.counter_mut(key);
                counter.clear_usage();
                counter.topup_units = topup_units;
                counter.used = reset.used;
                if reset.used > 0 {
                    *counter.days.bucket_mut(reset.day) = reset.used;
                }
                counter.usage()
            };
            for event in reset.events {
                push_event(data, event);
            }
            Ok(usage)
        })
    }
}
