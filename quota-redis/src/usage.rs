//! Counters, daily buckets, gauges and resets (`UsageStore`), with the runbook's counter
//! reset.

use std::collections::BTreeMap;

use async_trait::async_trait;
use quota_core::domain::MAX_UNITS;
use quota_core::period::PeriodKey;
use quota_core::store::{
    ConsumeOutcome, ConsumeRequest, CounterKey, CounterReset, GaugeOutcome, StoreResult, Usage,
};
use quota_core::{StoreError, UsageStore};

use crate::alerts::stored_event;
use crate::keys::check_brand;
use crate::store::{
    PAST_DOMAIN, RedisStore, corrupt, duration_ms, invalid_config, parse_u64, to_json, units,
};
use crate::topups::Claim;

/// The counter hash field of a day's bucket.
fn day_field(day: u16) -> String {
    format!("d{day}")
}

#[async_trait]
impl UsageStore for RedisStore {
    async fn consume(&self, req: &ConsumeRequest<'_>) -> StoreResult<ConsumeOutcome> {
        let k = req.key;
        check_brand(k.brand)?;
        let keys = &self.inner.keys;
        let counter = keys.counter(k);
        let metrics = keys.metrics(k.brand, k.period);
        let idem = req.idempotency_key.map(|i| keys.idempotency(k.brand, i));

        // Bounds past the domain decide as the domain's bound does (a total never passes
        // MAX_UNITS), so the script only ever sees exact numbers.
        let mut inv = self.inner.scripts.consume.prepare_invoke();
        inv.key(&counter).key(&metrics);
        inv.arg(req.quantity.min(PAST_DOMAIN));
        match req.ceiling {
            Some(c) => inv.arg(c.min(MAX_UNITS)),
            None => inv.arg(""),
        };
        inv.arg(day_field(req.day))
            .arg(self.expire_at(req.retain_until))
            .arg(k.metric);
        match req.free_units {
            Some(f) => inv.arg(f.min(MAX_UNITS)),
            None => inv.arg(""),
        };
        if let Some(idem) = &idem {
            let ttl = self.inner.opts.idempotency_ttl();
            let at_us = req.at_us;
            let ttl_us = i64::try_from(ttl.as_micros()).unwrap_or(i64::MAX);
            // Redis refuses a zero or absurd PX; the deadline is what decides a replay.
            let px = duration_ms(ttl).clamp(1, 100 * 365 * 86_400_000);
            inv.key(idem)
                .arg(at_us)
                .arg(at_us.saturating_add(ttl_us))
                .arg(px)
                .arg(req.fingerprint);
        }
        let mut conn = self.inner.conn.clone();
        let reply: Vec<i64> = self.bounded("consume", inv.invoke_async(&mut conn)).await?;
        let [admitted, used, topup, overage, charged, flag]: [i64; 6] = reply
            .try_into()
            .map_err(|_| corrupt("the consume script answered a malformed reply"))?;
        if flag == 2 {
            return Ok(ConsumeOutcome::key_reused());
        }
        let outcome = ConsumeOutcome::new(
            admitted == 1,
            units(used)?,
            units(topup)?,
            units(overage)?,
            units(charged)?,
        );
        Ok(if flag == 1 {
            outcome.as_replay()
        } else {
            outcome
        })
    }

    async fn release(&self, key: CounterKey<'_>, quantity: u64, day: u16) -> StoreResult<Usage> {
        check_brand(key.brand)?;
        let keys = &self.inner.keys;
        // No counter passes MAX_UNITS: giving back more is giving back everything.
        let [used, topup, overage] = self
            .script_ints::<3>(
                "release",
                &self.inner.scripts.release,
                &[&keys.counter(key)],
                &[&quantity.min(MAX_UNITS).to_string(), &day_field(day)],
            )
            .await?;
        Ok(Usage::new(units(used)?, units(topup)?, units(overage)?))
    }

    async fn usage(&self, key: CounterKey<'_>) -> StoreResult<Usage> {
        check_brand(key.brand)?;
        let (used, topup, overage): (Option<String>, Option<String>, Option<String>) = self
            .query(
                "usage",
                redis::cmd("HMGET")
                    .arg(self.inner.keys.counter(key))
                    .arg("u")
                    .arg("t")
                    .arg("o"),
            )
            .await?;
        Ok(Usage::new(
            parse_u64(used.as_deref(), "usage")?,
            parse_u64(topup.as_deref(), "top-up units")?,
            parse_u64(overage.as_deref(), "overage units")?,
        ))
    }

    async fn daily_usage(&self, key: CounterKey<'_>) -> StoreResult<Vec<u64>> {
        check_brand(key.brand)?;
        let fields: Vec<(String, String)> = self
            .query(
                "daily usage",
                redis::cmd("HGETALL").arg(self.inner.keys.counter(key)),
            )
            .await?;
        let mut by_day = BTreeMap::new();
        for (field, units) in &fields {
            let Some(day) = field.strip_prefix('d') else {
                continue;
            };
            let day: u16 = day
                .parse()
                .map_err(|_| corrupt(format!("day bucket {field:?} is not a day index")))?;
            by_day.insert(usize::from(day), parse_u64(Some(units), "day bucket")?);
        }
        let len = by_day
            .last_key_value()
            .map_or(0, |(d, _)| d.saturating_add(1));
        let mut out = vec![0; len];
        for (day, units) in by_day {
            if let Some(slot) = out.get_mut(day) {
                *slot = units;
            }
        }
        Ok(out)
    }

