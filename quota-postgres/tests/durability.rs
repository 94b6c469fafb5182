//! Durability: every consume acknowledged before a Postgres crash-restart is still counted
//! after it, and the pool recovers by itself (errors in between are typed `Unavailable`).
//!
//! The test owns a throwaway cluster (`tests/cluster`: initdb + pg_ctl, default durability
//! settings, fsync and synchronous_commit on) so restarting it disturbs nobody. It waits for
//! conditions (with generous deadlines), never for fixed times.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

mod cluster;
mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use cluster::Cluster;
use quota_core::UsageStore;
use quota_core::store::CounterKey;
use quota_postgres::{PostgresOptions, PostgresStore};
use quota_testkit::conformance::{PERIOD, request, unique_brand};

/// How long the test waits for a condition before failing: generous, for a shared machine.
const PATIENCE: Duration = Duration::from_secs(60);

/// Polls `done` every 20 ms until it holds, failing with `what` after [`PATIENCE`].
async fn wait_for(what: &str, mut done: impl AsyncFnMut() -> bool) {
    let started = Instant::now();
    while !done().await {
        assert!(
            started.elapsed() < PATIENCE,
            "waited {PATIENCE:?} for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn acknowledged_consumes_survive_a_crash_restart() {
    let Some(cluster) = Cluster::start_or_skip().await else {
        return;
    };
    let store = PostgresStore::connect(
        &cluster.url(),
        PostgresOptions::new()
            .set_max_connections(8)
            .set_acquire_timeout(Duration::from_secs(2))
            .set_idle_check_after(Duration::from_millis(100)),
    )
    .await
    .unwrap();
    let store = Arc::new(store);
    let brand = Arc::new(unique_brand("durable"));
    let key = CounterKey::new(&brand, "m", PERIOD);
    let stop = Arc::new(AtomicBool::new(false));
    let restarted = Arc::new(AtomicBool::new(false));
    // Per task: consumes acknowledged after the restart.
    let served_after: Vec<Arc<AtomicU64>> = (0..8).map(|_| Arc::default()).collect();
    let mut tasks = Vec::new();
    for after_restart in &served_after {
        let (store, brand) = (Arc::clone(&store), Arc::clone(&brand));
        let (stop, restarted) = (Arc::clone(&stop), Arc::clone(&restarted));
        let after_restart = Arc::clone(after_restart);
        tasks.push(tokio::spawn(async move {
            let (mut acked, mut errors) = (0u64, 0u64);
            while !stop.load(Ordering::Relaxed) {
                let after = restarted.load(Ordering::Relaxed);
                match store.consume(&request(&brand, "m", 1, None, None)).await {
                    Ok(out) => {
                        assert!(out.admitted);
                        acked += 1;
                        if after {
                            after_restart.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    Err(e) => {
                        assert!(e.is_unavailable(), "a restart gives typed errors: {e:?}");
                        errors += 1;
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                }
            }
            (acked, errors)
        }));
    }
    wait_for("consumes before the restart", async || {
        store.usage(key).await.unwrap().used >= 100
    })
    .await;
    let cluster = tokio::task::spawn_blocking(move || cluster.crash_restart().map(|()| cluster))
        .await
        .unwrap()
        .unwrap();
    restarted.store(true, Ordering::Relaxed);
    wait_for(
        "every task to be served again after the restart, same pool",
        async || served_after.iter().all(|n| n.load(Ordering::Relaxed) > 0),
    )
    .await;
    stop.store(true, Ordering::Relaxed);
    let (mut acked, mut errors) = (0, 0);
    for t in tasks {
        let (a, e) = t.await.unwrap();
        acked += a;
        errors += e;
    }
    let acked_after: u64 = served_after.iter().map(|n| n.load(Ordering::Relaxed)).sum();
    let used = store.usage(key).await.unwrap().used;
    eprintln!(
        "durability: acknowledged {acked} ({acked_after} after the restart), {errors} errors, counted {used}"
    );
    // Exact up to the calls whose answer the crash lost: each of those may or may not have
    // committed, and only those.
    assert!(
        (acked..=acked + errors).contains(&used),
        "counted {used}: {acked} acknowledged consumes must all count, plus at most the \
         {errors} whose answer was lost"
    );
    let (ledger,): (i64,) = sqlx::query_as(
        "SELECT COALESCE(sum(quantity), 0)::BIGINT FROM usage_metric WHERE brand = $1",
    )
    .bind(brand.as_str())
    .fetch_one(store.pool())
    .await
    .unwrap();
    assert_eq!(
        u64::try_from(ledger).unwrap(),
        used,
        "the ledger matches the counter"
    );
    store.close().await;
    drop(cluster);
}
