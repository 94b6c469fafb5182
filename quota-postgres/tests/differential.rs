//! Differential test: a seeded mix of every store operation runs against Postgres and the
//! memory store (the reference implementation of the store contract) side by side, and
//! every answer and every state read after it must be the same: outcomes of consumes
//! (replays, reused keys, overage units, the domain's bound), releases, gauges, top-up
//! transitions, resets, alert claims and the timeline. Errors must be of the same kind.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::cast_possible_truncation,
    clippy::cast_possible_wrap
)]

mod common;
use common::StoreOn;

use std::fmt::Debug;

use chrono::{DateTime, Duration, Utc};
use quota_core::domain::MAX_UNITS;
use quota_core::report::{EventKind, TimelineEvent};
use quota_core::store::{ConsumeRequest, CounterKey, CounterReset, fingerprint};
use quota_core::threshold::Severity;
use quota_core::topup::{TopUpStatus, UsageTopUp};
use quota_core::{MemoryStore, Store, StoreError};
use quota_postgres::PostgresOptions;
use quota_testkit::conformance::{NEXT_PERIOD, PERIOD, now, period_end, unique_brand};

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

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

/// A result with errors reduced to their kind (messages differ between stores).
fn kind<T: Debug>(r: Result<T, StoreError>) -> Result<T, &'static str> {
    r.map_err(|e| match e {
        StoreError::Unavailable { .. } => "Unavailable",
        StoreError::Timeout(_) => "Timeout",
        StoreError::NotFound(_) => "NotFound",
        StoreError::Conflict(_) => "Conflict",
        StoreError::OutOfRange(_) => "OutOfRange",
        StoreError::Corrupt(_) => "Corrupt",
        _ => "Backend",
    })
}

/// Runs `$call` on both stores, asserts the same answer (errors by kind) and returns it.
macro_rules! same_answer {
    ($pg:expr, $mem:expr, $ctx:expr, |$s:ident| $call:expr) => {{
        let got = {
            let $s = &$pg;
            kind($call.await)
        };
        let want = {
            let $s = &$mem;
            kind($call.await)
        };
        assert_eq!(got, want, "{}: {}", $ctx, stringify!($call));
        got
    }};
}

/// [`same_answer!`] for a call whose answer the test does not use further.
macro_rules! same {
    ($($t:tt)*) => {{
        let _answer = same_answer!($($t)*);
    }};
}

/// Events without their sequence numbers (each store numbers its own way), newest first.
fn unnumbered(events: Vec<TimelineEvent>) -> Vec<TimelineEvent> {
    events.into_iter().map(|e| e.with_seq(0)).collect()
}

