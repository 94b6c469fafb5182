//! `RedisStore` against the reference semantics of `quota_core::MemoryStore`, on a standalone
//! Redis and on a 3-master Redis Cluster.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::cast_possible_truncation,
    clippy::cast_possible_wrap,
    missing_docs
)]

mod common;

use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use common::Backend;
use quota_core::store::{
    AlertStore, ConsumeRequest, CounterKey, SubscriptionStore, TopUpStore, UsageStore,
};
use quota_core::{
    EventKind, MemoryStore, PeriodKey, Severity, StoreError, Subscription, TimelineEvent,
    TopUpStatus, UsageTopUp,
};
use quota_redis::RedisStore;

const P: PeriodKey = PeriodKey(20261101);
const P2: PeriodKey = PeriodKey(20261201);

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 10, 12, 0, 0).unwrap()
}

fn req<'a>(
    brand: &'a str,
    metric: &'a str,
    quantity: u64,
    ceiling: Option<u64>,
    idem: Option<&'a str>,
) -> ConsumeRequest<'a> {
    ConsumeRequest {
        key: CounterKey::new(brand, metric, P),
        quantity,
        ceiling,
        free_units: None,
        idempotency_key: idem,
        fingerprint: FP,
        day: 9,
        at_us: t0().timestamp_micros(),
        retain_until: Utc.with_ymd_and_hms(2026, 12, 8, 0, 0, 0).unwrap(),
    }
}

macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod standalone {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if let Some(store) = crate::common::store(crate::Backend::Standalone).await {
                        super::$name(store, crate::Backend::Standalone).await;
                    }
                }
            )*
        }
        mod cluster {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if let Some(store) = crate::common::store(crate::Backend::Cluster).await {
                        super::$name(store, crate::Backend::Cluster).await;
                    }
                }
            )*
        }
    };
}

on_both_backends!(
    admits_up_to_the_ceiling_and_denies_the_unit_past_it,
    completed_topups_raise_the_allowance_exactly_once,
    a_replay_returns_the_first_outcome_and_adds_nothing,
    a_denied_consume_does_not_burn_its_idempotency_key,
    idempotency_keys_expire_after_their_ttl,
    values_past_two_to_the_53_stay_exact,
    release_saturates_and_gives_back_from_the_day_bucket,
    gauges_refuse_increases_past_the_ceiling_and_saturate_at_zero,
    reset_period_clears_usage_days_and_claims_only,
    topup_lifecycle_follows_the_core_rules,
    an_alert_is_claimed_exactly_once_under_concurrency,
    the_timeline_reads_newest_first,
    subscriptions_are_listed_by_brand,
    brands_that_break_the_hash_tag_are_refused,
    random_operations_match_the_memory_store,
);

async fn admits_up_to_the_ceiling_and_denies_the_unit_past_it(s: RedisStore, _: Backend) {
    let b = common::brand("ceiling");
    let first = s.consume(&req(&b, "m", 7, Some(10), None)).await.unwrap();
    assert!(first.admitted && first.used == 7 && !first.replayed);
    let second = s.consume(&req(&b, "m", 3, Some(10), None)).await.unwrap();
    assert!(second.admitted);
    assert_eq!(second.used, 10);
    let third = s.consume(&req(&b, "m", 1, Some(10), None)).await.unwrap();
    assert!(!third.admitted);
    assert_eq!(third.used, 10, "a denial reports the current usage");
    let zero = s.consume(&req(&b, "m", 0, Some(10), None)).await.unwrap();
    assert!(zero.admitted && zero.used == 10);
    let u = s.usage(CounterKey::new(&b, "m", P)).await.unwrap();
    assert_eq!((u.used, u.topup_units), (10, 0));
    assert_eq!(
        s.daily_usage(CounterKey::new(&b, "m", P))
            .await
            .unwrap()
            .iter()
            .sum::<u64>(),
        10
    );
    let other = s.usage(CounterKey::new(&b, "m", P2)).await.unwrap();
    assert_eq!(other.used, 0, "periods are isolated");
    let unbounded = s
        .consume(&req(&b, "n", 1_000_000, None, None))
        .await
        .unwrap();
    assert!(unbounded.admitted && unbounded.used == 1_000_000);
}

