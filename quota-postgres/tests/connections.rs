//! Consumes run on a bounded set of dedicated connections: reused one after another, never
//! more than configured, and a cancelled consume gives its connection up without stalling
//! the ones after it.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

mod common;
use common::{StoreOn, ledger};

use std::time::Duration;

use quota_core::UsageStore;
use quota_core::store::CounterKey;
use quota_postgres::{PostgresOptions, PostgresStore};
use quota_testkit::conformance::{PERIOD, request, unique_brand};

/// Backends of this database whose last statement was a keyless consume.
async fn consume_backends(store: &PostgresStore) -> i64 {
    let (n,): (i64,) = sqlx::query_as(
        "SELECT count(*) FROM pg_stat_activity
         WHERE datname = current_database() AND query LIKE 'WITH c AS (%'",
    )
    .fetch_one(store.pool())
    .await
    .unwrap();
    n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consumes_reuse_a_bounded_set_of_dedicated_connections() {
    let Some(db) = common::test_db("lane").await else {
        return;
    };
    let store = db
        .store(
            PostgresOptions::new()
                .set_max_connections(4)
                .set_consume_connections(2),
        )
        .await;
    let brand = unique_brand("lane");
    for _ in 0..20 {
        store
            .consume(&request(&brand, "m", 1, None, None))
            .await
            .unwrap();
    }
    assert_eq!(
        consume_backends(&store).await,
        1,
        "sequential consumes reuse one connection"
    );
    let store = std::sync::Arc::new(store);
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let (store, brand) = (std::sync::Arc::clone(&store), brand.clone());
            tokio::spawn(async move {
                for _ in 0..10 {
                    store
                        .consume(&request(&brand, "m", 1, None, None))
                        .await
                        .unwrap();
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let n = consume_backends(&store).await;
    assert!((1..=2).contains(&n), "{n} consume connections, 2 allowed");
    let used = store
        .usage(CounterKey::new(&brand, "m", PERIOD))
        .await
        .unwrap();
    assert_eq!(used.used, 180);
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_consume_gives_its_connection_up_and_the_lane_goes_on() {
    let Some(db) = common::test_db("cancel").await else {
        return;
    };
    // One dedicated connection: a leaked slot would block every later consume.
    let store = db
        .store(
            PostgresOptions::new()
                .set_consume_connections(1)
                .set_acquire_timeout(Duration::from_secs(2)),
        )
        .await;
    let brand = unique_brand("cancel");
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
    let cancelled = tokio::time::timeout(
        Duration::from_millis(200),
        store.consume(&request(&brand, "m", 1, None, None)),
    )
    .await;
    let Err(_elapsed) = cancelled else {
        panic!("the consume must wait for the row lock: {cancelled:?}");
    };
    holder.rollback().await.unwrap();
    let out = store
        .consume(&request(&brand, "m", 1, None, None))
        .await
        .unwrap();
    assert!(out.admitted);
    // The cancelled consume's server side may still have committed (its answer was lost),
    // exactly as with any answer lost in flight; the ledger always matches the counter.
    assert!((2..=3).contains(&out.used), "used {}", out.used);
    let sum: i64 = ledger(&store, &brand).await.iter().map(|(_, q)| q).sum();
    assert_eq!(u64::try_from(sum).unwrap(), out.used);
}
