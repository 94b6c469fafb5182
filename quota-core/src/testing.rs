//! The store conformance suite: one set of async tests that every backend passes unchanged.
//!
//! Enable the `testing` feature and expand [`store_conformance_tests!`](crate::store_conformance_tests)
//! in a test file with a function that returns a fresh handle to your store:
//!
//! ```text
//! async fn make_store() -> std::sync::Arc<dyn quota_core::Store> {
//!     std::sync::Arc::new(quota_core::MemoryStore::new())
//! }
//! quota_core::store_conformance_tests!(make_store);
//! ```
//!
//! Each case uses brand ids of its own ([`unique_brand`]), so cases can run in parallel on one
//! shared server without flushing it. Every case asserts exact values: counts under
//! concurrency are never "roughly" right.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    missing_docs
)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, Duration, TimeZone, Utc};

use crate::domain::MAX_UNITS;
use crate::error::StoreError;
use crate::period::PeriodKey;
use crate::store::{
    ConsumeOutcome, ConsumeRequest, CounterKey, CounterReset, Store, Usage, fingerprint,
};
use crate::subscription::Subscription;
use crate::threshold::Severity;
use crate::timeline::{EventKind, TimelineEvent};
use crate::topup::{TopUpStatus, UsageTopUp};

/// The period most cases use.
pub const PERIOD: PeriodKey = PeriodKey(20261101);
/// Another period, for isolation cases.
pub const NEXT_PERIOD: PeriodKey = PeriodKey(20261201);

/// A fixed "now" inside [`PERIOD`].
pub fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0).unwrap()
}

/// End of [`PERIOD`].
pub fn period_end() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap()
}

/// A brand id unique to this process and call, e.g. `ct-exact-1f2e-3`.
pub fn unique_brand(tag: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = Utc::now().timestamp_nanos_opt().unwrap_or(0);
    format!("ct-{tag}-{}-{nanos:x}-{n}", std::process::id())
}

/// A consume request on [`PERIOD`] at [`now`].
pub fn request<'a>(
    brand: &'a str,
    metric: &'a str,
    quantity: u64,
    ceiling: Option<u64>,
    key: Option<&'a str>,
) -> ConsumeRequest<'a> {
    ConsumeRequest {
        key: CounterKey::new(brand, metric, PERIOD),
        quantity,
        ceiling,
        free_units: None,
        idempotency_key: key,
        fingerprint: key.map_or(0, |_| fingerprint(metric, quantity, "")),
        day: 24,
        at_us: now().timestamp_micros(),
        retain_until: period_end() + Duration::days(35),
    }
}

/// Units used of a counter of [`PERIOD`] (or another period).
async fn used(store: &Arc<dyn Store>, brand: &str, metric: &str, period: PeriodKey) -> u64 {
    store
        .usage(CounterKey::new(brand, metric, period))
        .await
        .unwrap()
        .used
}

fn event(brand: &str, n: i64) -> TimelineEvent {
    TimelineEvent::new(
        brand,
        now() + Duration::seconds(n),
        PERIOD,
        Some("m".into()),
        Severity::Info,
        EventKind::ThresholdCrossed {
            threshold: 50,
            used: u64::try_from(n).unwrap(),
            limit: 100,
        },
    )
}

fn topup(id: &str, brand: &str, units: u64) -> UsageTopUp {
    UsageTopUp::pending(id, brand, "m", units, PERIOD, now(), period_end())
}

/// 8 tasks x 10,000 consumes of 1 unit on a ceiling of 25,000 admit exactly 25,000.
pub async fn exact_counts_under_concurrency(store: Arc<dyn Store>) {
    let brand = Arc::new(unique_brand("exact"));
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let store = Arc::clone(&store);
        let brand = Arc::clone(&brand);
        tasks.push(tokio::spawn(async move {
            let mut admitted = 0u64;
            for _ in 0..10_000 {
                let out = store
                    .consume(&request(&brand, "m", 1, Some(25_000), None))
                    .await
                    .unwrap();
                if out.admitted {
                    admitted += 1;
                }
            }
            admitted
        }));
    }
    let mut total = 0;
    for t in tasks {
        total += t.await.unwrap();
    }
    assert_eq!(
        total, 25_000,
        "admitted units must equal the ceiling exactly"
    );
    let usage = store
        .usage(CounterKey::new(&brand, "m", PERIOD))
        .await
        .unwrap();
    assert_eq!(usage.used, 25_000);
    assert_eq!(
        store
            .daily_usage(CounterKey::new(&brand, "m", PERIOD))
            .await
            .unwrap()[24],
        25_000
    );
}

/// The unit past the ceiling is denied and changes nothing; a zero quantity reports usage.
pub async fn denies_the_unit_past_the_ceiling(store: Arc<dyn Store>) {
    let brand = unique_brand("ceil");
    let out = store
        .consume(&request(&brand, "m", 10, Some(10), None))
        .await
        .unwrap();
    assert!(out.admitted);
    assert_eq!((out.used, out.topup_units, out.replayed), (10, 0, false));
    let out = store
        .consume(&request(&brand, "m", 1, Some(10), None))
        .await
        .unwrap();
    assert!(!out.admitted);
    assert_eq!(out.used, 10);
    let out = store
        .consume(&request(&brand, "m", 0, Some(10), None))
        .await
        .unwrap();
    assert!(out.admitted, "zero units always fit");
    assert_eq!(out.used, 10);
    let big = store
        .consume(&request(&brand, "m", u64::MAX, Some(10), None))
        .await
        .unwrap();
    assert!(!big.admitted);
    assert_eq!(used(&store, &brand, "m", PERIOD).await, 10);
}