    async fn adjust_gauge(
        &self,
        brand: &str,
        metric: &str,
        delta: i64,
        ceiling: Option<u64>,
    ) -> StoreResult<GaugeOutcome> {
        check_brand(brand)?;
        // A level never passes MAX_UNITS, whatever the ceiling; a larger step never fits (up)
        // or empties the gauge (down).
        let ceiling = ceiling
            .map(|c| c.min(MAX_UNITS).to_string())
            .unwrap_or_default();
        let sign = if delta >= 0 { "+" } else { "-" };
        let step = delta.unsigned_abs().min(PAST_DOMAIN);
        let [admitted, level] = self
            .script_ints::<2>(
                "adjust gauge",
                &self.inner.scripts.adjust_gauge,
                &[&self.inner.keys.gauges(brand)],
                &[metric, sign, &step.to_string(), &ceiling],
            )
            .await?;
        Ok(GaugeOutcome {
            admitted: admitted == 1,
            level: units(level)?,
        })
    }

    async fn set_gauge(&self, brand: &str, metric: &str, level: u64) -> StoreResult<u64> {
        check_brand(brand)?;
        if level > MAX_UNITS {
            return Err(StoreError::OutOfRange(format!(
                "gauge level {level} is above {MAX_UNITS}"
            )));
        }
        let [previous] = self
            .script_ints::<1>(
                "set gauge",
                &self.inner.scripts.set_gauge,
                &[&self.inner.keys.gauges(brand)],
                &[metric, &level.to_string()],
            )
            .await?;
        units(previous)
    }

    async fn gauge(&self, brand: &str, metric: &str) -> StoreResult<u64> {
        check_brand(brand)?;
        let level: Option<String> = self
            .query(
                "gauge",
                redis::cmd("HGET")
                    .arg(self.inner.keys.gauges(brand))
                    .arg(metric),
            )
            .await?;
        parse_u64(level.as_deref(), "gauge")
    }

    async fn reset_period(
        &self,
        brand: &str,
        metric: Option<&str>,
        period: PeriodKey,
    ) -> StoreResult<()> {
        check_brand(brand)?;
        let keys = &self.inner.keys;
        let base = keys.base(brand);
        let period_arg = period.to_string();
        let mut args: Vec<&str> = vec![&base, &period_arg];
        args.extend(metric);
        let [_metrics] = self
            .script_ints::<1>(
                "reset period",
                &self.inner.scripts.reset_period,
                &[&keys.metrics(brand, period)],
                &args,
            )
            .await?;
        Ok(())
    }

    async fn reset_counter(&self, reset: &CounterReset<'_>) -> StoreResult<Usage> {
        let key = reset.key;
        check_brand(key.brand)?;
        if reset.used > MAX_UNITS {
            return Err(StoreError::OutOfRange(format!(
                "usage {} is above {MAX_UNITS}",
                reset.used
            )));
        }
        let events = reset
            .events
            .iter()
            .map(stored_event)
            .collect::<StoreResult<Vec<_>>>()?;
        let topup = match reset.topup {
            Some(t) if t.brand != key.brand => {
                return Err(invalid_config(format!(
                    "top-up {:?} of brand {:?} cannot join a counter of brand {:?}",
                    t.id, t.brand, key.brand
                )));
            }
            Some(t) => Some((
                t,
                to_json(t, "top-up")?,
                to_json(&t.settled_at, "top-up settlement")?,
            )),
            None => None,
        };
        let keys = &self.inner.keys;
        let mut inv = self.inner.scripts.reset_counter.prepare_invoke();
        inv.key(keys.counter(key))
            .key(keys.claims(key))
            .key(keys.metrics(key.brand, key.period))
            .key(keys.timeline(key.brand))
            .key(keys.timeline_seq(key.brand));
        inv.arg(reset.used)
            .arg(day_field(reset.day))
            .arg(self.expire_at(reset.retain_until))
            .arg(key.metric);
        // The id -> top-up index lives outside the brand's slot: it is claimed before the
        // script (which is all or nothing) and given back if the script refuses.
        let mut claimed = None;
        match &topup {
            Some((t, json, settled)) => {
                if let Claim::New(index) = self.claim_topup_id(&t.id, json).await? {
                    claimed = Some(index);
                }
                inv.key(keys.topup(key.brand, &t.id))
                    .key(keys.topup_list(key.brand))
                    .arg(t.units.min(PAST_DOMAIN))
                    .arg(&t.id)
                    .arg(json)
                    .arg(t.status.as_str())
                    .arg(settled);
            }
            None => {
                inv.arg("").arg("").arg("").arg("").arg("");
            }
        }
        for (score, json) in &events {
            inv.arg(*score).arg(json);
        }
        let mut conn = self.inner.conn.clone();
        // On a transport error it is unknown whether the script ran: the claim stays (a retry
        // with the same top-up finds its own JSON there, as an insert's retry does).
        let reply: Vec<i64> = self
            .bounded("reset counter", inv.invoke_async(&mut conn))
            .await?;
        let refused = match reply.as_slice() {
            [1, used, topup_units] => {
                return Ok(Usage::new(units(*used)?, units(*topup_units)?, 0));
            }
            [-1] => StoreError::Conflict(format!(
                "top-up {:?} already exists",
                reset.topup.map_or("", |t| t.id.as_str())
            )),
            [-2] => {
                StoreError::OutOfRange(format!("the period's top-up units would pass {MAX_UNITS}"))
            }
            other => corrupt(format!("the reset counter script answered {other:?}")),
        };
        if let Some(index) = claimed {
            // Best effort: the refusal is the answer; a claim left behind (Redis went away
            // just now) only holds the id for this very top-up.
            let _gone: StoreResult<i64> = self
                .query("reset counter", redis::cmd("DEL").arg(index))
                .await;
        }
        Err(refused)
    }

    async fn ping(&self) -> StoreResult<()> {
        let _pong: String = self.query("ping", &redis::cmd("PING")).await?;
        Ok(())
    }
}