async fn completed_topups_raise_the_allowance_exactly_once(s: RedisStore, _: Backend) {
    let b = common::brand("topup-allowance");
    assert!(
        s.consume(&req(&b, "m", 10, Some(10), None))
            .await
            .unwrap()
            .admitted
    );
    assert!(
        !s.consume(&req(&b, "m", 1, Some(10), None))
            .await
            .unwrap()
            .admitted
    );
    let id = format!("{b}-t1");
    let t = UsageTopUp::pending(&id, &b, "m", 5, P, t0(), t0() + Duration::days(20));
    s.insert_topup(&t).await.unwrap();
    let tr = s
        .set_topup_status(&id, TopUpStatus::Completed, t0())
        .await
        .unwrap();
    assert!(tr.changed);
    let again = s
        .set_topup_status(&id, TopUpStatus::Completed, t0())
        .await
        .unwrap();
    assert!(!again.changed, "a webhook delivered twice completes once");
    let out = s.consume(&req(&b, "m", 5, Some(10), None)).await.unwrap();
    assert!(out.admitted);
    assert_eq!((out.used, out.topup_units), (15, 5));
    assert!(
        !s.consume(&req(&b, "m", 1, Some(10), None))
            .await
            .unwrap()
            .admitted
    );
}

async fn a_replay_returns_the_first_outcome_and_adds_nothing(s: RedisStore, _: Backend) {
    let b = common::brand("replay");
    let first = s
        .consume(&req(&b, "m", 4, Some(10), Some("k1")))
        .await
        .unwrap();
    assert!(first.admitted && !first.replayed && first.used == 4);
    s.consume(&req(&b, "m", 1, Some(10), None)).await.unwrap();
    let replay = s
        .consume(&req(&b, "m", 4, Some(10), Some("k1")))
        .await
        .unwrap();
    assert!(replay.replayed && replay.admitted);
    assert_eq!(replay.used, 4, "the first outcome, not the current usage");
    assert_eq!(s.usage(CounterKey::new(&b, "m", P)).await.unwrap().used, 5);
    // keys are scoped per brand
    let other = common::brand("replay-other");
    let fresh = s
        .consume(&req(&other, "m", 4, Some(10), Some("k1")))
        .await
        .unwrap();
    assert!(!fresh.replayed && fresh.admitted && fresh.used == 4);
}

async fn a_denied_consume_does_not_burn_its_idempotency_key(s: RedisStore, _: Backend) {
    let b = common::brand("burn");
    s.consume(&req(&b, "m", 9, Some(10), None)).await.unwrap();
    let denied = s
        .consume(&req(&b, "m", 5, Some(10), Some("k")))
        .await
        .unwrap();
    assert!(!denied.admitted && !denied.replayed);
    s.release(CounterKey::new(&b, "m", P), 9, 9).await.unwrap();
    let later = s
        .consume(&req(&b, "m", 5, Some(10), Some("k")))
        .await
        .unwrap();
    assert!(later.admitted && !later.replayed && later.used == 5);
}

async fn idempotency_keys_expire_after_their_ttl(_: RedisStore, backend: Backend) {
    let opts = common::options().set_idempotency_ttl(std::time::Duration::from_secs(3600));
    let Some(s) = common::store_with(backend, opts).await else {
        return;
    };
    let b = common::brand("ttl");
    s.consume(&req(&b, "m", 1, None, Some("k"))).await.unwrap();
    let mut within = req(&b, "m", 1, None, Some("k"));
    within.at_us = (t0() + Duration::minutes(59)).timestamp_micros();
    assert!(s.consume(&within).await.unwrap().replayed);
    let mut after = req(&b, "m", 1, None, Some("k"));
    after.at_us = (t0() + Duration::minutes(60)).timestamp_micros();
    let out = s.consume(&after).await.unwrap();
    assert!(!out.replayed && out.used == 2);
}