/// Without a ceiling (or with one above the domain), a total never passes
/// [`MAX_UNITS`]: the consume that would is denied and changes nothing; the last unit of the
/// domain fits exactly. Gauges keep to the same bound.
pub async fn totals_stay_within_the_domain(store: Arc<dyn Store>) {
    let brand = unique_brand("domain");
    let out = store
        .consume(&request(&brand, "m", MAX_UNITS - 10, None, None))
        .await
        .unwrap();
    assert!(out.admitted);
    for (quantity, ceiling) in [
        (11, None),
        (11, Some(u64::MAX)),
        (u64::MAX, None),
        (u64::MAX - (MAX_UNITS - 10) + 1, None),
    ] {
        let out = store
            .consume(&request(&brand, "m", quantity, ceiling, None))
            .await
            .unwrap();
        assert!(!out.admitted, "{quantity} more units pass the domain");
        assert_eq!(out.used, MAX_UNITS - 10);
    }
    let out = store
        .consume(&request(&brand, "m", 10, Some(u64::MAX), None))
        .await
        .unwrap();
    assert!(out.admitted, "the domain's last units fit");
    assert_eq!(out.used, MAX_UNITS);
    let out = store
        .consume(&request(&brand, "m", 1, None, None))
        .await
        .unwrap();
    assert!(!out.admitted);
    assert_eq!(used(&store, &brand, "m", PERIOD).await, MAX_UNITS);
    let key = CounterKey::new(&brand, "m", PERIOD);
    assert_eq!(store.daily_usage(key).await.unwrap()[24], MAX_UNITS);

    // Top-ups never lift the bound either.
    let t = format!("{brand}-t");
    store.insert_topup(&topup(&t, &brand, 7)).await.unwrap();
    store
        .set_topup_status(&t, TopUpStatus::Completed, now())
        .await
        .unwrap();
    let out = store
        .consume(&request(&brand, "m", 1, Some(MAX_UNITS), None))
        .await
        .unwrap();
    assert!(!out.admitted);

    let gauge = store
        .adjust_gauge(&brand, "seats", i64::MAX, None)
        .await
        .unwrap();
    assert!(!gauge.admitted, "a level past the domain is refused");
    assert_eq!(gauge.level, 0);
    store
        .adjust_gauge(&brand, "seats", i64::try_from(MAX_UNITS).unwrap(), None)
        .await
        .unwrap();
    let gauge = store.adjust_gauge(&brand, "seats", 1, None).await.unwrap();
    assert!(!gauge.admitted);
    assert_eq!(gauge.level, MAX_UNITS);
    let err = store
        .set_gauge(&brand, "other", MAX_UNITS + 1)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::OutOfRange(_)), "{err}");
    assert_eq!(store.gauge(&brand, "other").await.unwrap(), 0);
}

/// A replayed idempotency key returns the first outcome and counts once, per brand.
pub async fn idempotent_replay_counts_once(store: Arc<dyn Store>) {
    let brand = unique_brand("idem");
    let other = unique_brand("idem-other");
    let first = store
        .consume(&request(&brand, "m", 3, Some(100), Some("k1")))
        .await
        .unwrap();
    assert!(first.admitted && !first.replayed);
    store
        .consume(&request(&brand, "m", 1, Some(100), None))
        .await
        .unwrap();
    let again = store
        .consume(&request(&brand, "m", 3, Some(100), Some("k1")))
        .await
        .unwrap();
    assert!(again.admitted && again.replayed);
    assert_eq!(again.used, 3, "a replay returns the first outcome");
    assert_eq!(used(&store, &brand, "m", PERIOD).await, 4);
    let elsewhere = store
        .consume(&request(&other, "m", 3, Some(100), Some("k1")))
        .await
        .unwrap();
    assert!(
        elsewhere.admitted && !elsewhere.replayed,
        "keys are scoped per brand"
    );
}

/// A key is bound to the fingerprint of its first request: the same key with another
/// request (metric, quantity or scope) is refused as reused and changes nothing; the same
/// request replays the first outcome, overage numbers included.
pub async fn idempotency_keys_are_bound_to_their_request(store: Arc<dyn Store>) {
    let brand = unique_brand("fp");
    let mut first = request(&brand, "m", 6, None, Some("k"));
    first.free_units = Some(4);
    let out = store.consume(&first).await.unwrap();
    assert!(out.admitted && !out.replayed && !out.key_reused);
    assert_eq!((out.used, out.overage_units, out.charged_units), (6, 2, 2));
    let mut later = request(&brand, "m", 3, None, None);
    later.free_units = Some(4);
    store.consume(&later).await.unwrap();

    let mut other_quantity = request(&brand, "m", 7, None, Some("k"));
    other_quantity.free_units = Some(4);
    let mut other_scope = first;
    other_scope.fingerprint = fingerprint("m", 6, "POST /renders");
    for reused in [other_quantity, other_scope] {
        let out = store.consume(&reused).await.unwrap();
        assert!(out.key_reused, "{reused:?}");
        assert!(!out.admitted && !out.replayed);
    }
    let mut other_metric = request(&brand, "n", 6, None, Some("k"));
    other_metric.fingerprint = fingerprint("n", 6, "");
    assert!(store.consume(&other_metric).await.unwrap().key_reused);
    assert_eq!(used(&store, &brand, "m", PERIOD).await, 9);
    assert_eq!(used(&store, &brand, "n", PERIOD).await, 0);

    let replay = store.consume(&first).await.unwrap();
    assert_eq!(
        replay,
        out.as_replay(),
        "a replay is the first outcome, numbers as they were then"
    );
    assert_eq!(used(&store, &brand, "m", PERIOD).await, 9);
}

/// Units admitted past what the free units, the top-ups completed at that moment and the
/// overage already billed pay for are overage units: counted as they are admitted, kept
/// when a later top-up raises the allowance (whose credits then pay for later units only),
/// lowered by releases and cleared by resets.
pub async fn overage_units_are_counted_when_admitted(store: Arc<dyn Store>) {
    let brand = unique_brand("over");
    let key = CounterKey::new(&brand, "m", PERIOD);
    let consume = |quantity: u64| {
        let mut r = request(&brand, "m", quantity, None, None);
        r.free_units = Some(10);
        r
    };
    let out = store.consume(&consume(8)).await.unwrap();
    assert_eq!((out.used, out.overage_units, out.charged_units), (8, 0, 0));
    let out = store.consume(&consume(5)).await.unwrap();
    assert_eq!((out.used, out.overage_units, out.charged_units), (13, 3, 3));
    let t = format!("{brand}-t");
    store.insert_topup(&topup(&t, &brand, 10)).await.unwrap();
    store
        .set_topup_status(&t, TopUpStatus::Completed, now())
        .await
        .unwrap();
    assert_eq!(
        store.usage(key).await.unwrap(),
        Usage::new(13, 10, 3),
        "a top-up covers future usage; the overage already billed stays"
    );
    // 10 free + 10 credits + 3 billed: units up to 23 are paid for.
    let out = store.consume(&consume(4)).await.unwrap();
    assert_eq!((out.used, out.overage_units, out.charged_units), (17, 3, 0));
    let out = store.consume(&consume(5)).await.unwrap();
    assert_eq!((out.used, out.overage_units, out.charged_units), (22, 3, 0));
    let out = store.consume(&consume(3)).await.unwrap();
    assert_eq!((out.used, out.overage_units, out.charged_units), (25, 5, 2));
    let denied = store
        .consume(&{
            let mut r = consume(5);
            r.ceiling = Some(15);
            r
        })
        .await
        .unwrap();
    assert!(!denied.admitted);
    assert_eq!((denied.overage_units, denied.charged_units), (5, 0));
    assert_eq!(
        store.release(key, 3, 24).await.unwrap(),
        Usage::new(22, 10, 2)
    );
    assert_eq!(
        store.release(key, 100, 24).await.unwrap(),
        Usage::new(0, 10, 0)
    );
    store.consume(&consume(30)).await.unwrap();
    assert_eq!(store.usage(key).await.unwrap(), Usage::new(30, 10, 10));
    store.reset_period(&brand, Some("m"), PERIOD).await.unwrap();
    assert_eq!(store.usage(key).await.unwrap(), Usage::new(0, 10, 0));
}

