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
mod raw;

use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use common::Backend;
use quota_core::domain::MAX_UNITS;
use quota_core::store::{
    AlertStore, ConsumeOutcome, ConsumeRequest, CounterKey, CounterReset, GaugeOutcome,
    SubscriptionStore, TopUpStore, Usage, UsageStore, fingerprint,
};
use quota_core::{
    EventKind, MemoryStore, PeriodKey, Severity, StoreError, Subscription, TimelineEvent,
    TopUpStatus, UsageTopUp,
};
use quota_redis::RedisStore;
use redis::AsyncCommands;

const P: PeriodKey = PeriodKey(20261101);
const P2: PeriodKey = PeriodKey(20261201);
/// The fingerprint of every keyed request below that does not set its own.
const FP: u64 = 42;

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

/// An admitted or denied outcome without overage.
fn plain(admitted: bool, used: u64, topup: u64) -> ConsumeOutcome {
    ConsumeOutcome::new(admitted, used, topup, 0, 0)
}

/// The kind of a store error, to compare two stores' refusals.
fn kind(e: &StoreError) -> &'static str {
    match e {
        StoreError::Unavailable { .. } => "unavailable",
        StoreError::Timeout(_) => "timeout",
        StoreError::NotFound(_) => "not found",
        StoreError::Conflict(_) => "conflict",
        StoreError::OutOfRange(_) => "out of range",
        StoreError::Corrupt(_) => "corrupt",
        StoreError::Backend { .. } => "backend",
        _ => "other",
    }
}