async fn values_past_two_to_the_53_stay_exact(s: RedisStore, _: Backend) {
    let b = common::brand("big");
    let big = (1u64 << 53) + 1;
    let out = s
        .consume(&req(&b, "m", big, Some(big), None))
        .await
        .unwrap();
    assert!(out.admitted && out.used == big);
    assert!(
        !s.consume(&req(&b, "m", 1, Some(big), None))
            .await
            .unwrap()
            .admitted
    );
    let edge = s
        .consume(&req(&b, "m", 1, Some(big + 1), None))
        .await
        .unwrap();
    assert!(edge.admitted && edge.used == big + 1);

    // the boundary between the plain-number path (< 10^15) and the split arithmetic
    let e = common::brand("e15");
    let below = 999_999_999_999_999;
    let out = s
        .consume(&req(&e, "m", below, Some(below + 1), None))
        .await
        .unwrap();
    assert!(out.admitted && out.used == below);
    let out = s
        .consume(&req(&e, "m", 1, Some(below + 1), None))
        .await
        .unwrap();
    assert!(out.admitted && out.used == below + 1);
    let out = s
        .consume(&req(&e, "m", 1, Some(below + 1), None))
        .await
        .unwrap();
    assert!(!out.admitted && out.used == below + 1);
    let back = s.release(CounterKey::new(&e, "m", P), 2, 9).await.unwrap();
    assert_eq!(back.used, below - 1);
    let out = s
        .consume(&req(&e, "m", 1, Some(below), None))
        .await
        .unwrap();
    assert!(out.admitted && out.used == below);

    let c = common::brand("max");
    let max = s
        .consume(&req(&c, "m", u64::MAX - 1, None, None))
        .await
        .unwrap();
    assert!(max.admitted && max.used == u64::MAX - 1);
    let last = s.consume(&req(&c, "m", 1, None, None)).await.unwrap();
    assert!(last.admitted && last.used == u64::MAX);
    let over = s.consume(&req(&c, "m", 1, None, None)).await.unwrap();
    assert!(
        !over.admitted && over.used == u64::MAX,
        "u64 overflow is a denial"
    );
    assert_eq!(
        s.daily_usage(CounterKey::new(&c, "m", P)).await.unwrap()[9],
        u64::MAX
    );
    let back = s
        .release(CounterKey::new(&c, "m", P), 12_345_678_901, 9)
        .await
        .unwrap();
    assert_eq!(back.used, u64::MAX - 12_345_678_901);
    assert_eq!(s.gauge(&c, "g").await.unwrap(), 0);
    assert!(
        s.adjust_gauge(&c, "g", i64::MAX, None)
            .await
            .unwrap()
            .admitted
    );
    assert!(
        s.adjust_gauge(&c, "g", i64::MAX, None)
            .await
            .unwrap()
            .admitted
    );
    let g = s.adjust_gauge(&c, "g", 1, None).await.unwrap();
    assert_eq!((g.admitted, g.level), (true, u64::MAX));
    let g = s.adjust_gauge(&c, "g", 1, None).await.unwrap();
    assert_eq!((g.admitted, g.level), (false, u64::MAX));
}