/// A denied consume does not remember its key: the same key may succeed later.
pub async fn denied_consume_does_not_burn_its_key(store: Arc<dyn Store>) {
    let brand = unique_brand("burn");
    let denied = store
        .consume(&request(&brand, "m", 5, Some(2), Some("k")))
        .await
        .unwrap();
    assert!(!denied.admitted);
    let ok = store
        .consume(&request(&brand, "m", 2, Some(2), Some("k")))
        .await
        .unwrap();
    assert!(ok.admitted && !ok.replayed);
    assert_eq!(ok.used, 2);
}

/// 16 concurrent consumes with one key: exactly one is counted.
pub async fn concurrent_replays_count_once(store: Arc<dyn Store>) {
    let brand = Arc::new(unique_brand("idem-conc"));
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let store = Arc::clone(&store);
        let brand = Arc::clone(&brand);
        tasks.push(tokio::spawn(async move {
            store
                .consume(&request(&brand, "m", 7, Some(1000), Some("same")))
                .await
                .unwrap()
        }));
    }
    let mut fresh = 0;
    for t in tasks {
        let out = t.await.unwrap();
        assert!(out.admitted);
        assert_eq!(out.used, 7);
        if !out.replayed {
            fresh += 1;
        }
    }
    assert_eq!(fresh, 1);
    assert_eq!(used(&store, &brand, "m", PERIOD).await, 7);
}

/// Daily buckets follow consumes and releases; releases saturate at zero.
pub async fn daily_buckets_and_release(store: Arc<dyn Store>) {
    let brand = unique_brand("days");
    let key = CounterKey::new(&brand, "m", PERIOD);
    let mut r = request(&brand, "m", 4, None, None);
    r.day = 0;
    store.consume(&r).await.unwrap();
    store.consume(&r).await.unwrap();
    r.day = 3;
    r.quantity = 5;
    store.consume(&r).await.unwrap();
    let days = store.daily_usage(key).await.unwrap();
    assert_eq!(&days[..4], &[8, 0, 0, 5]);
    assert!(days[4..].iter().all(|d| *d == 0));
    let after = store.release(key, 2, 3).await.unwrap();
    assert_eq!(after.used, 11);
    assert_eq!(store.daily_usage(key).await.unwrap()[3], 3);
    let after = store.release(key, 1_000, 3).await.unwrap();
    assert_eq!(after.used, 0, "release saturates at zero");
    let day3 = store.daily_usage(key).await.unwrap().get(3).copied();
    assert_eq!(
        day3.unwrap_or(0),
        0,
        "an emptied trailing day may be kept as 0 or omitted"
    );
    let empty = store
        .daily_usage(CounterKey::new(&brand, "other", PERIOD))
        .await
        .unwrap();
    assert!(empty.iter().all(|d| *d == 0));
}

/// Gauges: checked increases, saturating decreases, set returns the previous level, exact
/// under concurrency.
pub async fn gauges(store: Arc<dyn Store>) {
    let brand = Arc::new(unique_brand("gauge"));
    assert_eq!(store.gauge(&brand, "seats").await.unwrap(), 0);
    let out = store
        .adjust_gauge(&brand, "seats", 3, Some(5))
        .await
        .unwrap();
    assert!(out.admitted);
    assert_eq!(out.level, 3);
    let out = store
        .adjust_gauge(&brand, "seats", 3, Some(5))
        .await
        .unwrap();
    assert!(!out.admitted);
    assert_eq!(out.level, 3);
    let out = store
        .adjust_gauge(&brand, "seats", -10, Some(5))
        .await
        .unwrap();
    assert!(out.admitted);
    assert_eq!(out.level, 0);
    assert_eq!(store.set_gauge(&brand, "seats", 7).await.unwrap(), 0);
    assert_eq!(store.gauge(&brand, "seats").await.unwrap(), 7);
    let out = store
        .adjust_gauge(&brand, "seats", i64::MIN, None)
        .await
        .unwrap();
    assert_eq!(out.level, 0);
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let store = Arc::clone(&store);
        let brand = Arc::clone(&brand);
        tasks.push(tokio::spawn(async move {
            let mut n = 0;
            for _ in 0..100 {
                if store
                    .adjust_gauge(&brand, "seats", 1, Some(250))
                    .await
                    .unwrap()
                    .admitted
                {
                    n += 1;
                }
            }
            n
        }));
    }
    let mut total = 0;
    for t in tasks {
        total += t.await.unwrap();
    }
    assert_eq!(total, 250);
    assert_eq!(store.gauge(&brand, "seats").await.unwrap(), 250);
}