/// Two stores' answers agree: the same value, or errors of the same kind.
fn same<T: PartialEq + std::fmt::Debug>(
    got: Result<T, StoreError>,
    want: Result<T, StoreError>,
    ctx: &str,
) {
    match (got, want) {
        (Ok(g), Ok(w)) => assert_eq!(g, w, "{ctx}"),
        (Err(g), Err(w)) => assert_eq!(kind(&g), kind(&w), "{ctx}: {g} vs {w}"),
        (g, w) => panic!("{ctx}: redis {g:?}, memory {w:?}"),
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
    a_reused_key_changes_nothing_and_keeps_its_first_request,
    a_key_in_the_four_field_form_replays_without_overage,
    a_denied_consume_does_not_burn_its_idempotency_key,
    idempotency_keys_expire_after_their_ttl,
    totals_at_the_domain_bound_stay_exact,
    overage_units_follow_consumes_releases_and_resets,
    release_saturates_and_gives_back_from_the_day_bucket,
    gauges_refuse_increases_past_the_ceiling_and_saturate_at_zero,
    reset_period_clears_usage_days_and_claims_only,
    reset_counter_refused_leaves_no_trace_and_a_retry_conflicts,
    topup_lifecycle_follows_the_core_rules,
    an_alert_is_claimed_exactly_once_under_concurrency,
    the_timeline_reads_newest_first_with_sequence_numbers,
    concurrent_appends_get_distinct_increasing_sequence_numbers,
    subscriptions_are_listed_by_brand,
    brands_that_break_the_hash_tag_are_refused,
    random_operations_match_the_memory_store,
);

async fn admits_up_to_the_ceiling_and_denies_the_unit_past_it(s: RedisStore, _: Backend) {
    let b = common::brand("ceiling");
    let first = s.consume(&req(&b, "m", 7, Some(10), None)).await.unwrap();
    assert_eq!(first, plain(true, 7, 0));
    let second = s.consume(&req(&b, "m", 3, Some(10), None)).await.unwrap();
    assert_eq!(second, plain(true, 10, 0));
    let third = s.consume(&req(&b, "m", 1, Some(10), None)).await.unwrap();
    assert_eq!(
        third,
        plain(false, 10, 0),
        "a denial reports the current usage"
    );
    let zero = s.consume(&req(&b, "m", 0, Some(10), None)).await.unwrap();
    assert_eq!(zero, plain(true, 10, 0));
    let u = s.usage(CounterKey::new(&b, "m", P)).await.unwrap();
    assert_eq!(u, Usage::new(10, 0, 0));
    let days = s.daily_usage(CounterKey::new(&b, "m", P)).await.unwrap();
    let mut want = vec![0; 10];
    want[9] = 10;
    assert_eq!(days, want);
    let other = s.usage(CounterKey::new(&b, "m", P2)).await.unwrap();
    assert_eq!(other, Usage::default(), "periods are isolated");
    let unbounded = s
        .consume(&req(&b, "n", 1_000_000, None, None))
        .await
        .unwrap();
    assert_eq!(unbounded, plain(true, 1_000_000, 0));
}

async fn completed_topups_raise_the_allowance_exactly_once(s: RedisStore, _: Backend) {
    let b = common::brand("topup-allowance");
    let out = s.consume(&req(&b, "m", 10, Some(10), None)).await.unwrap();
    assert_eq!(out, plain(true, 10, 0));
    let out = s.consume(&req(&b, "m", 1, Some(10), None)).await.unwrap();
    assert_eq!(out, plain(false, 10, 0));
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
    assert_eq!(again.topup, tr.topup);
    let out = s.consume(&req(&b, "m", 5, Some(10), None)).await.unwrap();
    assert_eq!(out, plain(true, 15, 5));
    let out = s.consume(&req(&b, "m", 1, Some(10), None)).await.unwrap();
    assert_eq!(out, plain(false, 15, 5));
}

async fn a_replay_returns_the_first_outcome_and_adds_nothing(s: RedisStore, _: Backend) {
    let b = common::brand("replay");
    let first = s
        .consume(&req(&b, "m", 4, Some(10), Some("k1")))
        .await
        .unwrap();
    assert_eq!(first, plain(true, 4, 0));
    s.consume(&req(&b, "m", 1, Some(10), None)).await.unwrap();
    let replay = s
        .consume(&req(&b, "m", 4, Some(10), Some("k1")))
        .await
        .unwrap();
    assert_eq!(
        replay,
        first.as_replay(),
        "the first outcome, not the current usage"
    );
    assert_eq!(s.usage(CounterKey::new(&b, "m", P)).await.unwrap().used, 5);
    // keys are scoped per brand
    let other = common::brand("replay-other");
    let fresh = s
        .consume(&req(&other, "m", 4, Some(10), Some("k1")))
        .await
        .unwrap();
    assert_eq!(fresh, plain(true, 4, 0));
}

async fn a_reused_key_changes_nothing_and_keeps_its_first_request(s: RedisStore, _: Backend) {
    let b = common::brand("reuse");
    let key = CounterKey::new(&b, "m", P);
    let mut first = req(&b, "m", 8, None, Some("k"));
    first.free_units = Some(5);
    first.fingerprint = fingerprint("m", 8, "POST /a");
    let out = s.consume(&first).await.unwrap();
    assert_eq!(out, ConsumeOutcome::new(true, 8, 0, 3, 3));
    let days = s.daily_usage(key).await.unwrap();

    // The same key for another request, whatever the counter's state: refused, nothing
    // changes, and the key still belongs to the first request.
    let mut other = first;
    other.fingerprint = fingerprint("m", 8, "POST /b");
    for _ in 0..3 {
        assert_eq!(
            s.consume(&other).await.unwrap(),
            ConsumeOutcome::key_reused()
        );
    }
    let mut other_metric = req(&b, "n", 8, None, Some("k"));
    other_metric.fingerprint = fingerprint("n", 8, "POST /a");
    assert_eq!(
        s.consume(&other_metric).await.unwrap(),
        ConsumeOutcome::key_reused()
    );
    assert_eq!(s.usage(key).await.unwrap(), Usage::new(8, 0, 3));
    assert_eq!(s.daily_usage(key).await.unwrap(), days);
    assert_eq!(
        s.usage(CounterKey::new(&b, "n", P)).await.unwrap(),
        Usage::default()
    );
    // The largest fingerprint a key may carry (below 2^63) is kept exactly.
    let mut top = req(&b, "m", 1, None, Some("top"));
    top.fingerprint = (1 << 63) - 1;
    let fresh = ConsumeOutcome::new(true, 9, 0, 3, 0);
    assert_eq!(s.consume(&top).await.unwrap(), fresh);
    assert_eq!(s.consume(&top).await.unwrap(), fresh.as_replay());
    top.fingerprint -= 1;
    assert_eq!(s.consume(&top).await.unwrap(), ConsumeOutcome::key_reused());

    assert_eq!(s.consume(&first).await.unwrap(), out.as_replay());
    assert_eq!(s.usage(key).await.unwrap(), Usage::new(9, 0, 3));
}

async fn a_key_in_the_four_field_form_replays_without_overage(_: RedisStore, backend: Backend) {
    let opts = common::options().set_key_prefix("q4f");
    let Some(s) = common::store_with(backend, opts).await else {
        return;
    };
    let b = common::brand("four-field");
    let deadline = (t0() + Duration::hours(1)).timestamp_micros();
    let mut raw = raw::connect(backend).await;
    let _: () = raw
        .set_ex(
            format!("q4f:{{{b}}}:i:old"),
            format!("5:3:2:{deadline}"),
            3600,
        )
        .await
        .unwrap();
    let replay = s
        .consume(&req(&b, "m", 3, None, Some("old")))
        .await
        .unwrap();
    assert_eq!(replay, plain(true, 8, 2).as_replay());
    assert_eq!(
        s.usage(CounterKey::new(&b, "m", P)).await.unwrap(),
        Usage::default(),
        "a replay adds nothing"
    );
    // Past its deadline the key is a new one.
    let mut late = req(&b, "m", 3, None, Some("old"));
    late.at_us = deadline;
    assert_eq!(s.consume(&late).await.unwrap(), plain(true, 3, 0));
}

async fn a_denied_consume_does_not_burn_its_idempotency_key(s: RedisStore, _: Backend) {
    let b = common::brand("burn");
    s.consume(&req(&b, "m", 9, Some(10), None)).await.unwrap();
    let denied = s
        .consume(&req(&b, "m", 5, Some(10), Some("k")))
        .await
        .unwrap();
    assert_eq!(denied, plain(false, 9, 0));
    s.release(CounterKey::new(&b, "m", P), 9, 9).await.unwrap();
    let later = s
        .consume(&req(&b, "m", 5, Some(10), Some("k")))
        .await
        .unwrap();
    assert_eq!(later, plain(true, 5, 0));
}

async fn idempotency_keys_expire_after_their_ttl(_: RedisStore, backend: Backend) {
    let opts = common::options().set_idempotency_ttl(std::time::Duration::from_secs(3600));
    let Some(s) = common::store_with(backend, opts).await else {
        return;
    };
    let b = common::brand("ttl");
    let first = s.consume(&req(&b, "m", 1, None, Some("k"))).await.unwrap();
    assert_eq!(first, plain(true, 1, 0));
    let mut within = req(&b, "m", 1, None, Some("k"));
    within.at_us = (t0() + Duration::minutes(59)).timestamp_micros();
    assert_eq!(s.consume(&within).await.unwrap(), first.as_replay());
    let mut after = req(&b, "m", 1, None, Some("k"));
    after.at_us = (t0() + Duration::minutes(60)).timestamp_micros();
    assert_eq!(s.consume(&after).await.unwrap(), plain(true, 2, 0));
}

async fn totals_at_the_domain_bound_stay_exact(s: RedisStore, _: Backend) {
    let b = common::brand("bound");
    let k = CounterKey::new(&b, "m", P);
    let out = s
        .consume(&req(&b, "m", MAX_UNITS - 1, Some(u64::MAX), None))
        .await
        .unwrap();
    assert_eq!(out, plain(true, MAX_UNITS - 1, 0));
    for (quantity, ceiling) in [
        (2, None),
        (2, Some(u64::MAX)),
        (u64::MAX, None),
        (u64::MAX, Some(u64::MAX)),
        (MAX_UNITS + 1, Some(u64::MAX)),
        (1, Some(MAX_UNITS - 2)),
    ] {
        let out = s
            .consume(&req(&b, "m", quantity, ceiling, None))
            .await
            .unwrap();
        assert_eq!(
            out,
            plain(false, MAX_UNITS - 1, 0),
            "{quantity} {ceiling:?}"
        );
    }
    let out = s.consume(&req(&b, "m", 1, None, None)).await.unwrap();
    assert_eq!(
        out,
        plain(true, MAX_UNITS, 0),
        "the domain's last unit fits"
    );
    assert_eq!(s.daily_usage(k).await.unwrap()[9], MAX_UNITS);
    // Free units past the domain: nothing is overage.
    let back = s.release(k, 1, 9).await.unwrap();
    assert_eq!(back, Usage::new(MAX_UNITS - 1, 0, 0));
    let mut r = req(&b, "m", 1, None, None);
    r.free_units = Some(u64::MAX);
    assert_eq!(s.consume(&r).await.unwrap(), plain(true, MAX_UNITS, 0));
    // Free units of zero at the bound: all of it is overage; a release past the usage
    // gives back everything.
    let back = s.release(k, u64::MAX, 9).await.unwrap();
    assert_eq!(back, Usage::default());
    r.free_units = Some(0);
    r.quantity = MAX_UNITS;
    assert_eq!(
        s.consume(&r).await.unwrap(),
        ConsumeOutcome::new(true, MAX_UNITS, 0, MAX_UNITS, MAX_UNITS)
    );
    assert_eq!(
        s.release(k, MAX_UNITS - 3, 9).await.unwrap(),
        Usage::new(3, 0, 3)
    );
    assert_eq!(s.daily_usage(k).await.unwrap()[9], 3);

    // Top-up units never pass the domain either: refused, the top-up stays pending.
    let t = format!("{b}-t");
    let ends = t0() + Duration::days(20);
    s.insert_topup(&UsageTopUp::pending(&t, &b, "m", MAX_UNITS, P, t0(), ends))
        .await
        .unwrap();
    s.set_topup_status(&t, TopUpStatus::Completed, t0())
        .await
        .unwrap();
    let more = format!("{b}-t2");
    s.insert_topup(&UsageTopUp::pending(&more, &b, "m", 1, P, t0(), ends))
        .await
        .unwrap();
    let e = s
        .set_topup_status(&more, TopUpStatus::Completed, t0())
        .await
        .unwrap_err();
    assert!(matches!(e, StoreError::OutOfRange(_)), "{e}");
    assert_eq!(
        s.topup(&more).await.unwrap().unwrap().status,
        TopUpStatus::Pending
    );
    assert_eq!(s.usage(k).await.unwrap(), Usage::new(3, MAX_UNITS, 3));
    let huge = format!("{b}-t3");
    let other = CounterKey::new(&b, "n", P);
    s.insert_topup(&UsageTopUp::pending(
        &huge,
        &b,
        "n",
        u64::MAX,
        P,
        t0(),
        ends,
    ))
    .await
    .unwrap();
    let e = s
        .set_topup_status(&huge, TopUpStatus::Completed, t0())
        .await
        .unwrap_err();
    assert!(matches!(e, StoreError::OutOfRange(_)), "{e}");
    assert_eq!(s.usage(other).await.unwrap(), Usage::default());

    // Gauges: the bound is a ceiling of its own; a set above it is out of range.
    let g = s.adjust_gauge(&b, "g", i64::MAX, None).await.unwrap();
    assert_eq!(
        g,
        GaugeOutcome {
            admitted: false,
            level: 0
        }
    );
    let g = s
        .adjust_gauge(&b, "g", MAX_UNITS as i64, Some(u64::MAX))
        .await
        .unwrap();
    assert_eq!(
        g,
        GaugeOutcome {
            admitted: true,
            level: MAX_UNITS
        }
    );
    let g = s.adjust_gauge(&b, "g", 1, Some(u64::MAX)).await.unwrap();
    assert_eq!(
        g,
        GaugeOutcome {
            admitted: false,
            level: MAX_UNITS
        }
    );
    let g = s.adjust_gauge(&b, "g", 0, None).await.unwrap();
    assert_eq!(
        g,
        GaugeOutcome {
            admitted: true,
            level: MAX_UNITS
        }
    );
    let g = s.adjust_gauge(&b, "g", -3, None).await.unwrap();
    assert_eq!(
        g,
        GaugeOutcome {
            admitted: true,
            level: MAX_UNITS - 3
        }
    );
    let g = s.adjust_gauge(&b, "g", i64::MIN, None).await.unwrap();
    assert_eq!(
        g,
        GaugeOutcome {
            admitted: true,
            level: 0
        }
    );
    assert_eq!(s.set_gauge(&b, "g", MAX_UNITS).await.unwrap(), 0);
    let e = s.set_gauge(&b, "g", MAX_UNITS + 1).await.unwrap_err();
    assert!(matches!(e, StoreError::OutOfRange(_)), "{e}");
    let e = s.set_gauge(&b, "g", u64::MAX).await.unwrap_err();
    assert!(matches!(e, StoreError::OutOfRange(_)), "{e}");
    assert_eq!(s.gauge(&b, "g").await.unwrap(), MAX_UNITS);
}

async fn overage_units_follow_consumes_releases_and_resets(s: RedisStore, _: Backend) {
    let b = common::brand("overage");
    let k = CounterKey::new(&b, "m", P);
    let consume = |quantity: u64, key: Option<&'static str>| {
        let mut r = req(&b, "m", quantity, Some(100), key);
        r.free_units = Some(10);
        r
    };
    let out = s.consume(&consume(12, Some("a"))).await.unwrap();
    assert_eq!(
        out,
        ConsumeOutcome::new(true, 12, 0, 2, 2),
        "crossing the free units"
    );
    let out2 = s.consume(&consume(4, Some("b"))).await.unwrap();
    assert_eq!(out2, ConsumeOutcome::new(true, 16, 0, 6, 4), "past them");
    // Replays carry the numbers of their time.
    assert_eq!(
        s.consume(&consume(12, Some("a"))).await.unwrap(),
        out.as_replay()
    );
    assert_eq!(
        s.consume(&consume(4, Some("b"))).await.unwrap(),
        out2.as_replay()
    );
    // A denial counts nothing.
    let denied = s.consume(&consume(85, None)).await.unwrap();
    assert_eq!(denied, ConsumeOutcome::new(false, 16, 0, 6, 0));
    // Without free units nothing is billed, whatever the usage.
    let free = s.consume(&req(&b, "m", 4, None, None)).await.unwrap();
    assert_eq!(free, ConsumeOutcome::new(true, 20, 0, 6, 0));
    assert_eq!(s.release(k, 2, 9).await.unwrap(), Usage::new(18, 0, 4));
    s.claim_alert(k, 80).await.unwrap();
    s.reset_period(&b, Some("m"), P).await.unwrap();
    assert_eq!(s.usage(k).await.unwrap(), Usage::default());
    let again = s.consume(&consume(11, None)).await.unwrap();
    assert_eq!(again, ConsumeOutcome::new(true, 11, 0, 1, 1));
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
    assert_eq!(u, Usage::new(7, 0, 0));
    assert_eq!(s.daily_usage(k).await.unwrap(), vec![0, 0, 5, 0, 2]);
    let u = s.release(k, 100, 2).await.unwrap();
    assert_eq!(u, Usage::new(0, 0, 0));
    assert_eq!(
        s.daily_usage(k).await.unwrap(),
        vec![0, 0, 0, 0, 2],
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
        let mut r = req(brand, "m", 5, None, None);
        r.free_units = Some(3);
        s.consume(&r).await.unwrap();
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
    let seq = s.append_event(&event(&b, 1)).await.unwrap();

    // one metric only
    s.reset_period(&b, Some("n"), P).await.unwrap();
    assert_eq!(
        s.usage(CounterKey::new(&b, "n", P)).await.unwrap(),
        Usage::default()
    );
    assert_eq!(
        s.usage(CounterKey::new(&b, "m", P)).await.unwrap(),
        Usage::new(5, 4, 2)
    );
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
    assert_eq!(
        s.usage(CounterKey::new(&b, "m", P)).await.unwrap(),
        Usage::new(0, 4, 0),
        "top-ups stay; usage and overage go"
    );
    assert_eq!(
        s.usage(CounterKey::new(&b, "n", P)).await.unwrap(),
        Usage::default()
    );
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
    assert_eq!(
        s.usage(next).await.unwrap(),
        Usage::new(3, 0, 0),
        "other periods stay"
    );
    assert_eq!(
        s.usage(CounterKey::new(&other, "m", P)).await.unwrap(),
        Usage::new(5, 0, 2)
    );
    assert_eq!(
        s.claimed_alerts(CounterKey::new(&other, "m", P))
            .await
            .unwrap(),
        vec![50]
    );
    assert_eq!(
        s.events(&b, 10).await.unwrap(),
        vec![event(&b, 1).with_seq(seq)],
        "the timeline stays"
    );
    assert_eq!(s.topups(&b).await.unwrap().len(), 1);
    // counting starts again, and a claim can fire again
    assert_eq!(
        s.consume(&req(&b, "m", 2, None, None)).await.unwrap(),
        plain(true, 2, 4)
    );
    assert!(
        s.claim_alert(CounterKey::new(&b, "m", P), 50)
            .await
            .unwrap()
    );
}

async fn reset_counter_refused_leaves_no_trace_and_a_retry_conflicts(s: RedisStore, _: Backend) {
    let b = common::brand("rc");
    let k = CounterKey::new(&b, "m", P);
    let ends = t0() + Duration::days(20);
    s.consume(&req(&b, "m", 6, None, None)).await.unwrap();
    let full = format!("{b}-full");
    s.insert_topup(&UsageTopUp::pending(
        &full,
        &b,
        "m",
        MAX_UNITS - 1,
        P,
        t0(),
        ends,
    ))
    .await
    .unwrap();
    s.set_topup_status(&full, TopUpStatus::Completed, t0())
        .await
        .unwrap();
    let before = s.usage(k).await.unwrap();
    assert_eq!(before, Usage::new(6, MAX_UNITS - 1, 0));

    // Its units would pass the domain: refused, and the id stays free.
    let id = format!("{b}-new");
    let mut t = UsageTopUp::pending(&id, &b, "m", 2, P, t0(), ends);
    t.status = TopUpStatus::Completed;
    t.settled_at = Some(t0());
    let events = [event(&b, 1)];
    let reset = CounterReset::new(k, 1, 0, ends)
        .with_topup(&t)
        .with_events(&events);
    let e = s.reset_counter(&reset).await.unwrap_err();
    assert!(matches!(e, StoreError::OutOfRange(_)), "{e}");
    assert_eq!(s.usage(k).await.unwrap(), before);
    assert!(s.topup(&id).await.unwrap().is_none());
    assert!(s.events(&b, 10).await.unwrap().is_empty());
    let e = s
        .reset_counter(&CounterReset::new(k, MAX_UNITS + 1, 0, ends))
        .await
        .unwrap_err();
    assert!(matches!(e, StoreError::OutOfRange(_)), "{e}");
    assert_eq!(s.usage(k).await.unwrap(), before);

    // Elsewhere (another brand) the same id is taken only once it is inserted.
    let c = common::brand("rc-other");
    let kc = CounterKey::new(&c, "m", P);
    let mut tc = t.clone();
    tc.brand.clone_from(&c);
    let events = [event(&c, 1)];
    let done = s
        .reset_counter(
            &CounterReset::new(kc, 1, 0, ends)
                .with_topup(&tc)
                .with_events(&events),
        )
        .await
        .unwrap();
    assert_eq!(done, Usage::new(1, 2, 0));
    assert_eq!(s.topup(&id).await.unwrap(), Some(tc.clone()));
    let seq = s.events(&c, 10).await.unwrap()[0].seq;
    // A retry of the same reset conflicts and changes nothing; the top-up stays findable.
    s.consume(&req(&c, "m", 3, None, None)).await.unwrap();
    let e = s
        .reset_counter(
            &CounterReset::new(kc, 1, 0, ends)
                .with_topup(&tc)
                .with_events(&events),
        )
        .await
        .unwrap_err();
    assert!(matches!(e, StoreError::Conflict(_)), "{e}");
    assert_eq!(s.topup(&id).await.unwrap(), Some(tc.clone()));
    assert_eq!(s.usage(kc).await.unwrap(), Usage::new(4, 2, 0));
    assert_eq!(
        s.events(&c, 10).await.unwrap(),
        vec![event(&c, 1).with_seq(seq)]
    );
    // And the first brand cannot take that id any more.
    let e = s.reset_counter(&reset).await.unwrap_err();
    assert!(matches!(e, StoreError::Conflict(_)), "{e}");
    // A top-up of another brand does not join this counter.
    let e = s
        .reset_counter(&CounterReset::new(k, 0, 0, ends).with_topup(&tc))
        .await
        .unwrap_err();
    assert!(matches!(e, StoreError::Backend { .. }), "{e}");
    assert_eq!(s.usage(k).await.unwrap(), before);
}

async fn topup_lifecycle_follows_the_core_rules(s: RedisStore, _: Backend) {
    let b = common::brand("topups");
    let ends = t0() + Duration::days(20);
    let ids: Vec<String> = (0..5).map(|i| format!("{b}-{i}")).collect();
    for (i, id) in ids.iter().enumerate() {
        let t = UsageTopUp::pending(id, &b, "m", 10 + i as u64, P, t0(), ends);
        s.insert_topup(&t).await.unwrap();
    }
    let dup = UsageTopUp::pending(&ids[0], &b, "m", 99, P, t0(), ends);
    let e = s.insert_topup(&dup).await.unwrap_err();
    assert!(matches!(e, StoreError::Conflict(_)), "{e}");
    let same = UsageTopUp::pending(&ids[0], &b, "m", 10, P, t0(), ends);
    let e = s.insert_topup(&same).await.unwrap_err();
    assert!(matches!(e, StoreError::Conflict(_)), "{e}");
    let elsewhere = UsageTopUp::pending(&ids[0], common::brand("x"), "m", 10, P, t0(), ends);
    let e = s.insert_topup(&elsewhere).await.unwrap_err();
    assert!(matches!(e, StoreError::Conflict(_)), "{e}");

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
        got,
        UsageTopUp::pending(&ids[1], &b, "m", 11, P, t0(), ends)
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
        matches!(&e, StoreError::Conflict(m) if m.contains("is failed")),
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
    assert!(done.changed);
    assert_eq!(done.topup.status, TopUpStatus::Completed);
    assert_eq!(
        s.usage(CounterKey::new(&b, "m", P))
            .await
            .unwrap()
            .topup_units,
        13
    );
    assert_eq!(s.topup(&ids[3]).await.unwrap().unwrap(), done.topup);

    // Cancelled: stored and read as such, final like failed.
    let cancelled = s
        .set_topup_status(&ids[4], TopUpStatus::Cancelled, at)
        .await
        .unwrap();
    assert!(cancelled.changed);
    assert_eq!(cancelled.topup.status, TopUpStatus::Cancelled);
    assert_eq!(s.topup(&ids[4]).await.unwrap().unwrap(), cancelled.topup);
    let again = s
        .set_topup_status(&ids[4], TopUpStatus::Cancelled, t0())
        .await
        .unwrap();
    assert_eq!(
        (again.changed, again.topup),
        (false, cancelled.topup.clone())
    );
    for to in [TopUpStatus::Completed, TopUpStatus::Failed] {
        let e = s.set_topup_status(&ids[4], to, at).await.unwrap_err();
        assert!(
            matches!(&e, StoreError::Conflict(m) if m.contains("is cancelled")),
            "{e}"
        );
    }
    assert_eq!(s.topups(&b).await.unwrap()[0], cancelled.topup);

    let e = s
        .set_topup_status("no-such-topup", TopUpStatus::Completed, at)
        .await
        .unwrap_err();
    assert!(matches!(e, StoreError::NotFound(_)), "{e}");
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

async fn the_timeline_reads_newest_first_with_sequence_numbers(s: RedisStore, _: Backend) {
    let b = common::brand("timeline");
    assert!(s.events(&b, 10).await.unwrap().is_empty());
    let mut seqs = Vec::new();
    for i in 0..5 {
        seqs.push(s.append_event(&event(&b, i)).await.unwrap());
    }
    assert_eq!(seqs, [1, 2, 3, 4, 5], "a brand's sequence starts at 1");
    let got = s.events(&b, 3).await.unwrap();
    assert_eq!(
        got,
        vec![
            event(&b, 4).with_seq(5),
            event(&b, 3).with_seq(4),
            event(&b, 2).with_seq(3)
        ]
    );
    assert_eq!(s.events(&b, usize::MAX).await.unwrap().len(), 5);
    assert!(s.events(&b, 0).await.unwrap().is_empty());

    // A time is kept to the microsecond: nanoseconds go, and two events within one
    // microsecond read in reverse append order. The event's own `seq` is ignored.
    let fine = common::brand("timeline-us");
    let at = t0() + Duration::nanoseconds(1_234_567_891);
    let mut late = event(&fine, 0);
    late.at = at;
    late.seq = 999;
    let mut early = event(&fine, 0);
    early.at = at - Duration::nanoseconds(500);
    let first = s.append_event(&late).await.unwrap();
    let second = s.append_event(&early).await.unwrap();
    let mut want_late = late.clone().with_seq(first);
    want_late.at = t0() + Duration::microseconds(1_234_567);
    let mut want_early = early.clone().with_seq(second);
    want_early.at = want_late.at;
    assert_eq!(
        s.events(&fine, 10).await.unwrap(),
        vec![want_early, want_late]
    );
    // Before the epoch too.
    let old = common::brand("timeline-old");
    let mut e = event(&old, 0);
    e.at = Utc.with_ymd_and_hms(1969, 7, 20, 20, 17, 40).unwrap() + Duration::microseconds(7);
    let seq = s.append_event(&e).await.unwrap();
    assert_eq!(s.events(&old, 1).await.unwrap(), vec![e.with_seq(seq)]);
}

async fn concurrent_appends_get_distinct_increasing_sequence_numbers(s: RedisStore, _: Backend) {
    let b: Arc<str> = common::brand("timeline-conc").into();
    let mut tasks = Vec::new();
    for task in 0..8u64 {
        let (s, b) = (s.clone(), Arc::clone(&b));
        tasks.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            for i in 0..25 {
                // Every event at the same instant: only the sequence orders them.
                let mut e = event(&b, 0);
                e.kind = EventKind::ThresholdCrossed {
                    threshold: 50,
                    used: task * 100 + i,
                    limit: 100,
                };
                mine.push(s.append_event(&e).await.unwrap());
            }
            mine
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        let mine = t.await.unwrap();
        assert!(mine.windows(2).all(|w| w[0] < w[1]), "{mine:?}");
        all.extend(mine);
    }
    all.sort_unstable();
    assert_eq!(all, (1..=200).collect::<Vec<u64>>());
    let got: Vec<u64> = s
        .events(&b, 1000)
        .await
        .unwrap()
        .iter()
        .map(|e| e.seq)
        .collect();
    assert_eq!(got, (1..=200).rev().collect::<Vec<u64>>());
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
    assert_eq!(
        s.subscription(&a).await.unwrap(),
        Some(Subscription::new(&a, "starter", t0()))
    );
    let all = s.subscriptions().await.unwrap();
    let mine: Vec<_> = all
        .iter()
        .filter(|x| x.brand == a || x.brand == z)
        .collect();
    assert_eq!(
        mine,
        [
            &Subscription::new(&a, "starter", t0()),
            &Subscription::new(&z, "pro", t0())
        ],
        "sorted by brand"
    );
    assert!(all.windows(2).all(|w| w[0].brand <= w[1].brand));
}

async fn brands_that_break_the_hash_tag_are_refused(s: RedisStore, _: Backend) {
    for bad in ["", "a}b", "x{y"] {
        let e = s.consume(&req(bad, "m", 1, None, None)).await.unwrap_err();
        assert!(matches!(e, StoreError::Backend { .. }), "{e}");
        let e = s.append_event(&event(bad, 0)).await.unwrap_err();
        assert!(matches!(e, StoreError::Backend { .. }), "{e}");
        let e = s
            .reset_counter(&CounterReset::new(CounterKey::new(bad, "m", P), 0, 0, t0()))
            .await
            .unwrap_err();
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