fn trimmed(mut days: Vec<u64>) -> Vec<u64> {
    while days.last() == Some(&0) {
        days.pop();
    }
    days
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_operations_match_the_memory_store() {
    let Some(db) = common::test_db("diff").await else {
        return;
    };
    let pg = db.store(PostgresOptions::new()).await;
    let mem = MemoryStore::new();
    let (pg, mem): (&dyn Store, &dyn Store) = (&pg, &mem);
    let brand = unique_brand("diff");
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let metrics = ["a", "b"];
    let periods = [PERIOD, NEXT_PERIOD];
    let scopes = ["", "POST /renders"];
    let mut topup_ids: Vec<String> = Vec::new();
    let mut seen = [0u32; 4]; // admitted, denied, replayed, key reused
    for step in 0..600 {
        let metric = *rng.pick(&metrics);
        let period = *rng.pick(&periods);
        let key = CounterKey::new(&brand, metric, period);
        let at: DateTime<Utc> = now() + Duration::hours(rng.below(30) as i64);
        let ctx = format!("step {step}");
        let quantity = |rng: &mut Rng| match rng.below(7) {
            0 => 0,
            1 => u64::MAX - rng.below(3),
            2 => MAX_UNITS - rng.below(3),
            3 => MAX_UNITS / 2 + rng.below(3),
            _ => rng.below(20),
        };
        match rng.below(20) {
            0..=8 => {
                let k = rng.below(6);
                let idem = format!("k{k}");
                // Half the time the key's own request (a retry), else anything.
                let retry = rng.below(2) == 0;
                let q = if retry { k + 1 } else { quantity(&mut rng) };
                let scope = if retry { "" } else { *rng.pick(&scopes) };
                let ceiling = match rng.below(5) {
                    0 => None,
                    1 => Some(u64::MAX - rng.below(2)),
                    2 => Some(MAX_UNITS),
                    _ => Some(rng.below(80)),
                };
                let free_units = match rng.below(4) {
                    0 => None,
                    1 => Some(u64::MAX),
                    _ => Some(rng.below(40)),
                };
                let idempotency_key = (rng.below(2) == 0).then_some(idem.as_str());
                let r = ConsumeRequest {
                    key,
                    quantity: q,
                    ceiling,
                    free_units,
                    idempotency_key,
                    fingerprint: fingerprint(metric, q, scope),
                    day: rng.below(5) as u16,
                    at_us: at.timestamp_micros(),
                    retain_until: period_end() + Duration::days(40),
                };
                let out = same_answer!(pg, mem, ctx, |s| s.consume(&r)).unwrap();
                seen[usize::from(!out.admitted)] += 1;
                seen[2] += u32::from(out.replayed);
                seen[3] += u32::from(out.key_reused);
            }
            9 => {
                let (q, day) = (quantity(&mut rng), rng.below(5) as u16);
                same!(pg, mem, ctx, |s| s.release(key, q, day));
            }
            10 => {
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
                same!(pg, mem, ctx, |s| s
                    .adjust_gauge(&brand, metric, delta, ceiling));
            }
            11 => {
                let level = *rng.pick(&[0, 7, MAX_UNITS, MAX_UNITS + 1, u64::MAX]);
                same!(pg, mem, ctx, |s| s.set_gauge(&brand, metric, level));
            }
            12 | 13 => {
                let id = format!("{brand}-t{step}");
                let units = *rng.pick(&[1, 5, 30, MAX_UNITS / 2, MAX_UNITS]);
                let t = UsageTopUp::pending(
                    &id,
                    &brand,
                    metric,
                    units,
                    period,
                    at,
                    at + Duration::hours(10),
                );
                same!(pg, mem, ctx, |s| s.insert_topup(&t));
                topup_ids.push(id);
                let id = rng.pick(&topup_ids).clone();
                let to = *rng.pick(&[
                    TopUpStatus::Completed,
                    TopUpStatus::Completed,
                    TopUpStatus::Failed,
                    TopUpStatus::Cancelled,
                    TopUpStatus::Pending,
                ]);
                let when = at + Duration::hours(rng.below(20) as i64);
                same!(pg, mem, ctx, |s| s.set_topup_status(&id, to, when));
            }
            14 => {
                if rng.below(3) == 0 {
                    let only = (rng.below(2) == 0).then_some(metric);
                    same!(pg, mem, ctx, |s| s.reset_period(&brand, only, period));
                }
            }
            15 => {
                let used = *rng.pick(&[0, 3, 40, MAX_UNITS, MAX_UNITS + 1]);
                let id = match rng.below(3) {
                    0 if !topup_ids.is_empty() => rng.pick(&topup_ids).clone(),
                    _ => format!("{brand}-r{step}"),
                };
                let mut t = UsageTopUp::pending(
                    &id,
                    &brand,
                    metric,
                    *rng.pick(&[2, 9, MAX_UNITS]),
                    period,
                    at,
                    period_end(),
                );
                t.status = TopUpStatus::Completed;
                t.settled_at = Some(at);
                let events = [
                    TimelineEvent::new(
                        &brand,
                        at,
                        period,
                        Some(metric.into()),
                        Severity::Info,
                        EventKind::TopUpCompleted {
                            topup_id: id.clone(),
                            units: t.units,
                        },
                    ),
                    TimelineEvent::new(
                        &brand,
                        at,
                        period,
                        Some(metric.into()),
                        Severity::Info,
                        EventKind::PeriodReset {
                            reason: format!("step {step}"),
                            level: None,
                        },
                    ),
                ];
                let with_topup = rng.below(2) == 0;
                let day = rng.below(5) as u16;
                let mut reset =
                    CounterReset::new(key, used, day, period_end()).with_events(&events);
                if with_topup {
                    reset = reset.with_topup(&t);
                }
                if same_answer!(pg, mem, ctx, |s| s.reset_counter(&reset)).is_ok() && with_topup {
                    topup_ids.push(id);
                }
            }
            16 | 17 => {
                let th = *rng.pick(&[0, 50, 75, 90]);
                if rng.below(3) == 0 {
                    same!(pg, mem, ctx, |s| s.release_alert(key, th));
                } else {
                    same!(pg, mem, ctx, |s| s.claim_alert(key, th));
                }
            }
            _ => {
                // Times on a coarse grid, so that equal instants are common.
                let at = now() + Duration::microseconds(rng.below(4) as i64 * 250);
                let e = TimelineEvent::new(
                    &brand,
                    at,
                    period,
                    Some(metric.into()),
                    Severity::Warning,
                    EventKind::ThresholdCrossed {
                        threshold: 50,
                        used: step,
                        limit: 100,
                    },
                );
                let (a, b) = (
                    pg.append_event(&e).await.unwrap(),
                    mem.append_event(&e).await.unwrap(),
                );
                assert!(a > 0 && b > 0, "{ctx}");
            }
        }
        same!(pg, mem, ctx, |s| s.usage(key));
        assert_eq!(
            trimmed(pg.daily_usage(key).await.unwrap()),
            trimmed(mem.daily_usage(key).await.unwrap()),
            "{ctx}"
        );
        same!(pg, mem, ctx, |s| s.claimed_alerts(key));
        same!(pg, mem, ctx, |s| s.gauge(&brand, metric));
        if step % 10 == 0 {
            same!(pg, mem, ctx, |s| s.topups(&brand));
            let limit = rng.below(4) as usize;
            same!(pg, mem, ctx, |s| s.recent_topups(&brand, limit));
            let limit = rng.below(12) as usize;
            assert_eq!(
                unnumbered(pg.events(&brand, limit).await.unwrap()),
                unnumbered(mem.events(&brand, limit).await.unwrap()),
                "{ctx}"
            );
        }
    }
    eprintln!(
        "admitted {}, denied {}, replayed {}, key reused {}",
        seen[0], seen[1], seen[2], seen[3]
    );
    assert!(
        seen.iter().all(|n| *n > 0),
        "every kind of outcome was exercised: {seen:?}"
    );
    let (pg_events, mem_events) = (
        pg.events(&brand, usize::MAX).await.unwrap(),
        mem.events(&brand, usize::MAX).await.unwrap(),
    );
    assert!(
        pg_events
            .windows(2)
            .all(|w| (w[0].at, w[0].seq) > (w[1].at, w[1].seq))
    );
    assert_eq!(unnumbered(pg_events), unnumbered(mem_events));
}