/// Top-ups: insert, read, duplicate ids refused, completion raises the allowance exactly once
/// even with concurrent completions, expiry, invalid transitions, newest-first listing.
pub async fn topups(store: Arc<dyn Store>) {
    let brand = Arc::new(unique_brand("topup"));
    let id = format!("{brand}-t1");
    store.insert_topup(&topup(&id, &brand, 5)).await.unwrap();
    let dup = store
        .insert_topup(&topup(&id, &brand, 5))
        .await
        .unwrap_err();
    assert!(matches!(dup, StoreError::Conflict(_)), "{dup}");
    assert_eq!(
        store.topup(&id).await.unwrap().unwrap().status,
        TopUpStatus::Pending
    );
    assert!(store.topup("no-such-topup").await.unwrap().is_none());

    store
        .consume(&request(&brand, "m", 10, Some(10), None))
        .await
        .unwrap();
    assert!(
        !store
            .consume(&request(&brand, "m", 1, Some(10), None))
            .await
            .unwrap()
            .admitted
    );

    let mut tasks = Vec::new();
    for _ in 0..8 {
        let store = Arc::clone(&store);
        let id = id.clone();
        tasks.push(tokio::spawn(async move {
            store
                .set_topup_status(&id, TopUpStatus::Completed, now())
                .await
                .unwrap()
        }));
    }
    let mut changed = 0;
    for t in tasks {
        let tr = t.await.unwrap();
        assert_eq!(tr.topup.status, TopUpStatus::Completed);
        if tr.changed {
            changed += 1;
        }
    }
    assert_eq!(changed, 1, "exactly one completion changes the top-up");
    let usage = store
        .usage(CounterKey::new(&brand, "m", PERIOD))
        .await
        .unwrap();
    assert_eq!(usage.topup_units, 5, "units are added once");
    let out = store
        .consume(&request(&brand, "m", 5, Some(10), None))
        .await
        .unwrap();
    assert!(out.admitted);
    assert_eq!((out.used, out.topup_units), (15, 5));
    assert!(
        !store
            .consume(&request(&brand, "m", 1, Some(10), None))
            .await
            .unwrap()
            .admitted
    );

    let err = store
        .set_topup_status(&id, TopUpStatus::Failed, now())
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err}");
    let err = store
        .set_topup_status("no-such-topup", TopUpStatus::Completed, now())
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound(_)), "{err}");

    let late = format!("{brand}-t2");
    store.insert_topup(&topup(&late, &brand, 9)).await.unwrap();
    let tr = store
        .set_topup_status(&late, TopUpStatus::Completed, period_end())
        .await
        .unwrap();
    assert_eq!(tr.topup.status, TopUpStatus::Expired);
    assert_eq!(
        store
            .usage(CounterKey::new(&brand, "m", PERIOD))
            .await
            .unwrap()
            .topup_units,
        5,
        "an expired top-up adds nothing"
    );
    let failed = format!("{brand}-t3");
    store
        .insert_topup(&topup(&failed, &brand, 2))
        .await
        .unwrap();
    let tr = store
        .set_topup_status(&failed, TopUpStatus::Failed, now())
        .await
        .unwrap();
    assert!(tr.changed);
    assert_eq!(tr.topup.status, TopUpStatus::Failed);
    assert_eq!(tr.topup.settled_at, Some(now()));

    let cancelled = format!("{brand}-t4");
    store
        .insert_topup(&topup(&cancelled, &brand, 3))
        .await
        .unwrap();
    let tr = store
        .set_topup_status(&cancelled, TopUpStatus::Cancelled, now())
        .await
        .unwrap();
    assert_eq!(
        tr.topup.status,
        TopUpStatus::Cancelled,
        "cancelled is not failed"
    );
    assert_eq!(
        store.topup(&cancelled).await.unwrap().unwrap().status,
        TopUpStatus::Cancelled
    );
    let err = store
        .set_topup_status(&cancelled, TopUpStatus::Completed, now())
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err}");

    // Top-up units past the domain: refused, and the top-up stays pending.
    let huge = format!("{brand}-t5");
    store
        .insert_topup(&topup(&huge, &brand, MAX_UNITS))
        .await
        .unwrap();
    let err = store
        .set_topup_status(&huge, TopUpStatus::Completed, now())
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::OutOfRange(_)), "{err}");
    assert_eq!(
        store.topup(&huge).await.unwrap().unwrap().status,
        TopUpStatus::Pending
    );
    assert_eq!(
        store
            .usage(CounterKey::new(&brand, "m", PERIOD))
            .await
            .unwrap()
            .topup_units,
        5
    );

    let list = store.topups(&brand).await.unwrap();
    let ids: Vec<&str> = list.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            huge.as_str(),
            cancelled.as_str(),
            failed.as_str(),
            late.as_str(),
            id.as_str()
        ],
        "newest first"
    );
    let recent = store.recent_topups(&brand, 2).await.unwrap();
    let recent: Vec<&str> = recent.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(
        recent,
        [huge.as_str(), cancelled.as_str()],
        "the newest ones, bounded"
    );
    assert!(store.recent_topups(&brand, 0).await.unwrap().is_empty());
    assert!(
        store
            .topups(&unique_brand("none"))
            .await
            .unwrap()
            .is_empty()
    );
}

/// 16 concurrent claimers of one alert: exactly one wins; release is also exactly once.
pub async fn alert_claims_exactly_once(store: Arc<dyn Store>) {
    let brand = Arc::new(unique_brand("claim"));
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let store = Arc::clone(&store);
        let brand = Arc::clone(&brand);
        tasks.push(tokio::spawn(async move {
            store
                .claim_alert(CounterKey::new(&brand, "m", PERIOD), 90)
                .await
                .unwrap()
        }));
    }
    let mut winners = 0;
    for t in tasks {
        if t.await.unwrap() {
            winners += 1;
        }
    }
    assert_eq!(winners, 1);
    let key = CounterKey::new(&brand, "m", PERIOD);
    assert!(store.claim_alert(key, 50).await.unwrap());
    assert!(store.claim_alert(key, 0).await.unwrap());
    assert_eq!(store.claimed_alerts(key).await.unwrap(), vec![0, 50, 90]);
    assert!(store.release_alert(key, 90).await.unwrap());
    assert!(!store.release_alert(key, 90).await.unwrap());
    assert!(
        store.claim_alert(key, 90).await.unwrap(),
        "a released alert can fire again"
    );
    let other = CounterKey::new(&brand, "m", NEXT_PERIOD);
    assert!(store.claimed_alerts(other).await.unwrap().is_empty());
}

/// The timeline reads newest first, limited, per brand, in a total order: by time, then by
/// the sequence number the store gives each append (increasing per brand), whatever the
/// order and the precision of the times written.
pub async fn timeline_order(store: Arc<dyn Store>) {
    let brand = unique_brand("tl");
    let mut seqs = Vec::new();
    for n in 0..5 {
        seqs.push(store.append_event(&event(&brand, n)).await.unwrap());
    }
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
    let got = store.events(&brand, 3).await.unwrap();
    let want: Vec<TimelineEvent> = [4, 3, 2]
        .into_iter()
        .map(|n| event(&brand, n).with_seq(seqs[usize::try_from(n).unwrap()]))
        .collect();
    assert_eq!(got, want);
    assert_eq!(store.events(&brand, 100).await.unwrap().len(), 5);

    // Same instant (to the microsecond), and a time earlier than the newest: the store's
    // sequence decides between equal times, the time decides otherwise.
    let tied = unique_brand("tl-tie");
    let at = now() + Duration::microseconds(171_999);
    let stamp = |n: u64, at: DateTime<Utc>| {
        let mut e = event(&tied, 0);
        e.at = at;
        e.kind = EventKind::TopUpCompleted {
            topup_id: format!("t{n}"),
            units: n,
        };
        e
    };
    let a = store.append_event(&stamp(1, at)).await.unwrap();
    let b = store.append_event(&stamp(2, at)).await.unwrap();
    let early = at - Duration::microseconds(1);
    let c = store.append_event(&stamp(3, early)).await.unwrap();
    let late = at + Duration::microseconds(1);
    let d = store.append_event(&stamp(4, late)).await.unwrap();
    let got = store.events(&tied, 10).await.unwrap();
    assert_eq!(
        got,
        vec![
            stamp(4, late).with_seq(d),
            stamp(2, at).with_seq(b),
            stamp(1, at).with_seq(a),
            stamp(3, early).with_seq(c),
        ],
        "newest first by (time, sequence), times kept to the microsecond"
    );
    assert_eq!(store.events(&tied, 2).await.unwrap(), got[..2].to_vec());
    assert!(
        store
            .events(&unique_brand("tl-none"), 10)
            .await
            .unwrap()
            .is_empty()
    );
}

/// A new period starts at zero; periods do not share usage, buckets or top-ups.
pub async fn period_isolation(store: Arc<dyn Store>) {
    let brand = unique_brand("period");
    store
        .consume(&request(&brand, "m", 10, Some(10), None))
        .await
        .unwrap();
    let mut next = request(&brand, "m", 10, Some(10), None);
    next.key.period = NEXT_PERIOD;
    next.day = 0;
    let out = store.consume(&next).await.unwrap();
    assert!(out.admitted, "the next period starts at zero");
    assert_eq!(out.used, 10);
    let usage = store
        .usage(CounterKey::new(&brand, "m", PERIOD))
        .await
        .unwrap();
    assert_eq!(usage.used, 10);
    let days = store
        .daily_usage(CounterKey::new(&brand, "m", NEXT_PERIOD))
        .await
        .unwrap();
    assert_eq!(days[0], 10);
}

