//! A stalled Postgres (every process of the server stopped with SIGSTOP, as on a frozen host):
//! each call ends within the client-side request timeout with a typed `Timeout` (never a
//! hang, a panic or a wrong decision), a new store cannot connect (`Unavailable`), and the
//! same store serves again once the server resumes. Consumes cut by the deadline have an
//! unknown outcome; retried with their idempotency keys they count exactly once.
//!
//! Uses a throwaway cluster of its own (`tests/cluster`), never the shared server. Bounds
//! are generous (a shared 2-core machine); what is asserted is the kind of every error and
//! that each call returns at all.
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
use std::time::{Duration, Instant};

use cluster::Cluster;
use quota_core::store::{ConsumeOutcome, CounterKey};
use quota_core::{StoreError, UsageStore};
use quota_postgres::{PostgresOptions, PostgresStore};
use quota_testkit::conformance::{PERIOD, request, unique_brand};

/// The store's request timeout in this test.
const REQUEST_TIMEOUT: Duration = Duration::from_millis(800);
/// How long a call cut by the request timeout may take to come back, scheduling included.
const CALL_BOUND: Duration = Duration::from_secs(10);
/// How long the store may take to serve again once the server resumes.
const RECOVERY_BOUND: Duration = Duration::from_secs(60);

/// `call`, asserting it came back within [`CALL_BOUND`].
async fn returns_in_time<T>(call: impl Future<Output = T>) -> T {
    let started = Instant::now();
    let out = tokio::time::timeout(CALL_BOUND, call)
        .await
        .unwrap_or_else(|_| panic!("a store call hung for {CALL_BOUND:?}"));
    let took = started.elapsed();
    eprintln!("call returned after {took:?}");
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_stalled_server_gives_timeouts_within_the_deadline_then_the_store_recovers() {
    let Some(cluster) = Cluster::start_or_skip().await else {
        return;
    };
    let store = PostgresStore::connect(
        &cluster.url(),
        PostgresOptions::new()
            .set_max_connections(8)
            .set_request_timeout(Some(REQUEST_TIMEOUT)),
    )
    .await
    .unwrap();
    let store = Arc::new(store);
    let brand = Arc::new(unique_brand("stall"));
    let key = CounterKey::new(&brand, "m", PERIOD);
    for i in 0..5 {
        let id = format!("warm-{i}");
        let out = store
            .consume(&request(&brand, "m", 1, None, Some(&id)))
            .await
            .unwrap();
        assert_eq!(out, ConsumeOutcome::new(true, i + 1, 0, 0, 0));
    }

    let stalled = cluster.stall().unwrap();

    // Concurrent consumes (on the dedicated consume connections and, past them, new ones),
    // a read and a ping on the pool: each one a Timeout of the configured deadline.
    let mut calls = Vec::new();
    for i in 0..12 {
        let (store, brand) = (Arc::clone(&store), Arc::clone(&brand));
        calls.push(tokio::spawn(async move {
            let id = format!("stalled-{i}");
            returns_in_time(store.consume(&request(&brand, "m", 1, None, Some(&id)))).await
        }));
    }
    for call in calls {
        match call.await.unwrap() {
            Err(StoreError::Timeout(d)) => assert_eq!(d, REQUEST_TIMEOUT),
            other => panic!("a stalled server must give Timeout, got {other:?}"),
        }
    }
    for err in [
        returns_in_time(store.usage(key)).await.map(|_| ()),
        returns_in_time(store.ping()).await,
    ] {
        assert!(
            matches!(err, Err(StoreError::Timeout(d)) if d == REQUEST_TIMEOUT),
            "{err:?}"
        );
    }
    // A store that starts meanwhile cannot open a connection: Unavailable after its acquire
    // timeout.
    let fresh = returns_in_time(PostgresStore::connect(
        &cluster.url(),
        PostgresOptions::new()
            .set_acquire_timeout(Duration::from_millis(500))
            .set_run_migrations(false),
    ))
    .await;
    assert!(
        matches!(fresh, Err(StoreError::Unavailable { .. })),
        "{:?}",
        fresh.map(|_| ())
    );

    stalled.resume();
    let started = Instant::now();
    let mut recovered = 0u64;
    loop {
        match returns_in_time(store.consume(&request(&brand, "m", 1, None, None))).await {
            Ok(out) => {
                assert!(out.admitted);
                recovered += 1;
                break;
            }
            Err(e) => {
                assert!(e.is_unavailable(), "while the server resumes: {e}");
                assert!(
                    started.elapsed() < RECOVERY_BOUND,
                    "the store did not serve again within {RECOVERY_BOUND:?}: {e}"
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
    eprintln!(
        "served again {:?} after the server resumed",
        started.elapsed()
    );
    store.ping().await.unwrap();

    // The stalled consumes may or may not have run once the server resumed: retried with
    // their keys, each counts exactly once.
    for i in 0..12 {
        let id = format!("stalled-{i}");
        let out = store
            .consume(&request(&brand, "m", 1, None, Some(&id)))
            .await
            .unwrap();
        assert!(out.admitted, "{out:?}");
    }
    let used = store.usage(key).await.unwrap().used;
    assert_eq!(used, 5 + 12 + recovered);
    let (ledger,): (i64,) = sqlx::query_as(
        "SELECT COALESCE(sum(quantity), 0)::BIGINT FROM usage_metric WHERE brand = $1",
    )
    .bind(brand.as_str())
    .fetch_one(store.pool())
    .await
    .unwrap();
    assert_eq!(u64::try_from(ledger).unwrap(), used, "the ledger matches");
    store.close().await;
    drop(cluster);
}