async fn release_saturates_and_gives_back_from_the_day_bucket(s: RedisStore, _: Backend) {
    let b = common::brand("release");
    let k = CounterKey::new(&b, "m", P);
    let mut r = req(&b, "m", 5, None, None);
    r.day = 2;
    s.consume(&r).await.unwrap();
    r.day = 4;
    s.consume(&r).await.unwrap();
    assert_eq!(s.daily_usage(k).await.unwrap(), vec![0, 0, 5, 0, 5]);
    let u = s.release(k, 3, 4).await.unwrap();
    assert_eq!(u.used, 7);
    let days = s.daily_usage(k).await.unwrap();
    assert_eq!(days[..5], [0, 0, 5, 0, 2]);
    let u = s.release(k, 100, 2).await.unwrap();
    assert_eq!(u.used, 0);
    let days = s.daily_usage(k).await.unwrap();
    assert_eq!(
        days[..5],
        [0, 0, 0, 0, 2],
        "only the given day's bucket gives back"
    );
    assert!(
        s.daily_usage(CounterKey::new(&b, "none", P))
            .await
            .unwrap()
            .is_empty()
    );
}

async fn gauges_refuse_increases_past_the_ceiling_and_saturate_at_zero(s: RedisStore, _: Backend) {
    let b = common::brand("gauge");
    let g = s.adjust_gauge(&b, "seats", 3, Some(5)).await.unwrap();
    assert_eq!((g.admitted, g.level), (true, 3));
    let g = s.adjust_gauge(&b, "seats", 3, Some(5)).await.unwrap();
    assert_eq!((g.admitted, g.level), (false, 3));
    let g = s.adjust_gauge(&b, "seats", -10, Some(5)).await.unwrap();
    assert_eq!((g.admitted, g.level), (true, 0));
    assert_eq!(s.set_gauge(&b, "seats", 9).await.unwrap(), 0);
    assert_eq!(s.set_gauge(&b, "seats", 4).await.unwrap(), 9);
    let g = s.adjust_gauge(&b, "seats", 0, Some(3)).await.unwrap();
    assert_eq!(
        (g.admitted, g.level),
        (false, 4),
        "already past the ceiling"
    );
    assert_eq!(s.gauge(&b, "seats").await.unwrap(), 4);
    assert_eq!(s.gauge(&b, "other").await.unwrap(), 0);
    s.reset_period(&b, None, P).await.unwrap();
    assert_eq!(s.gauge(&b, "seats").await.unwrap(), 4, "gauges never reset");
}

async fn reset_period_clears_usage_days_and_claims_only(s: RedisStore, _: Backend) {
    let b = common::brand("reset");
    let other = common::brand("reset-other");
    for brand in [&b, &other] {
        s.consume(&req(brand, "m", 5, None, None)).await.unwrap();
        s.consume(&req(brand, "n", 2, None, None)).await.unwrap();
        let mut next = req(brand, "m", 3, None, None);
        next.key.period = P2;
        s.consume(&next).await.unwrap();
        s.claim_alert(CounterKey::new(brand, "m", P), 50)
            .await
            .unwrap();
        s.claim_alert(CounterKey::new(brand, "x", P), 75)
            .await
            .unwrap();
    }
    let id = format!("{b}-t");
    s.insert_topup(&UsageTopUp::pending(
        &id,
        &b,
        "m",
        4,
        P,
        t0(),
        t0() + Duration::days(20),
    ))
    .await
    .unwrap();
    s.set_topup_status(&id, TopUpStatus::Completed, t0())
        .await
        .unwrap();
    s.append_event(&event(&b, 1)).await.unwrap();

    // one metric only
    s.reset_period(&b, Some("n"), P).await.unwrap();
    assert_eq!(s.usage(CounterKey::new(&b, "n", P)).await.unwrap().used, 0);
    assert_eq!(s.usage(CounterKey::new(&b, "m", P)).await.unwrap().used, 5);
    assert_eq!(
        s.claimed_alerts(CounterKey::new(&b, "m", P)).await.unwrap(),
        vec![50]
    );
    s.reset_period(&b, Some("x"), P).await.unwrap();
    assert!(
        s.claimed_alerts(CounterKey::new(&b, "x", P))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        s.claimed_alerts(CounterKey::new(&b, "m", P)).await.unwrap(),
        vec![50]
    );

    s.reset_period(&b, None, P).await.unwrap();
    let m = s.usage(CounterKey::new(&b, "m", P)).await.unwrap();
    assert_eq!((m.used, m.topup_units), (0, 4), "top-ups stay");
    assert_eq!(s.usage(CounterKey::new(&b, "n", P)).await.unwrap().used, 0);
    assert!(
        s.daily_usage(CounterKey::new(&b, "m", P))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        s.claimed_alerts(CounterKey::new(&b, "m", P))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        s.claimed_alerts(CounterKey::new(&b, "x", P))
            .await
            .unwrap()
            .is_empty()
    );
    let mut next = CounterKey::new(&b, "m", P);
    next.period = P2;
    assert_eq!(s.usage(next).await.unwrap().used, 3, "other periods stay");
    assert_eq!(
        s.usage(CounterKey::new(&other, "m", P)).await.unwrap().used,
        5
    );
    assert_eq!(
        s.claimed_alerts(CounterKey::new(&other, "m", P))
            .await
            .unwrap(),
        vec![50]
    );
    assert_eq!(
        s.events(&b, 10).await.unwrap().len(),
        1,
        "the timeline stays"
    );
    assert_eq!(s.topups(&b).await.unwrap().len(), 1);
    // counting starts again, and a claim can fire again
    assert_eq!(
        s.consume(&req(&b, "m", 2, None, None)).await.unwrap().used,
        2
    );
    assert!(
        s.claim_alert(CounterKey::new(&b, "m", P), 50)
            .await
            .unwrap()
    );
}