/// Resetting one brand's period (all metrics, or one) clears its usage, buckets and claims,
/// and nothing else.
pub async fn reset_leaves_others_alone(store: Arc<dyn Store>) {
    let a = unique_brand("reset-a");
    let b = unique_brand("reset-b");
    for brand in [&a, &b] {
        store
            .consume(&request(brand, "m", 6, None, None))
            .await
            .unwrap();
        store
            .consume(&request(brand, "n", 2, None, None))
            .await
            .unwrap();
        store
            .claim_alert(CounterKey::new(brand, "m", PERIOD), 50)
            .await
            .unwrap();
    }
    let mut next = request(&a, "m", 3, None, None);
    next.key.period = NEXT_PERIOD;
    store.consume(&next).await.unwrap();
    let t = format!("{a}-t");
    store.insert_topup(&topup(&t, &a, 4)).await.unwrap();
    store
        .set_topup_status(&t, TopUpStatus::Completed, now())
        .await
        .unwrap();
    store.set_gauge(&a, "seats", 2).await.unwrap();

    let c = unique_brand("reset-c");
    store
        .consume(&request(&c, "m", 6, None, None))
        .await
        .unwrap();
    store
        .consume(&request(&c, "n", 2, None, None))
        .await
        .unwrap();
    store
        .claim_alert(CounterKey::new(&c, "m", PERIOD), 50)
        .await
        .unwrap();
    store
        .claim_alert(CounterKey::new(&c, "n", PERIOD), 50)
        .await
        .unwrap();
    store.reset_period(&c, Some("m"), PERIOD).await.unwrap();
    assert_eq!(used(&store, &c, "m", PERIOD).await, 0);
    assert!(
        store
            .claimed_alerts(CounterKey::new(&c, "m", PERIOD))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        used(&store, &c, "n", PERIOD).await,
        2,
        "a metric reset leaves the other metrics alone"
    );
    assert_eq!(
        store
            .claimed_alerts(CounterKey::new(&c, "n", PERIOD))
            .await
            .unwrap(),
        vec![50]
    );

    store.reset_period(&a, None, PERIOD).await.unwrap();

    let ka = CounterKey::new(&a, "m", PERIOD);
    let usage = store.usage(ka).await.unwrap();
    assert_eq!(usage.used, 0);
    assert_eq!(usage.topup_units, 4, "top-ups stay");
    assert_eq!(used(&store, &a, "n", PERIOD).await, 0);
    assert!(store.daily_usage(ka).await.unwrap().iter().all(|d| *d == 0));
    assert!(store.claimed_alerts(ka).await.unwrap().is_empty());
    assert_eq!(used(&store, &a, "m", NEXT_PERIOD).await, 3);
    assert_eq!(
        store.gauge(&a, "seats").await.unwrap(),
        2,
        "gauges do not reset"
    );
    let kb = CounterKey::new(&b, "m", PERIOD);
    assert_eq!(store.usage(kb).await.unwrap().used, 6);
    assert_eq!(store.claimed_alerts(kb).await.unwrap(), vec![50]);
    let out = store
        .consume(&request(&a, "m", 1, Some(1), None))
        .await
        .unwrap();
    assert!(out.admitted, "usage starts again from zero after a reset");
}

/// The support reset of a counter is all or nothing: a reset that fails at its last step (a
/// top-up id that exists already) changes nothing; one that succeeds clears the counter,
/// writes the usage point, adds the completed top-up and appends the events in order.
pub async fn reset_counter_is_all_or_nothing(store: Arc<dyn Store>) {
    let brand = unique_brand("rc");
    let key = CounterKey::new(&brand, "m", PERIOD);
    let mut r = request(&brand, "m", 30, None, None);
    r.free_units = Some(20);
    store.consume(&r).await.unwrap();
    store
        .consume(&request(&brand, "n", 4, None, None))
        .await
        .unwrap();
    store.claim_alert(key, 90).await.unwrap();
    let old = format!("{brand}-old");
    store.insert_topup(&topup(&old, &brand, 5)).await.unwrap();
    store
        .set_topup_status(&old, TopUpStatus::Completed, now())
        .await
        .unwrap();
    let before_events = store.events(&brand, 10).await.unwrap();
    let before_topups = store.topups(&brand).await.unwrap();
    let before = store.usage(key).await.unwrap();
    assert_eq!(before, Usage::new(30, 5, 10));

    let reset_event = TimelineEvent::new(
        &brand,
        now(),
        PERIOD,
        Some("m".into()),
        Severity::Info,
        EventKind::PeriodReset {
            reason: "test".into(),
        },
    );
    // The injected failure: the top-up id exists, so the last write cannot happen.
    let mut clash = topup(&old, &brand, 9);
    clash.status = TopUpStatus::Completed;
    let events = [reset_event.clone()];
    let failed = store
        .reset_counter(
            &CounterReset::new(key, 12, 3, period_end())
                .with_topup(&clash)
                .with_events(&events),
        )
        .await
        .unwrap_err();
    assert!(matches!(failed, StoreError::Conflict(_)), "{failed}");
    assert_eq!(store.usage(key).await.unwrap(), before, "nothing changed");
    assert_eq!(store.daily_usage(key).await.unwrap()[24], 30);
    assert_eq!(store.claimed_alerts(key).await.unwrap(), vec![90]);
    assert_eq!(store.events(&brand, 10).await.unwrap(), before_events);
    assert_eq!(store.topups(&brand).await.unwrap(), before_topups);

    let mut fresh = topup(&format!("{brand}-new"), &brand, 9);
    fresh.status = TopUpStatus::Completed;
    fresh.settled_at = Some(now());
    let done = TimelineEvent::new(
        &brand,
        now(),
        PERIOD,
        Some("m".into()),
        Severity::Info,
        EventKind::TopUpCompleted {
            topup_id: fresh.id.clone(),
            units: 9,
        },
    );
    let events = [done.clone(), reset_event.clone()];
    let after = store
        .reset_counter(
            &CounterReset::new(key, 12, 3, period_end())
                .with_topup(&fresh)
                .with_events(&events),
        )
        .await
        .unwrap();
    assert_eq!(after, Usage::new(12, 14, 0));
    assert_eq!(store.usage(key).await.unwrap(), after);
    let days = store.daily_usage(key).await.unwrap();
    assert_eq!(days[3], 12);
    assert_eq!(days.iter().sum::<u64>(), 12, "the old buckets are gone");
    assert!(store.claimed_alerts(key).await.unwrap().is_empty());
    assert_eq!(store.topup(&fresh.id).await.unwrap(), Some(fresh.clone()));
    assert_eq!(store.topups(&brand).await.unwrap()[0].id, fresh.id);
    let got = store.events(&brand, 2).await.unwrap();
    assert_eq!(got.len(), 2);
    assert_eq!(
        (&got[0].kind, &got[1].kind),
        (&reset_event.kind, &done.kind),
        "appended in order: the reset reads newest"
    );
    assert!(got[0].seq > got[1].seq);
    assert_eq!(
        used(&store, &brand, "n", PERIOD).await,
        4,
        "other metrics stay"
    );
    let out = store
        .consume(&request(&brand, "m", 9, Some(7), None))
        .await
        .unwrap();
    assert!(out.admitted, "12 + 9 fits a ceiling of 7 + 14 top-up units");
    assert_eq!(out.used, 21);
    // Without a top-up or events, and at zero: the counter is simply cleared.
    let cleared = store
        .reset_counter(&CounterReset::new(key, 0, 0, period_end()))
        .await
        .unwrap();
    assert_eq!(cleared, Usage::new(0, 14, 0));
}

