//! Several service instances on one Redis: 4 independent `RedisStore`s (each its own
//! connection, as 4 server processes would have) x 64 concurrent tasks each consuming on one hard
//! limit of 10,000 admit exactly 10,000 — on a standalone Redis and on the cluster.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::arithmetic_side_effects,
    missing_docs
)]

mod common;

use std::sync::Arc;

use chrono::{Duration, TimeZone, Utc};
use common::Backend;
use quota_core::UsageStore;
use quota_core::period::PeriodKey;
use quota_core::store::{ConsumeRequest, CounterKey};

const LIMIT: u64 = 10_000;
const INSTANCES: usize = 4;
const TASKS_PER_INSTANCE: usize = 64; // 256 tasks in all

async fn four_instances_admit_exactly_the_limit(backend: Backend) {
    let mut stores = Vec::new();
    for _ in 0..INSTANCES {
        match common::store(backend).await {
            Some(s) => stores.push(s),
            None => return,
        }
    }
    let brand: Arc<str> = common::brand("multi").into();
    let period = PeriodKey(20261101);
    let at = Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0).unwrap();
    let mut tasks = Vec::new();
    for (i, store) in stores.iter().enumerate() {
        for t in 0..TASKS_PER_INSTANCE {
            let (store, brand) = (store.clone(), Arc::clone(&brand));
            tasks.push(tokio::spawn(async move {
                let (mut admitted, mut denied) = (0u64, 0u64);
                // Every task keeps going until it has seen a few denials, so the limit is
                // contended from all 64 tasks right to the end.
                while denied < 3 {
                    let key = format!("i{i}-t{t}-{}", admitted + denied);
                    let req = ConsumeRequest {
                        key: CounterKey::new(&brand, "renders", period),
                        quantity: 1,
                        ceiling: Some(LIMIT),
                        // half of the calls carry an idempotency key (each a new one)
                        free_units: None,
                        idempotency_key: (t % 2 == 0).then_some(key.as_str()),
                        fingerprint: 1,
                        day: 24,
                        at_us: at.timestamp_micros(),
                        retain_until: at + Duration::days(40),
                    };
                    let out = store.consume(&req).await.unwrap();
                    assert!(!out.replayed);
                    assert!(out.used <= LIMIT, "usage {} passed the limit", out.used);
                    if out.admitted {
                        admitted += 1;
                    } else {
                        denied += 1;
                    }
                }
                admitted
            }));
        }
    }
    let mut total = 0;
    for t in tasks {
        total += t.await.unwrap();
    }
    assert_eq!(total, LIMIT, "admitted units across 4 instances");
    for store in &stores {
        let usage = store
            .usage(CounterKey::new(&brand, "renders", period))
            .await
            .unwrap();
        assert_eq!(usage.used, LIMIT);
        let days = store
            .daily_usage(CounterKey::new(&brand, "renders", period))
            .await
            .unwrap();
        assert_eq!(days.iter().sum::<u64>(), LIMIT);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_standalone_instances_admit_exactly_ten_thousand() {
    four_instances_admit_exactly_the_limit(Backend::Standalone).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_cluster_instances_admit_exactly_ten_thousand() {
    four_instances_admit_exactly_the_limit(Backend::Cluster).await;
}
