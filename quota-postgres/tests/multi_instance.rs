//! Multi-instance exactness: independent pools (as separate server instances would have)
//! race on one hard limit and admit exactly the limit.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

mod common;

use std::sync::Arc;

use quota_core::UsageStore;
use quota_core::store::CounterKey;
use quota_postgres::{PostgresOptions, PostgresStore};
use quota_testkit::conformance::{PERIOD, request, unique_brand};

const LIMIT: u64 = 10_000;
const POOLS: usize = 4;
const TASKS_PER_POOL: usize = 64;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn four_pools_of_64_tasks_admit_exactly_the_hard_limit() {
    let Some(db) = common::test_db("multi").await else {
        return;
    };
    let mut stores = Vec::new();
    for _ in 0..POOLS {
        let store = PostgresStore::connect(&db.url, PostgresOptions::new().set_max_connections(8))
            .await
            .unwrap();
        stores.push(Arc::new(store));
    }
    let brand = Arc::new(unique_brand("multi"));
    let mut tasks = Vec::new();
    for store in &stores {
        for _ in 0..TASKS_PER_POOL {
            let store = Arc::clone(store);
            let brand = Arc::clone(&brand);
            tasks.push(tokio::spawn(async move {
                // Each task consumes one unit at a time until it is denied.
                let mut admitted = 0u64;
                loop {
                    let out = store
                        .consume(&request(&brand, "m", 1, Some(LIMIT), None))
                        .await
                        .unwrap();
                    if !out.admitted {
                        assert_eq!(out.used, LIMIT, "a denial reports the full counter");
                        return admitted;
                    }
                    assert!(out.used <= LIMIT, "never one unit over the limit");
                    admitted += 1;
                }
            }));
        }
    }
    let mut total = 0;
    for t in tasks {
        total += t.await.unwrap();
    }
    assert_eq!(
        total, LIMIT,
        "admitted units across all pools equal the limit"
    );
    let key = CounterKey::new(&brand, "m", PERIOD);
    for store in &stores {
        assert_eq!(store.usage(key).await.unwrap().used, LIMIT);
    }
    assert_eq!(stores[0].daily_usage(key).await.unwrap()[24], LIMIT);
    // The ledger holds one row per admitted unit and sums to the counter.
    let (rows, sum): (i64, i64) = sqlx::query_as(
        "SELECT count(*), COALESCE(sum(quantity), 0)::BIGINT FROM usage_metric WHERE brand = $1",
    )
    .bind(brand.as_str())
    .fetch_one(stores[0].pool())
    .await
    .unwrap();
    assert_eq!((rows, sum), (10_000, 10_000));
    for store in &stores {
        store.close().await;
    }
}