/// A model of [`crate::store::UsageStore::consume`] without idempotency: what every store
/// must answer for `req` on a counter in state `usage`, and the state after.
pub fn model_consume(usage: Usage, req: &ConsumeRequest<'_>) -> (ConsumeOutcome, Usage) {
    let limit = req.ceiling.map_or(MAX_UNITS, |c| {
        c.saturating_add(usage.topup_units).min(MAX_UNITS)
    });
    let after = usage
        .used
        .checked_add(req.quantity)
        .filter(|a| *a <= limit && *a <= MAX_UNITS);
    let Some(after) = after else {
        let out = ConsumeOutcome::new(false, usage.used, usage.topup_units, usage.overage_units, 0);
        return (out, usage);
    };
    let charged = req.free_units.map_or(0, |f| {
        let paid = f
            .saturating_add(usage.topup_units)
            .saturating_add(usage.overage_units)
            .min(MAX_UNITS);
        after.saturating_sub(usage.used.max(paid))
    });
    let overage = usage.overage_units + charged;
    let out = ConsumeOutcome::new(true, after, usage.topup_units, overage, charged);
    (out, Usage::new(after, usage.topup_units, overage))
}

/// 300 consumes near the domain's bounds (quantities and ceilings around [`MAX_UNITS`],
/// `u64::MAX`, zero) from a fixed seed: every outcome is the model's, nothing wraps, and a
/// denied consume leaves the counter as it was.
pub async fn consumes_near_the_bounds_follow_the_model(store: Arc<dyn Store>) {
    let brand = unique_brand("bounds");
    let key = CounterKey::new(&brand, "m", PERIOD);
    let mut state = Usage::default();
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = move || {
        // xorshift64: a fixed, reproducible sequence.
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for step in 0..300 {
        let room = MAX_UNITS - state.used;
        let quantity = match next() % 8 {
            0 => 0,
            1 => 1,
            2 => room,
            3 => room + 1,
            4 => u64::MAX,
            5 => next() % (room + 2),
            6 => room / 2 + 1,
            _ => next() % 1_000,
        };
        let ceiling = match next() % 5 {
            0 => None,
            1 => Some(u64::MAX),
            2 => Some(MAX_UNITS),
            3 => Some(state.used + quantity.min(MAX_UNITS)),
            _ => Some(next() % (MAX_UNITS + 1)),
        };
        let free_units = match next() % 3 {
            0 => None,
            1 => Some(next() % (MAX_UNITS + 1)),
            _ => Some(state.used),
        };
        let mut req = request(&brand, "m", quantity, ceiling, None);
        req.free_units = free_units;
        let (want, after) = model_consume(state, &req);
        let got = store.consume(&req).await.unwrap();
        assert_eq!(got, want, "step {step}: {req:?} on {state:?}");
        assert_eq!(store.usage(key).await.unwrap(), after, "step {step}");
        state = after;
        if state.used == MAX_UNITS {
            let given = next() % MAX_UNITS + 1;
            let back = given.min(state.used);
            let want = Usage::new(
                state.used - back,
                state.topup_units,
                state.overage_units.saturating_sub(back),
            );
            assert_eq!(store.release(key, given, 24).await.unwrap(), want);
            state = want;
        }
    }
}

/// Subscriptions: put, read, replace, list sorted by brand.
pub async fn subscriptions(store: Arc<dyn Store>) {
    let a = unique_brand("sub-a");
    let b = unique_brand("sub-b");
    let sa = Subscription::new(&a, "pro", now());
    store.put_subscription(&sa).await.unwrap();
    assert_eq!(store.subscription(&a).await.unwrap(), Some(sa));
    let sa2 =
        Subscription::new(&a, "scale", now()).with_override("m", crate::plan::Limit::block(7));
    store.put_subscription(&sa2).await.unwrap();
    store
        .put_subscription(&Subscription::new(&b, "free", now()))
        .await
        .unwrap();
    assert_eq!(store.subscription(&a).await.unwrap(), Some(sa2));
    assert!(
        store
            .subscription(&unique_brand("sub-none"))
            .await
            .unwrap()
            .is_none()
    );
    let all = store.subscriptions().await.unwrap();
    let pos_a = all.iter().position(|s| s.brand == a).unwrap();
    let pos_b = all.iter().position(|s| s.brand == b).unwrap();
    assert!(pos_a < pos_b, "sorted by brand");
    assert!(all.windows(2).all(|w| w[0].brand <= w[1].brand));
}

/// Expands into one `#[tokio::test]` per conformance case, inside a module named
/// `store_conformance`, for the store returned by the async function `$make`
/// (`async fn() -> Arc<dyn Store>`). The caller needs `tokio` with `macros` and
/// `rt-multi-thread`.
#[macro_export]
macro_rules! store_conformance_tests {
    ($make:path) => {
        mod store_conformance {
            #[allow(unused_imports)]
            use super::*;
            $crate::store_conformance_tests!(@cases $make;
                exact_counts_under_concurrency,
                denies_the_unit_past_the_ceiling,
                totals_stay_within_the_domain,
                consumes_near_the_bounds_follow_the_model,
                idempotent_replay_counts_once,
                idempotency_keys_are_bound_to_their_request,
                overage_units_are_counted_when_admitted,
                denied_consume_does_not_burn_its_key,
                concurrent_replays_count_once,
                daily_buckets_and_release,
                gauges,
                topups,
                alert_claims_exactly_once,
                timeline_order,
                period_isolation,
                reset_leaves_others_alone,
                reset_counter_is_all_or_nothing,
                subscriptions
            );
        }
    };
    (@cases $make:path; $($case:ident),+ $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $case() {
                $crate::testing::$case($make().await).await;
            }
        )+
    };
}

// ---------------------------------------------------------------------------------------------
// Outbox conformance: `outbox_conformance_tests!`, separate so that stores without an outbox
// still compile the store suite.

mod outbox_cases {
    use std::collections::HashSet;
    use std::sync::Arc;
    use std::time::Duration as StdDuration;

