//! Counters: exact admission under concurrency, ceilings, the domain's bounds, daily buckets
//! and releases, periods.

use std::sync::Arc;

use quota_core::domain::MAX_UNITS;
use quota_core::store::{CounterKey, Usage};
use quota_core::topup::TopUpStatus;
use quota_core::{Store, StoreError};

use super::{topup, used};
use crate::conformance::{NEXT_PERIOD, PERIOD, model_consume, now, request, unique_brand};

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
