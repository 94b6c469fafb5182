//! Postgres-specific behaviour beyond the conformance suite: ledger audit, the runbook's
//! reset, idempotency key expiry, BIGINT range, error kinds, migrations, share links.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

mod common;

use std::time::Duration;

use quota_core::StoreError;
use quota_core::store::{AlertStore, CounterKey, TopUpStore, UsageStore};
use quota_core::testing::{PERIOD, now, period_end, request, unique_brand};
use quota_core::topup::UsageTopUp;
use quota_postgres::{PostgresOptions, PostgresStore, ResetRequest};

async fn ledger(store: &PostgresStore, brand: &str) -> Vec<(String, i64)> {
    sqlx::query_as("SELECT kind, quantity FROM usage_metric WHERE brand = $1 ORDER BY id")
        .bind(brand)
        .fetch_all(store.pool())
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ledger_records_every_change_and_sums_to_the_counter() {
    let Some(db) = common::TestDb::create_or_skip("ledger").await else {
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
async fn reset_usage_to_rewrites_the_period_in_one_transaction() {
    let Some(db) = common::TestDb::create_or_skip("reset").await else {
        return;
    };
    let store = db.store(PostgresOptions::new()).await;
    let brand = unique_brand("reset");
    let key = CounterKey::new(&brand, "ai_generations", PERIOD);
    let mut r = request(&brand, "ai_generations", 30, None, None);
    r.day = 2;
    store.consume(&r).await.unwrap();
    store
        .consume(&request(&brand, "renders_2d", 8, None, None))
        .await
        .unwrap();
    store.claim_alert(key, 50).await.unwrap();
    let t = format!("{brand}-t");
    store
        .insert_topup(&UsageTopUp::pending(
            &t,
            &brand,
            "ai_generations",
            25,
            PERIOD,
            now(),
            period_end(),
        ))
        .await
        .unwrap();
    store
        .set_topup_status(&t, quota_core::TopUpStatus::Completed, now())
        .await
        .unwrap();

    let usage = store
        .reset_usage_to(
            &ResetRequest::new(key, 92, 24, now(), period_end())
                .all_metrics()
                .reason("qa: target 92 %"),
        )
        .await
        .unwrap();
    assert_eq!(
        (usage.used, usage.topup_units),
        (92, 25),
        "top-ups survive a reset"
    );
    assert_eq!(store.usage(key).await.unwrap().used, 92);
    let days = store.daily_usage(key).await.unwrap();
    assert_eq!(days.len(), 25);
    assert_eq!(days[2], 0, "old buckets are gone");
    assert_eq!(days[24], 92);
    assert_eq!(
        store
            .usage(CounterKey::new(&brand, "renders_2d", PERIOD))
            .await
            .unwrap()
            .used,
        0,
        "the whole brand period is reset, as in the runbook"
    );
    assert!(store.claimed_alerts(key).await.unwrap().is_empty());
    let rows = ledger(&store, &brand).await;
    let tail: Vec<(&str, i64)> = rows
        .iter()
        .rev()
        .take(3)
        .map(|(k, q)| (k.as_str(), *q))
        .collect();
    assert!(tail.contains(&("reset", -30)) && tail.contains(&("reset", -8)));
    assert_eq!(tail[0], ("reset_target", 92));
    let note: (Option<String>,) =
        sqlx::query_as("SELECT note FROM usage_metric WHERE brand = $1 AND kind = 'reset_target'")
            .bind(&brand)
            .fetch_one(store.pool())
            .await
            .unwrap();
    assert_eq!(note.0.as_deref(), Some("qa: target 92 %"));
    let out = store
        .consume(&request(&brand, "ai_generations", 8, Some(100), None))
        .await
        .unwrap();
    assert!(out.admitted && out.used == 100);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_idempotency_key_counts_again() {
    let Some(db) = common::TestDb::create_or_skip("ttl").await else {
        return;
    };
    let store = db
        .store(PostgresOptions::new().set_idempotency_ttl(Duration::from_secs(3600)))
        .await;
    let brand = unique_brand("ttl");
    let first = store
        .consume(&request(&brand, "m", 2, None, Some("k")))
        .await
        .unwrap();
    assert!(first.admitted && !first.replayed);
    let mut later = request(&brand, "m", 2, None, Some("k"));
    later.at_us = (now() + chrono::Duration::minutes(59)).timestamp_micros();
    assert!(store.consume(&later).await.unwrap().replayed);
    later.at_us = (now() + chrono::Duration::minutes(61)).timestamp_micros();
    let again = store.consume(&later).await.unwrap();
    assert!(
        again.admitted && !again.replayed,
        "the key expired after the TTL"
    );
    assert_eq!(again.used, 4);
    assert_eq!(
        store
            .purge_expired(now() + chrono::Duration::days(1))
            .await
            .unwrap(),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn values_past_bigint_are_refused_not_wrapped() {
    let Some(db) = common::TestDb::create_or_skip("range").await else {
        return;
    };
    let store = db.store(PostgresOptions::new()).await;
    let brand = unique_brand("range");
    let err = store
        .set_gauge(&brand, "seats", u64::MAX)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::OutOfRange(_)), "{err}");
    assert!(err.to_string().contains("BIGINT"), "{err}");
    let big = UsageTopUp::pending(
        format!("{brand}-t"),
        &brand,
        "m",
        u64::MAX,
        PERIOD,
        now(),
        period_end(),
    );
    assert!(matches!(
        store.insert_topup(&big).await.unwrap_err(),
        StoreError::OutOfRange(_)
    ));
    // A ceiling above BIGINT is clamped: i64::MAX units fit, one more does not.
    let out = store
        .consume(&request(
            &brand,
            "m",
            i64::MAX.unsigned_abs(),
            Some(u64::MAX),
            None,
        ))
        .await
        .unwrap();
    assert!(out.admitted);
    let out = store
        .consume(&request(&brand, "m", 1, Some(u64::MAX), None))
        .await
        .unwrap();
    assert!(!out.admitted);
    assert_eq!(out.used, i64::MAX.unsigned_abs());
    // A quantity above BIGINT still replays a live key.
    let k = unique_brand("range-k");
    store
        .consume(&request(&k, "m", 1, None, Some("x")))
        .await
        .unwrap();
    let replay = store
        .consume(&request(&k, "m", u64::MAX, None, Some("x")))
        .await
        .unwrap();
    assert!(replay.admitted && replay.replayed && replay.used == 1);
    let up = store
        .adjust_gauge(&brand, "g", i64::MAX, None)
        .await
        .unwrap();
    assert!(up.admitted);
    let over = store.adjust_gauge(&brand, "g", 1, None).await.unwrap();
    assert!(!over.admitted, "a level past BIGINT is refused");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_statement_stuck_on_a_lock_times_out_with_a_typed_error() {
    let Some(db) = common::TestDb::create_or_skip("timeout").await else {
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
    assert!(err.is_unavailable(), "{err}");
    let err = PostgresStore::connect("not a url", PostgresOptions::new())
        .await
        .unwrap_err();
    assert!(!err.is_unavailable(), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrations_are_idempotent_and_shared_by_instances() {
    let Some(db) = common::TestDb::create_or_skip("migrate").await else {
        return;
    };
    let (a, b) = tokio::join!(
        PostgresStore::connect(&db.url, PostgresOptions::new()),
        PostgresStore::connect(&db.url, PostgresOptions::new())
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    a.migrate().await.unwrap();
    let again = PostgresStore::from_pool(b.pool().clone()).await.unwrap();
    let (n,): (i64,) = sqlx::query_as("SELECT count(*) FROM _sqlx_migrations WHERE success")
        .fetch_one(again.pool())
        .await
        .unwrap();
    assert_eq!(
        n,
        i64::try_from(quota_postgres::MIGRATOR.iter().count()).unwrap()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_share_link_is_revoked_once() {
    let Some(db) = common::TestDb::create_or_skip("share").await else {
        return;
    };
    let store = db.store(PostgresOptions::new()).await;
    let brand = unique_brand("share");
    assert!(!store.is_share_link_revoked("tok-1").await.unwrap());
    assert!(
        store
            .revoke_share_link("tok-1", &brand, now(), Some(period_end()))
            .await
            .unwrap()
    );
    assert!(
        !store
            .revoke_share_link("tok-1", &brand, now(), None)
            .await
            .unwrap()
    );
    assert!(store.is_share_link_revoked("tok-1").await.unwrap());
    assert_eq!(store.purge_revocations(now()).await.unwrap(), 0);
    assert_eq!(
        store
            .purge_revocations(period_end() + chrono::Duration::days(1))
            .await
            .unwrap(),
        1
    );
}

/// Migration 3 folds `usage_daily` into the counter row: buckets written by a version-2
/// schema read back the same after the upgrade, and consumes keep adding to them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn daily_buckets_survive_the_fold_into_the_counter_row() {
    let Some(db) = common::TestDb::create_or_skip("fold").await else {
        return;
    };
    // The schema as of version 2: the first two migration files only.
    let dir = std::env::temp_dir().join(format!("quota-pg-v2-{}", db.name));
    std::fs::create_dir_all(&dir).unwrap();
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    for file in [
        "20261125000001_usage_store.sql",
        "20261125000002_alert_outbox.sql",
    ] {
        std::fs::copy(src.join(file), dir.join(file)).unwrap();
    }
    let pool = sqlx::PgPool::connect(&db.url).await.unwrap();
    sqlx::migrate::Migrator::new(dir.as_path())
        .await
        .unwrap()
        .run(&pool)
        .await
        .unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    sqlx::raw_sql(
        "INSERT INTO usage_counters (brand, metric, period, used) VALUES
             ('b', 'm', 20261101, 20), ('b', 'n', 20261101, 3), ('b', 'o', 20261101, 0);
         INSERT INTO usage_daily (brand, metric, period, day, units) VALUES
             ('b', 'm', 20261101, 0, 5), ('b', 'm', 20261101, 3, 15), ('b', 'n', 20261101, 2, 3);",
    )
    .execute(&pool)
    .await
    .unwrap();
    pool.close().await;

    let store = db.store(PostgresOptions::new()).await;
    let key = |metric| CounterKey::new("b", metric, PERIOD);
    assert_eq!(PERIOD.0, 20261101);
    assert_eq!(store.daily_usage(key("m")).await.unwrap(), [5, 0, 0, 15]);
    assert_eq!(store.daily_usage(key("n")).await.unwrap(), [0, 0, 3]);
    assert!(store.daily_usage(key("o")).await.unwrap().is_empty());
    let mut r = request("b", "m", 2, Some(100), None);
    r.day = 5;
    assert_eq!(store.consume(&r).await.unwrap().used, 22);
    assert_eq!(
        store.daily_usage(key("m")).await.unwrap(),
        [5, 0, 0, 15, 0, 2]
    );
    let (tables,): (i64,) =
        sqlx::query_as("SELECT count(*) FROM pg_tables WHERE tablename = 'usage_daily'")
            .fetch_one(store.pool())
            .await
            .unwrap();
    assert_eq!(tables, 0, "usage_daily is dropped");
}

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
    let Some(db) = common::TestDb::create_or_skip("lane").await else {
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
    let Some(db) = common::TestDb::create_or_skip("cancel").await else {
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
    assert!(cancelled.is_err(), "the consume waits for the row lock");
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