    use chrono::{DateTime, Duration, TimeZone, Utc};

    use super::{now, unique_brand};
    use crate::outbox::{ClaimRequest, ClaimedMessage, OutboxMessage, OutboxStatus, OutboxStore};

    const LEASE: StdDuration = StdDuration::from_secs(30);

    fn message(id: &str, sink: &str, due_at: DateTime<Utc>) -> OutboxMessage {
        OutboxMessage::new(id, sink, serde_json::json!({ "id": id, "n": 1 }), due_at)
    }

    async fn claim(
        store: &Arc<dyn OutboxStore>,
        sink: &str,
        at: DateTime<Utc>,
        limit: usize,
    ) -> Vec<ClaimedMessage> {
        store
            .claim_due(&ClaimRequest::new(&[sink], at, LEASE, limit))
            .await
            .unwrap()
    }

    fn ids(claimed: &[ClaimedMessage]) -> Vec<String> {
        claimed.iter().map(|c| c.message.id.clone()).collect()
    }

    /// Enqueueing the same id twice keeps the first message; it is claimed once.
    pub async fn outbox_enqueue_is_idempotent_by_id(store: Arc<dyn OutboxStore>) {
        let sink = unique_brand("ob-idem");
        let id = format!("{sink}-1");
        assert!(store.enqueue(&message(&id, &sink, now())).await.unwrap());
        let mut other = message(&id, &sink, now() - Duration::hours(1));
        other.payload = serde_json::json!({ "other": true });
        assert!(
            !store.enqueue(&other).await.unwrap(),
            "a second enqueue of the same id is a duplicate"
        );
        let rec = store.outbox_record(&id).await.unwrap().unwrap();
        assert_eq!(
            rec.message,
            message(&id, &sink, now()),
            "the first one stays"
        );
        assert_eq!(rec.status, OutboxStatus::Pending);
        assert_eq!(rec.attempts, 0);
        assert_eq!(rec.leased_until, None);
        assert_eq!(rec.last_error, None);
        let claimed = claim(&store, &sink, now(), 10).await;
        assert_eq!(ids(&claimed), vec![id.clone()]);
        assert_eq!(claimed[0].attempt, 1);
        assert_eq!(
            claimed[0].message.payload,
            serde_json::json!({ "id": id, "n": 1 })
        );
        assert!(store.outbox_record("ob-none").await.unwrap().is_none());
    }

    /// Claims honour due times, sinks and the limit, oldest due first.
    pub async fn outbox_claims_due_messages_oldest_first(store: Arc<dyn OutboxStore>) {
        let sink = unique_brand("ob-order");
        let other_sink = unique_brand("ob-order-other");
        for (i, minutes) in [(1, 3), (2, 1), (3, 2), (4, -5)] {
            let m = message(
                &format!("{sink}-{i}"),
                &sink,
                now() + Duration::minutes(minutes),
            );
            assert!(store.enqueue(&m).await.unwrap());
        }
        assert!(
            store
                .enqueue(&message(&format!("{other_sink}-1"), &other_sink, now()))
                .await
                .unwrap()
        );
        assert_eq!(
            ids(&claim(&store, &sink, now(), 10).await),
            vec![format!("{sink}-4")]
        );
        assert!(store.ack(&format!("{sink}-4")).await.unwrap());
        let at = now() + Duration::minutes(3);
        assert_eq!(
            ids(&claim(&store, &sink, at, 2).await),
            vec![format!("{sink}-2"), format!("{sink}-3")],
            "oldest due first, at most `limit`"
        );
        assert_eq!(
            ids(&claim(&store, &sink, at, 10).await),
            vec![format!("{sink}-1")]
        );
        assert!(claim(&store, &sink, at, 10).await.is_empty());
        let both = store
            .claim_due(&ClaimRequest::new(
                &[other_sink.as_str(), sink.as_str()],
                at,
                LEASE,
                10,
            ))
            .await
            .unwrap();
        assert_eq!(
            ids(&both),
            vec![format!("{other_sink}-1")],
            "only the sinks asked for"
        );
        assert_eq!(both[0].leased_until, at + Duration::seconds(30));
    }

