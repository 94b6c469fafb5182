//! Consume throughput of one `RedisStore` (one multiplexed connection) driven by 50
//! concurrent tokio tasks. Run through `quota-redis/bench.sh`, which runs
//! `redis-benchmark -c 50 evalsha <trivial script>` against the same server in the same run
//! and prints the ratio.
//!
//! Env: `REDIS_URL` (default redis://127.0.0.1:6379), `BENCH_OPS` (default 200000),
//! `BENCH_TASKS` (default 50), `BENCH_THREADS` (tokio workers, default 2), `BENCH_IDEMPOTENT`
//! (`1`: every consume carries a fresh idempotency key), `BENCH_CLUSTER_URLS` (comma-separated:
//! run against a cluster instead).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::arithmetic_side_effects,
    clippy::cast_precision_loss,
    missing_docs
)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use chrono::{Duration, Utc};
use quota_core::UsageStore;
use quota_core::period::PeriodKey;
use quota_core::store::{ConsumeRequest, CounterKey};
use quota_redis::{RedisOptions, RedisStore};

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    // `cargo bench` passes `--bench`; nothing else to parse.
    let threads: usize = env_or("BENCH_THREADS", 2);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(run(threads));
}

async fn run(threads: usize) {
    let ops: u64 = env_or("BENCH_OPS", 200_000);
    let tasks: u64 = env_or("BENCH_TASKS", 50);
    let idempotent = std::env::var("BENCH_IDEMPOTENT").is_ok_and(|v| v == "1");
    let opts = RedisOptions::new().set_response_timeout(std::time::Duration::from_secs(5));
    let (store, target) = match std::env::var("BENCH_CLUSTER_URLS") {
        Ok(urls) if !urls.is_empty() => {
            let urls: Vec<&str> = urls.split(',').collect();
            (
                RedisStore::connect_cluster(&urls, opts).await.unwrap(),
                urls.join(","),
            )
        }
        _ => {
            let url =
                std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
            (RedisStore::connect(&url, opts).await.unwrap(), url)
        }
    };
    store.preload_scripts().await.unwrap();
    let brand: Arc<str> = format!(
        "bench-{}-{}",
        std::process::id(),
        Utc::now().timestamp_micros()
    )
    .into();
    let now = Utc::now();

    let round = |n: u64, tag: &'static str| {
        let store = store.clone();
        let brand = Arc::clone(&brand);
        async move {
            let next = Arc::new(AtomicU64::new(0));
            let admitted = Arc::new(AtomicU64::new(0));
            let started = Instant::now();
            let mut handles = Vec::new();
            for _ in 0..tasks {
                let (store, brand, next, admitted) = (
                    store.clone(),
                    Arc::clone(&brand),
                    Arc::clone(&next),
                    Arc::clone(&admitted),
                );
                handles.push(tokio::spawn(async move {
                    let mut key = String::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= n {
                            break;
                        }
                        if idempotent {
                            key.clear();
                            key.push_str(tag);
                            key.push_str(&i.to_string());
                        }
                        let req = ConsumeRequest {
                            key: CounterKey::new(&brand, "ai_generations", PeriodKey(20261101)),
                            quantity: 1,
                            ceiling: Some(u64::MAX / 2),
                            free_units: None,
                            idempotency_key: idempotent.then_some(key.as_str()),
                            fingerprint: 1,
                            day: 24,
                            at_us: now.timestamp_micros(),
                            retain_until: now + Duration::days(40),
                        };
                        if store.consume(&req).await.unwrap().admitted {
                            admitted.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }));
            }
            for h in handles {
                h.await.unwrap();
            }
            let secs = started.elapsed().as_secs_f64();
            assert_eq!(admitted.load(Ordering::Relaxed), n);
            n as f64 / secs
        }
    };
    round(ops / 10, "w").await; // warm-up
    let rate = round(ops, "m").await;
    println!(
        "quota-redis consume: {rate:.0} ops/s ({ops} ops, {tasks} tasks, {threads} tokio workers, idempotent={idempotent}, {target})"
    );
}