async fn topup_lifecycle_follows_the_core_rules(s: RedisStore, _: Backend) {
    let b = common::brand("topups");
    let ends = t0() + Duration::days(20);
    let ids: Vec<String> = (0..4).map(|i| format!("{b}-{i}")).collect();
    for (i, id) in ids.iter().enumerate() {
        let t = UsageTopUp::pending(id, &b, "m", 10 + i as u64, P, t0(), ends);
        s.insert_topup(&t).await.unwrap();
    }
    let dup = UsageTopUp::pending(&ids[0], &b, "m", 99, P, t0(), ends);
    assert!(matches!(
        s.insert_topup(&dup).await,
        Err(StoreError::Conflict(_))
    ));
    let same = UsageTopUp::pending(&ids[0], &b, "m", 10, P, t0(), ends);
    assert!(matches!(
        s.insert_topup(&same).await,
        Err(StoreError::Conflict(_))
    ));
    let elsewhere = UsageTopUp::pending(&ids[0], common::brand("x"), "m", 10, P, t0(), ends);
    assert!(matches!(
        s.insert_topup(&elsewhere).await,
        Err(StoreError::Conflict(_))
    ));

    let listed: Vec<String> = s
        .topups(&b)
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.id)
        .collect();
    assert_eq!(
        listed,
        ids.iter().rev().cloned().collect::<Vec<_>>(),
        "newest first"
    );

    let got = s.topup(&ids[1]).await.unwrap().unwrap();
    assert_eq!(
        (got.units, got.status, got.settled_at),
        (11, TopUpStatus::Pending, None)
    );
    assert!(s.topup("no-such-topup").await.unwrap().is_none());

    let at = t0() + Duration::hours(1);
    let failed = s
        .set_topup_status(&ids[1], TopUpStatus::Failed, at)
        .await
        .unwrap();
    assert!(failed.changed);
    assert_eq!(
        (failed.topup.status, failed.topup.settled_at),
        (TopUpStatus::Failed, Some(at))
    );
    let again = s
        .set_topup_status(&ids[1], TopUpStatus::Failed, t0())
        .await
        .unwrap();
    assert!(!again.changed);
    assert_eq!(
        again.topup.settled_at,
        Some(at),
        "unchanged keeps its settlement time"
    );
    let e = s
        .set_topup_status(&ids[1], TopUpStatus::Completed, at)
        .await
        .unwrap_err();
    assert!(
        matches!(&e, StoreError::Conflict(m) if m.contains("failed")),
        "{e}"
    );

    let late = s
        .set_topup_status(&ids[2], TopUpStatus::Completed, ends)
        .await
        .unwrap();
    assert_eq!(
        late.topup.status,
        TopUpStatus::Expired,
        "paid after its expiry"
    );
    assert_eq!(
        s.usage(CounterKey::new(&b, "m", P))
            .await
            .unwrap()
            .topup_units,
        0
    );

    let done = s
        .set_topup_status(&ids[3], TopUpStatus::Completed, at)
        .await
        .unwrap();
    assert!(done.changed && done.topup.status == TopUpStatus::Completed);
    assert_eq!(
        s.usage(CounterKey::new(&b, "m", P))
            .await
            .unwrap()
            .topup_units,
        13
    );
    assert_eq!(s.topup(&ids[3]).await.unwrap().unwrap(), done.topup);

    let missing = s
        .set_topup_status("no-such-topup", TopUpStatus::Completed, at)
        .await;
    assert!(matches!(missing, Err(StoreError::NotFound(_))));
}