    /// 8 concurrent claimers over 60 messages: every message is claimed exactly once.
    pub async fn outbox_concurrent_claimers_get_each_message_once(store: Arc<dyn OutboxStore>) {
        let sink = Arc::new(unique_brand("ob-conc"));
        for i in 0..60 {
            let m = message(&format!("{sink}-{i:02}"), &sink, now());
            assert!(store.enqueue(&m).await.unwrap());
        }
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let store = Arc::clone(&store);
            let sink = Arc::clone(&sink);
            tasks.push(tokio::spawn(async move {
                let mut mine = Vec::new();
                loop {
                    let got = store
                        .claim_due(&ClaimRequest::new(&[sink.as_str()], now(), LEASE, 3))
                        .await
                        .unwrap();
                    if got.is_empty() {
                        return mine;
                    }
                    mine.extend(got);
                    tokio::task::yield_now().await;
                }
            }));
        }
        let mut all = Vec::new();
        for t in tasks {
            all.extend(t.await.unwrap());
        }
        assert_eq!(all.len(), 60, "each message claimed once in total");
        let unique: HashSet<String> = all.iter().map(|c| c.message.id.clone()).collect();
        assert_eq!(unique.len(), 60, "no message claimed twice");
        assert!(all.iter().all(|c| c.attempt == 1));
    }

    /// A claimed message is invisible until its lease ends, then claimable again with one
    /// more attempt; the expired lease can no longer reschedule it.
    pub async fn outbox_lease_expiry_makes_it_claimable_again(store: Arc<dyn OutboxStore>) {
        let sink = unique_brand("ob-lease");
        let id = format!("{sink}-1");
        store.enqueue(&message(&id, &sink, now())).await.unwrap();
        let first = claim(&store, &sink, now(), 10).await;
        assert_eq!(ids(&first), vec![id.clone()]);
        let rec = store.outbox_record(&id).await.unwrap().unwrap();
        assert_eq!(rec.attempts, 1);
        assert_eq!(rec.leased_until, Some(now() + Duration::seconds(30)));
        assert!(
            claim(&store, &sink, now() + Duration::seconds(29), 10)
                .await
                .is_empty()
        );
        let second = claim(&store, &sink, now() + Duration::seconds(30), 10).await;
        assert_eq!(ids(&second), vec![id.clone()]);
        assert_eq!(second[0].attempt, 2);
        let late = now() + Duration::hours(1);
        assert!(
            !store
                .reschedule(&first[0].lease(), late, "stale")
                .await
                .unwrap(),
            "a lost lease cannot reschedule"
        );
        assert!(!store.dead_letter(&first[0].lease(), "stale").await.unwrap());
        let rec = store.outbox_record(&id).await.unwrap().unwrap();
        assert_eq!(rec.status, OutboxStatus::Pending);
        assert_eq!(rec.message.due_at, now());
        assert_eq!(rec.last_error, None);
        assert!(
            store
                .reschedule(&second[0].lease(), late, "boom")
                .await
                .unwrap()
        );
    }

    /// Ack marks the message delivered: never claimed again, a re-enqueue is a duplicate.
    pub async fn outbox_ack_removes_it(store: Arc<dyn OutboxStore>) {
        let sink = unique_brand("ob-ack");
        let id = format!("{sink}-1");
        store.enqueue(&message(&id, &sink, now())).await.unwrap();
        let claimed = claim(&store, &sink, now(), 10).await;
        assert_eq!(claimed.len(), 1);
        assert!(store.ack(&id).await.unwrap());
        assert!(!store.ack(&id).await.unwrap(), "the second ack is a no-op");
        assert!(!store.ack("ob-absent").await.unwrap());
        assert!(
            claim(&store, &sink, now() + Duration::days(1), 10)
                .await
                .is_empty()
        );
        assert!(!store.enqueue(&message(&id, &sink, now())).await.unwrap());
        assert!(
            claim(&store, &sink, now() + Duration::days(1), 10)
                .await
                .is_empty()
        );
        let rec = store.outbox_record(&id).await.unwrap().unwrap();
        assert_eq!(rec.status, OutboxStatus::Delivered);
        assert_eq!(rec.attempts, 1);
        assert!(
            !store
                .reschedule(&claimed[0].lease(), now(), "late")
                .await
                .unwrap(),
            "a delivered message cannot be rescheduled"
        );
        let delivered = store
            .outbox_records(&sink, OutboxStatus::Delivered, 10)
            .await
            .unwrap();
        assert_eq!(delivered.len(), 1);
        assert!(
            store
                .outbox_records(&sink, OutboxStatus::Pending, 10)
                .await
                .unwrap()
                .is_empty()
        );
    }

    /// Reschedule delays the message, keeps the attempt count and records the error.
    pub async fn outbox_reschedule_delays_it(store: Arc<dyn OutboxStore>) {
        let sink = unique_brand("ob-resched");
        let id = format!("{sink}-1");
        store.enqueue(&message(&id, &sink, now())).await.unwrap();
        let claimed = claim(&store, &sink, now(), 10).await;
        let due = now() + Duration::seconds(60);
        assert!(
            store
                .reschedule(&claimed[0].lease(), due, "503 from sink")
                .await
                .unwrap()
        );
        let rec = store.outbox_record(&id).await.unwrap().unwrap();
        assert_eq!(rec.status, OutboxStatus::Pending);
        assert_eq!(rec.attempts, 1, "reschedule keeps the attempt count");
        assert_eq!(rec.message.due_at, due);
        assert_eq!(rec.leased_until, None);
        assert_eq!(rec.last_error.as_deref(), Some("503 from sink"));
        assert!(
            claim(&store, &sink, now() + Duration::seconds(59), 10)
                .await
                .is_empty(),
            "not before its new due time, although the lease has ended"
        );
        let again = claim(&store, &sink, due, 10).await;
        assert_eq!(ids(&again), vec![id.clone()]);
        assert_eq!(again[0].attempt, 2);
        assert!(store.ack(&id).await.unwrap());
    }

    /// Dead letters are kept, listed and never claimed.
    pub async fn outbox_dead_letters_are_kept_and_not_claimed(store: Arc<dyn OutboxStore>) {
        let sink = unique_brand("ob-dead");
        let id = format!("{sink}-1");
        store.enqueue(&message(&id, &sink, now())).await.unwrap();
        let claimed = claim(&store, &sink, now(), 10).await;
        assert!(
            store
                .dead_letter(&claimed[0].lease(), "gave up")
                .await
                .unwrap()
        );
        assert!(
            !store
                .dead_letter(&claimed[0].lease(), "again")
                .await
                .unwrap()
        );
        assert!(
            claim(&store, &sink, now() + Duration::days(1), 10)
                .await
                .is_empty()
        );
        assert!(
            !store.ack(&id).await.unwrap(),
            "a dead message cannot be acked"
        );
        let dead = store
            .outbox_records(&sink, OutboxStatus::Dead, 10)
            .await
            .unwrap();
        assert_eq!(dead.len(), 1);
        assert_eq!(dead[0].message.id, id);
        assert_eq!(dead[0].attempts, 1);
        assert_eq!(dead[0].last_error.as_deref(), Some("gave up"));
        assert!(!store.enqueue(&message(&id, &sink, now())).await.unwrap());
    }

    /// Purge drops old delivered and dead messages and keeps pending ones. Runs in the year
    /// 2000 so that it cannot touch other cases' messages.
    pub async fn outbox_purge_keeps_pending(store: Arc<dyn OutboxStore>) {
        let sink = unique_brand("ob-purge");
        let t0 = Utc.with_ymd_and_hms(2000, 1, 1, 0, 0, 0).unwrap();
        for i in 1..=4 {
            store
                .enqueue(&message(&format!("{sink}-{i}"), &sink, t0))
                .await
                .unwrap();
        }
        let claimed = claim(&store, &sink, t0, 3).await;
        assert_eq!(claimed.len(), 3);
        assert!(store.ack(&claimed[0].message.id).await.unwrap());
        assert!(store.dead_letter(&claimed[1].lease(), "x").await.unwrap());
        let removed = store.purge_outbox(t0 + Duration::seconds(1)).await.unwrap();
        assert!(
            removed >= 2,
            "at least this case's two finished messages: {removed}"
        );
        assert!(
            store
                .outbox_record(&claimed[0].message.id)
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            store
                .outbox_record(&claimed[1].message.id)
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            store
                .outbox_record(&claimed[2].message.id)
                .await
                .unwrap()
                .is_some()
        );
        assert!(
            store
                .outbox_record(&format!("{sink}-4"))
                .await
                .unwrap()
                .is_some()
        );
    }
}

pub use outbox_cases::*;

/// Expands into one `#[tokio::test]` per outbox conformance case, inside a module named
/// `outbox_conformance`, for the store returned by the async function `$make`
/// (`async fn() -> Arc<dyn OutboxStore>`). The caller needs `tokio` with `macros` and
/// `rt-multi-thread`.
#[macro_export]
macro_rules! outbox_conformance_tests {
    ($make:path) => {
        mod outbox_conformance {
            #[allow(unused_imports)]
            use super::*;
            $crate::outbox_conformance_tests!(@cases $make;
                outbox_enqueue_is_idempotent_by_id,
                outbox_claims_due_messages_oldest_first,
                outbox_concurrent_claimers_get_each_message_once,
                outbox_lease_expiry_makes_it_claimable_again,
                outbox_ack_removes_it,
                outbox_reschedule_delays_it,
                outbox_dead_letters_are_kept_and_not_claimed,
                outbox_purge_keeps_pending
            );
        }
    };
    (@cases $make:path; $($case:ident),+ $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $case() {
                $crate::testing::$case($make().await).await;
            }
        )+
    };
}
