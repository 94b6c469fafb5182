//! Error kinds at the edges: values past the numeric domain are refused or denied (never
//! wrapped), a statement stuck on a lock times out with a typed error, and an unreachable
//! server or an invalid URL is an error, not a panic.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

mod common;
use common::StoreOn;

use std::time::Duration;

use quota_core::StoreError;
use quota_core::domain::MAX_UNITS;
use quota_core::store::{ConsumeOutcome, CounterKey};
use quota_core::topup::{TopUpStatus, UsageTopUp};
use quota_core::{TopUpStore, UsageStore};
use quota_postgres::{PostgresOptions, PostgresStore};
use quota_testkit::conformance::{PERIOD, now, period_end, request, unique_brand};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn values_past_the_domain_are_refused_or_denied_never_wrapped() {
    let Some(db) = common::test_db("range").await else {
        return;
    };
    let store = db.store(PostgresOptions::new()).await;
    let brand = unique_brand("range");
    for level in [MAX_UNITS + 1, u64::MAX] {
        let err = store.set_gauge(&brand, "seats", level).await.unwrap_err();
        assert!(matches!(err, StoreError::OutOfRange(_)), "{err}");
        assert!(err.to_string().contains(&MAX_UNITS.to_string()), "{err}");
    }
    // Top-up units a BIGINT cannot hold are refused at insert; within BIGINT but past the
    // domain, at completion (the top-up stays pending).
    let big = UsageTopUp::pending(
        format!("{brand}-t"),
        &brand,
        "m",
        u64::MAX,
        PERIOD,
        now(),
        period_end(),
    );
    let err = store.insert_topup(&big).await.unwrap_err();
    assert!(matches!(err, StoreError::OutOfRange(_)), "{err}");
    assert_eq!(store.topup(&big.id).await.unwrap(), None);
    let past = UsageTopUp::pending(
        format!("{brand}-t2"),
        &brand,
        "m",
        MAX_UNITS + 1,
        PERIOD,
        now(),
        period_end(),
    );
    store.insert_topup(&past).await.unwrap();
    let err = store
        .set_topup_status(&past.id, TopUpStatus::Completed, now())
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::OutOfRange(_)), "{err}");
    assert_eq!(store.topup(&past.id).await.unwrap(), Some(past));
    // A ceiling or free units past the domain are bounds like any other.
    let mut r = request(&brand, "m", MAX_UNITS, Some(u64::MAX), None);
    r.free_units = Some(u64::MAX);
    let out = store.consume(&r).await.unwrap();
    assert_eq!(
        out,
        ConsumeOutcome::new(true, MAX_UNITS, 0, 0, 0),
        "the domain's last unit fits"
    );
    for quantity in [1, i64::MAX.unsigned_abs(), u64::MAX] {
        let out = store
            .consume(&request(&brand, "m", quantity, Some(u64::MAX), None))
            .await
            .unwrap();
        assert_eq!(
            out,
            ConsumeOutcome::new(false, MAX_UNITS, 0, 0, 0),
            "{quantity}"
        );
    }
    // A quantity no BIGINT holds still replays a live key, or is refused as reused.
    let k = unique_brand("range-k");
    let first = store
        .consume(&request(&k, "m", u64::MAX, None, Some("x")))
        .await
        .unwrap();
    assert_eq!(first, ConsumeOutcome::new(false, 0, 0, 0, 0), "denied");
    let first = store
        .consume(&request(&k, "m", 1, None, Some("x")))
        .await
        .unwrap();
    assert_eq!(first, ConsumeOutcome::new(true, 1, 0, 0, 0));
    let mut same_key = request(&k, "m", u64::MAX, None, Some("x"));
    same_key.fingerprint = request(&k, "m", 1, None, Some("x")).fingerprint;
    assert_eq!(store.consume(&same_key).await.unwrap(), first.as_replay());
    let other = request(&k, "m", u64::MAX, None, Some("x"));
    assert_eq!(
        store.consume(&other).await.unwrap(),
        ConsumeOutcome::key_reused()
    );
    assert_eq!(
        store
            .usage(CounterKey::new(&k, "m", PERIOD))
            .await
            .unwrap()
            .used,
        1
    );
    let up = store
        .adjust_gauge(&brand, "g", i64::MAX, Some(u64::MAX))
        .await
        .unwrap();
    assert!(!up.admitted, "past the domain whatever the ceiling");
    assert_eq!(up.level, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_statement_stuck_on_a_lock_times_out_with_a_typed_error() {
    let Some(db) = common::test_db("timeout").await else {
        return;
    };
    let store = db
        .store(PostgresOptions::new().set_statement_timeout(Some(Duration::from_millis(300))))
        .await;
    let brand = unique_brand("timeout");
    store
        .consume(&request(&brand, "m", 1, None, None))
        .await
        .unwrap();
    let mut holder = store.pool().begin().await.unwrap();
    sqlx::query("SELECT used FROM usage_counters WHERE brand = $1 FOR UPDATE")
        .bind(&brand)
        .execute(&mut *holder)
        .await
        .unwrap();
    let err = store
        .consume(&request(&brand, "m", 1, None, None))
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::Timeout(d) if d == Duration::from_millis(300)),
        "{err}"
    );
    assert!(err.is_unavailable());
    holder.rollback().await.unwrap();
    assert_eq!(
        store
            .consume(&request(&brand, "m", 1, None, None))
            .await
            .unwrap()
            .used,
        2
    );
}

#[tokio::test]
async fn an_unreachable_server_is_unavailable_not_a_panic() {
    // Port 9 (discard) on loopback: nothing listens there in a test environment.
    let err = PostgresStore::connect(
        "postgres://postgres@127.0.0.1:9/none",
        PostgresOptions::new().set_acquire_timeout(Duration::from_millis(500)),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, StoreError::Unavailable { .. }), "{err}");
    let err = PostgresStore::connect("not a url", PostgresOptions::new())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::Backend { message, .. } if message.contains("invalid Postgres URL")),
        "{err}"
    );
}
