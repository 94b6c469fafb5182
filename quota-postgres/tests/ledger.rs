//! The usage ledger (`usage_metric`) as an audit reads it: every admitted change is one row,
//! the rows sum to the counter's usage and overage units on every path, the runbook's reset
//! rewrites a period in one transaction, and a refused reset writes nothing.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

mod common;
use common::{StoreOn, ledger, ledger_sums};

use quota_core::StoreError;
use quota_core::domain::MAX_UNITS;
use quota_core::report::{EventKind, TimelineEvent};
use quota_core::store::{ConsumeOutcome, CounterKey, CounterReset, Usage};
use quota_core::threshold::Severity;
use quota_core::topup::{TopUpStatus, UsageTopUp};
use quota_core::{TopUpStore, UsageStore};
use quota_postgres::PostgresOptions;
use quota_testkit::conformance::{PERIOD, now, period_end, request, unique_brand};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ledger_records_every_change_and_sums_to_the_counter() {
    let Some(db) = common::test_db("ledger").await else {
        return;
    };
    let store = db.store(PostgresOptions::new()).await;
    let brand = unique_brand("ledger");
    let key = CounterKey::new(&brand, "m", PERIOD);
    store
        .consume(&request(&brand, "m", 5, None, Some("a")))
        .await
        .unwrap();
    store
        .consume(&request(&brand, "m", 5, None, Some("a")))
        .await
        .unwrap(); // replay
    store
        .consume(&request(&brand, "m", 7, Some(5), None))
        .await
        .unwrap(); // denied
    store
        .consume(&request(&brand, "m", 3, None, None))
        .await
        .unwrap();
    store.release(key, 2, 24).await.unwrap();
    store.reset_period(&brand, None, PERIOD).await.unwrap();
    store
        .consume(&request(&brand, "m", 4, None, None))
        .await
        .unwrap();
    let rows = ledger(&store, &brand).await;
    let kinds: Vec<(&str, i64)> = rows.iter().map(|(k, q)| (k.as_str(), *q)).collect();
    assert_eq!(
        kinds,
        [
            ("consume", 5),
            ("consume", 3),
            ("release", -2),
            ("reset", -6),
            ("consume", 4)
        ],
        "replays and denials write nothing"
    );
    let sum: i64 = rows.iter().map(|(_, q)| q).sum();
    assert_eq!(sum, 4);
    assert_eq!(store.usage(key).await.unwrap().used, 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ledger_sums_to_the_overage_units_on_every_path() {
    let Some(db) = common::test_db("overage").await else {
        return;
    };
    let store = db.store(PostgresOptions::new()).await;
    let brand = unique_brand("overage");
    let key = CounterKey::new(&brand, "m", PERIOD);
    let billed = |quantity, idem| {
        let mut r = request(&brand, "m", quantity, None, idem);
        r.free_units = Some(10);
        r
    };
    let check = |want: Usage| {
        let store = &store;
        let brand = &brand;
        async move {
            assert_eq!(store.usage(key).await.unwrap(), want);
            assert_eq!(
                ledger_sums(store, brand, "m").await,
                (want.used, want.overage_units),
                "the ledger sums to the counter"
            );
        }
    };
    // First consume (quota_consume), then keyless (the prepared statement), then keyed.
    let out = store.consume(&billed(8, None)).await.unwrap();
    assert_eq!(out, ConsumeOutcome::new(true, 8, 0, 0, 0));
    let out = store.consume(&billed(5, None)).await.unwrap();
    assert_eq!(out, ConsumeOutcome::new(true, 13, 0, 3, 3));
    let out = store.consume(&billed(4, Some("k"))).await.unwrap();
    assert_eq!(out, ConsumeOutcome::new(true, 17, 0, 7, 4));
    check(Usage::new(17, 0, 7)).await;
    assert_eq!(
        store.release(key, 5, 24).await.unwrap(),
        Usage::new(12, 0, 2)
    );
    check(Usage::new(12, 0, 2)).await;
    store
        .reset_counter(&CounterReset::new(key, 6, 2, period_end()))
        .await
        .unwrap();
    check(Usage::new(6, 0, 0)).await;
    store.consume(&billed(7, None)).await.unwrap();
    check(Usage::new(13, 0, 3)).await;
    store.reset_period(&brand, None, PERIOD).await.unwrap();
    check(Usage::new(0, 0, 0)).await;
    // The replay still answers the first outcome, numbers as they were then.
    assert_eq!(
        store.consume(&billed(4, Some("k"))).await.unwrap(),
        ConsumeOutcome::new(true, 17, 0, 7, 4).as_replay()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_reset_counter_writes_nothing_anywhere() {
    let Some(db) = common::test_db("rcfail").await else {
        return;
    };
    let store = db.store(PostgresOptions::new()).await;
    let brand = unique_brand("rcfail");
    let key = CounterKey::new(&brand, "m", PERIOD);
    store
        .consume(&request(&brand, "m", 30, None, None))
        .await
        .unwrap();
    let mut clash = UsageTopUp::pending(
        format!("{brand}-t"),
        &brand,
        "m",
        5,
        PERIOD,
        now(),
        period_end(),
    );
    store.insert_topup(&clash).await.unwrap();
    clash.status = TopUpStatus::Completed;
    let counts = || async {
        let (ledger, events, topups): (i64, i64, i64) = sqlx::query_as(
            "SELECT (SELECT count(*) FROM usage_metric WHERE brand = $1),
                    (SELECT count(*) FROM timeline_events WHERE brand = $1),
                    (SELECT count(*) FROM usage_topup WHERE brand = $1)",
        )
        .bind(&brand)
        .fetch_one(store.pool())
        .await
        .unwrap();
        (ledger, events, topups)
    };
    let before = counts().await;
    assert_eq!(before, (1, 0, 1));
    let events = [TimelineEvent::new(
        &brand,
        now(),
        PERIOD,
        Some("m".into()),
        Severity::Info,
        EventKind::PeriodReset {
            reason: "test".into(),
            level: None,
        },
    )];
    let err = store
        .reset_counter(
            &CounterReset::new(key, 3, 0, period_end())
                .with_topup(&clash)
                .with_events(&events),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err}");
    // Past the domain: refused before anything is written.
    let huge = UsageTopUp::pending(
        format!("{brand}-huge"),
        &brand,
        "m",
        MAX_UNITS,
        PERIOD,
        now(),
        period_end(),
    );
    let err = store
        .reset_counter(&CounterReset::new(key, MAX_UNITS + 1, 0, period_end()))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::OutOfRange(_)), "{err}");
    store
        .reset_counter(&CounterReset::new(key, 30, 24, period_end()).with_topup(&huge))
        .await
        .unwrap();
    let err = store
        .reset_counter(&CounterReset::new(key, 30, 24, period_end()).with_topup(
            &UsageTopUp::pending(
                format!("{brand}-one-more"),
                &brand,
                "m",
                1,
                PERIOD,
                now(),
                period_end(),
            ),
        ))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::OutOfRange(_)), "{err}");
    assert_eq!(
        store.usage(key).await.unwrap(),
        Usage::new(30, MAX_UNITS, 0)
    );
    let (ledger, events, topups) = counts().await;
    assert_eq!(
        (events, topups),
        (0, 2),
        "only the successful reset's top-up was added"
    );
    assert_eq!(
        ledger, 3,
        "consume, then the successful reset's reset and reset_target"
    );
    assert_eq!(ledger_sums(&store, &brand, "m").await, (30, 0));
}