async fn an_alert_is_claimed_exactly_once_under_concurrency(s: RedisStore, _: Backend) {
    let b: Arc<str> = common::brand("claims").into();
    let mut tasks = Vec::new();
    for _ in 0..64 {
        let (s, b) = (s.clone(), Arc::clone(&b));
        tasks.push(tokio::spawn(async move {
            s.claim_alert(CounterKey::new(&b, "m", P), 90)
                .await
                .unwrap()
        }));
    }
    let mut wins = 0;
    for t in tasks {
        wins += usize::from(t.await.unwrap());
    }
    assert_eq!(wins, 1);
    let k = CounterKey::new(&b, "m", P);
    assert!(s.claim_alert(k, 50).await.unwrap());
    assert!(s.claim_alert(k, 100).await.unwrap());
    assert_eq!(s.claimed_alerts(k).await.unwrap(), vec![50, 90, 100]);
    assert!(s.release_alert(k, 90).await.unwrap());
    assert!(!s.release_alert(k, 90).await.unwrap());
    assert!(
        s.claim_alert(k, 90).await.unwrap(),
        "claimable again after release"
    );
}

fn event(brand: &str, i: u64) -> TimelineEvent {
    TimelineEvent::new(
        brand,
        t0() + Duration::minutes(i as i64),
        P,
        Some("m".into()),
        Severity::Info,
        EventKind::ThresholdCrossed {
            threshold: 50,
            used: i,
            limit: 100,
        },
    )
}

async fn the_timeline_reads_newest_first(s: RedisStore, _: Backend) {
    let b = common::brand("timeline");
    assert!(s.events(&b, 10).await.unwrap().is_empty());
    for i in 0..5 {
        s.append_event(&event(&b, i)).await.unwrap();
    }
    let got = s.events(&b, 3).await.unwrap();
    assert_eq!(got, vec![event(&b, 4), event(&b, 3), event(&b, 2)]);
    assert_eq!(s.events(&b, usize::MAX).await.unwrap().len(), 5);
    assert!(s.events(&b, 0).await.unwrap().is_empty());
}

async fn subscriptions_are_listed_by_brand(s: RedisStore, _: Backend) {
    let a = common::brand("sub-a");
    let z = common::brand("sub-z");
    assert!(s.subscription(&a).await.unwrap().is_none());
    s.put_subscription(&Subscription::new(&z, "pro", t0()))
        .await
        .unwrap();
    s.put_subscription(&Subscription::new(&a, "free", t0()))
        .await
        .unwrap();
    s.put_subscription(&Subscription::new(&a, "starter", t0()))
        .await
        .unwrap();
    assert_eq!(s.subscription(&a).await.unwrap().unwrap().plan, "starter");
    let all = s.subscriptions().await.unwrap();
    let mine: Vec<_> = all
        .iter()
        .filter(|x| x.brand == a || x.brand == z)
        .collect();
    assert_eq!(mine.len(), 2);
    assert_eq!(mine[0].brand, a, "sorted by brand");
    assert!(all.windows(2).all(|w| w[0].brand <= w[1].brand));
}

