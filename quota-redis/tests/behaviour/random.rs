//! Random operation mixes against `MemoryStore`.

use crate::*;

on_both_backends!(random_operations_match_the_memory_store,);

/// A tiny deterministic generator (xorshift), enough to mix operations.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

async fn random_operations_match_the_memory_store(s: RedisStore, _: Backend) {
    let b = common::brand("diff");
    let mem = MemoryStore::with_idempotency_ttl(std::time::Duration::from_secs(24 * 3600));
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let metrics = ["a", "b"];
    let periods = [P, P2];
    let pick_qty = |rng: &mut Rng| match rng.below(7) {
        0 => 0,
        1 => u64::MAX - rng.below(3),
        2 => MAX_UNITS - rng.below(3),
        3 => MAX_UNITS / 2 + rng.below(5),
        4 => MAX_UNITS + rng.below(3),
        _ => rng.below(20),
    };
    let mut topups = 0;
    let mut seen = [0u32; 5]; // admitted, denied, replayed, key reused, charged
    for step in 0..500 {
        let metric = metrics[rng.below(2) as usize];
        let period = periods[rng.below(2) as usize];
        let key = CounterKey::new(&b, metric, period);
        let at = t0() + Duration::hours(rng.below(30) as i64);
        let ctx = format!("step {step}");
        match rng.below(12) {
            0..=4 => {
                let idem = format!("k{}", rng.below(8));
                let ceiling = match rng.below(4) {
                    0 => None,
                    1 => Some(u64::MAX - 1),
                    _ => Some(rng.below(60)),
                };
                let free_units = match rng.below(4) {
                    0 => None,
                    1 => Some(u64::MAX),
                    _ => Some(rng.below(40)),
                };
                let r = ConsumeRequest {
                    key,
                    quantity: pick_qty(&mut rng),
                    ceiling,
                    free_units,
                    idempotency_key: (rng.below(2) == 0).then_some(idem.as_str()),
                    // a key is sometimes sent again for another request
                    fingerprint: rng.below(3),
                    day: rng.below(5) as u16,
                    at_us: at.timestamp_micros(),
                    retain_until: at + Duration::days(40),
                };
                let out = s.consume(&r).await.unwrap();
                assert_eq!(out, mem.consume(&r).await.unwrap(), "{ctx}: {r:?}");
                seen[usize::from(!out.admitted)] += 1;
                seen[2] += u32::from(out.replayed);
                seen[3] += u32::from(out.key_reused);
                seen[4] += u32::from(out.charged_units > 0);
            }
            5 => {
                let (q, d) = (pick_qty(&mut rng), rng.below(5) as u16);
                same(
                    s.release(key, q, d).await,
                    mem.release(key, q, d).await,
                    &ctx,
                );
            }
            6 => {
                let delta = match rng.below(4) {
                    0 => i64::MAX - rng.below(2) as i64,
                    1 => -(rng.below(10) as i64),
                    2 => MAX_UNITS as i64 - rng.below(3) as i64,
                    _ => rng.below(10) as i64,
                };
                let ceiling = match rng.below(3) {
                    0 => None,
                    1 => Some(u64::MAX),
                    _ => Some(rng.below(30)),
                };
                same(
                    s.adjust_gauge(&b, metric, delta, ceiling).await,
                    mem.adjust_gauge(&b, metric, delta, ceiling).await,
                    &ctx,
                );
                if rng.below(4) == 0 {
                    let level = pick_qty(&mut rng);
                    same(
                        s.set_gauge(&b, metric, level).await,
                        mem.set_gauge(&b, metric, level).await,
                        &ctx,
                    );
                }
            }
            7 => {
                topups += 1;
                let id = format!("{b}-{topups}");
                let t = UsageTopUp::pending(
                    &id,
                    &b,
                    metric,
                    pick_qty(&mut rng),
                    period,
                    at,
                    at + Duration::hours(10),
                );
                s.insert_topup(&t).await.unwrap();
                mem.insert_topup(&t).await.unwrap();
                let to = [
                    TopUpStatus::Completed,
                    TopUpStatus::Failed,
                    TopUpStatus::Cancelled,
                ][rng.below(3) as usize];
                let when = at + Duration::hours(rng.below(20) as i64);
                same(
                    s.set_topup_status(&id, to, when).await,
                    mem.set_topup_status(&id, to, when).await,
                    &ctx,
                );
            }
            8 => {
                if rng.below(4) == 0 {
                    let only = (rng.below(2) == 0).then_some(metric);
                    s.reset_period(&b, only, period).await.unwrap();
                    mem.reset_period(&b, only, period).await.unwrap();
                }
            }
            9 => {
                let mut e = event(&b, rng.below(4));
                e.at = at + Duration::microseconds(rng.below(3) as i64);
                same(s.append_event(&e).await, mem.append_event(&e).await, &ctx);
            }
            10 => {
                // A support reset, with a top-up (sometimes an id taken already, sometimes
                // units past the domain) and events.
                let used = pick_qty(&mut rng).min(MAX_UNITS + rng.below(2));
                let day = rng.below(5) as u16;
                // (Both refusals at once may be reported as either: kept apart here.)
                let (id, units) = if topups > 0 && rng.below(4) == 0 {
                    (format!("{b}-{}", 1 + rng.below(topups)), 0)
                } else {
                    topups += 1;
                    (format!("{b}-{topups}"), pick_qty(&mut rng))
                };
                let mut t = UsageTopUp::pending(
                    &id,
                    &b,
                    metric,
                    units,
                    period,
                    at,
                    at + Duration::hours(10),
                );
                t.status = TopUpStatus::Completed;
                t.settled_at = Some(at);
                let events = [event(&b, 7), event(&b, 8)];
                let mut reset = CounterReset::new(key, used, day, at + Duration::days(40));
                if rng.below(3) != 0 {
                    reset = reset.with_topup(&t);
                }
                if rng.below(2) == 0 {
                    reset = reset.with_events(&events);
                }
                same(
                    s.reset_counter(&reset).await,
                    mem.reset_counter(&reset).await,
                    &ctx,
                );
            }
            _ => {
                let th = [50, 75, 90][rng.below(3) as usize];
                assert_eq!(
                    s.claim_alert(key, th).await.unwrap(),
                    mem.claim_alert(key, th).await.unwrap(),
                    "{ctx}"
                );
            }
        }
        assert_eq!(
            s.usage(key).await.unwrap(),
            mem.usage(key).await.unwrap(),
            "{ctx}"
        );
        let (mut rd, mut md) = (
            s.daily_usage(key).await.unwrap(),
            mem.daily_usage(key).await.unwrap(),
        );
        while rd.last() == Some(&0) {
            rd.pop();
        }
        while md.last() == Some(&0) {
            md.pop();
        }
        assert_eq!(rd, md, "{ctx}");
        assert_eq!(
            s.claimed_alerts(key).await.unwrap(),
            mem.claimed_alerts(key).await.unwrap(),
            "{ctx}"
        );
        assert_eq!(
            s.gauge(&b, metric).await.unwrap(),
            mem.gauge(&b, metric).await.unwrap(),
            "{ctx}"
        );
    }
    assert_eq!(s.topups(&b).await.unwrap(), mem.topups(&b).await.unwrap());
    assert_eq!(
        s.events(&b, usize::MAX).await.unwrap(),
        mem.events(&b, usize::MAX).await.unwrap()
    );
    assert!(
        seen.iter().all(|n| *n > 5),
        "the mix exercised every outcome: {seen:?}"
    );
}