async fn brands_that_break_the_hash_tag_are_refused(s: RedisStore, _: Backend) {
    for bad in ["", "a}b", "x{y"] {
        let e = s.consume(&req(bad, "m", 1, None, None)).await.unwrap_err();
        assert!(matches!(e, StoreError::Backend { .. }), "{e}");
    }
    s.ping().await.unwrap();
}

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
    let pick_qty = |rng: &mut Rng| match rng.below(6) {
        0 => 0,
        1 => u64::MAX - rng.below(3),
        2 => (1 << 53) + rng.below(5),
        3 => 999_999_999_999_990 + rng.below(20),
        _ => rng.below(20),
    };
    let mut topups = 0;
    let mut seen = [0u32; 3]; // admitted, denied, replayed
    for step in 0..400 {
        let metric = metrics[rng.below(2) as usize];
        let period = periods[rng.below(2) as usize];
        let key = CounterKey::new(&b, metric, period);
        let at = t0() + Duration::hours(rng.below(30) as i64);
        let ctx = format!("step {step}");
        match rng.below(10) {
            0..=4 => {
                let idem = format!("k{}", rng.below(8));
                let ceiling = match rng.below(4) {
                    0 => None,
                    1 => Some(u64::MAX - 1),
                    _ => Some(rng.below(60)),
                };
                let r = ConsumeRequest {
                    key,
                    quantity: pick_qty(&mut rng),
                    ceiling,
                    free_units: None,
                    idempotency_key: (rng.below(2) == 0).then_some(idem.as_str()),
                    fingerprint: FP,
                    day: rng.below(5) as u16,
                    at_us: at.timestamp_micros(),
                    retain_until: at + Duration::days(40),
                };
                let out = s.consume(&r).await.unwrap();
                assert_eq!(out, mem.consume(&r).await.unwrap(), "{ctx}");
                seen[usize::from(!out.admitted)] += 1;
                seen[2] += u32::from(out.replayed);
            }
            5 => {
                let (q, d) = (pick_qty(&mut rng), rng.below(5) as u16);
                assert_eq!(
                    s.release(key, q, d).await.unwrap(),
                    mem.release(key, q, d).await.unwrap(),
                    "{ctx}"
                );
            }
            6 => {
                let delta = match rng.below(3) {
                    0 => i64::MAX - rng.below(2) as i64,
                    1 => -(rng.below(10) as i64),
                    _ => rng.below(10) as i64,
                };
                let ceiling = (rng.below(2) == 0).then(|| rng.below(30));
                assert_eq!(
                    s.adjust_gauge(&b, metric, delta, ceiling).await.unwrap(),
                    mem.adjust_gauge(&b, metric, delta, ceiling).await.unwrap(),
                    "{ctx}"
                );
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
                let to = [TopUpStatus::Completed, TopUpStatus::Failed][rng.below(2) as usize];
                let when = at + Duration::hours(rng.below(20) as i64);
                assert_eq!(
                    s.set_topup_status(&id, to, when).await.unwrap(),
                    mem.set_topup_status(&id, to, when).await.unwrap(),
                    "{ctx}"
                );
            }
            8 => {
                if rng.below(4) == 0 {
                    let only = (rng.below(2) == 0).then_some(metric);
                    s.reset_period(&b, only, period).await.unwrap();
                    mem.reset_period(&b, only, period).await.unwrap();
                }
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
    assert!(
        seen.iter().all(|n| *n > 10),
        "the mix exercised every outcome: {seen:?}"
    );
}
