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
use common::StoreOn;

use std::time::Duration;

use quota_core::domain::MAX_UNITS;
use quota_core::report::{EventKind, TimelineEvent};
use quota_core::store::{ConsumeOutcome, CounterKey, CounterReset, Usage};
use quota_core::threshold::Severity;
use quota_core::topup::{TopUpStatus, UsageTopUp};
use quota_core::{AlertStore, StoreError, TopUpStore, UsageStore};
use quota_postgres::{PostgresOptions, PostgresStore, ResetRequest};
use quota_testkit::conformance::{PERIOD, now, period_end, request, unique_brand};

async fn ledger(store: &PostgresStore, brand: &str) -> Vec<(String, i64)> {
    sqlx::query_as("SELECT kind, quantity FROM usage_metric WHERE brand = $1 ORDER BY id")
        .bind(brand)
        .fetch_all(store.pool())
        .await
        .unwrap()
}

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
async fn reset_usage_to_rewrites_the_period_in_one_transaction() {
    let Some(db) = common::test_db("reset").await else {
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
        .set_topup_status(&t, TopUpStatus::Completed, now())
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
    let kinds: Vec<(&str, i64)> = rows.iter().map(|(k, q)| (k.as_str(), *q)).collect();
    let (resets, target) = kinds.split_at(kinds.len() - 1);
    let mut resets = resets[2..].to_vec();
    resets.sort_unstable();
    assert_eq!(&kinds[..2], [("consume", 30), ("consume", 8)]);
    assert_eq!(
        resets,
        [("reset", -30), ("reset", -8)],
        "one row per metric"
    );
    assert_eq!(target, [("reset_target", 92)]);
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
    let Some(db) = common::test_db("ttl").await else {
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrations_are_idempotent_and_shared_by_instances() {
    let Some(db) = common::test_db("migrate").await else {
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
    let Some(db) = common::test_db("share").await else {
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

/// A pool on `db` migrated with the first `version` migration files only: the schema an
/// older release left, for the upgrade tests.
async fn schema_as_of(db: &common::TestDb, version: usize) -> sqlx::PgPool {
    let dir = std::env::temp_dir().join(format!("quota-pg-v{version}-{}", db.name));
    std::fs::create_dir_all(&dir).unwrap();
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    let mut files: Vec<_> = std::fs::read_dir(&src)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    files.sort();
    for file in files.iter().take(version) {
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
    pool
}

/// Migration 3 folds `usage_daily` into the counter row: buckets written by a version-2
/// schema read back the same after the upgrade, and consumes keep adding to them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn daily_buckets_survive_the_fold_into_the_counter_row() {
    let Some(db) = common::test_db("fold").await else {
        return;
    };
    // The schema as of version 2: the first two migration files only.
    let pool = schema_as_of(&db, 2).await;
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

/// Sum of the ledger's `quantity` and `charged_units` of a counter.
async fn ledger_sums(store: &PostgresStore, brand: &str, metric: &str) -> (u64, u64) {
    let (used, overage): (i64, i64) = sqlx::query_as(
        "SELECT COALESCE(sum(quantity), 0)::BIGINT, COALESCE(sum(charged_units), 0)::BIGINT
         FROM usage_metric WHERE brand = $1 AND metric = $2",
    )
    .bind(brand)
    .bind(metric)
    .fetch_one(store.pool())
    .await
    .unwrap();
    (
        u64::try_from(used).unwrap(),
        u64::try_from(overage).unwrap(),
    )
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
async fn a_key_stored_without_a_fingerprint_replays_for_any_request() {
    let Some(db) = common::test_db("nofp").await else {
        return;
    };
    let store = db.store(PostgresOptions::new()).await;
    let brand = unique_brand("nofp");
    let first = store
        .consume(&request(&brand, "m", 3, None, Some("k")))
        .await
        .unwrap();
    sqlx::query("UPDATE usage_idempotency_keys SET fingerprint = NULL WHERE brand = $1")
        .bind(&brand)
        .execute(store.pool())
        .await
        .unwrap();
    let other = store
        .consume(&request(&brand, "m", 5, None, Some("k")))
        .await
        .unwrap();
    assert_eq!(other, first.as_replay());
    assert_eq!(
        store
            .usage(CounterKey::new(&brand, "m", PERIOD))
            .await
            .unwrap()
            .used,
        3
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recent_topups_are_the_newest_ones_up_to_the_limit() {
    let Some(db) = common::test_db("recent").await else {
        return;
    };
    let store = db.store(PostgresOptions::new()).await;
    let brand = unique_brand("recent");
    let ids: Vec<String> = (0..3).map(|i| format!("{brand}-{i}")).collect();
    for id in &ids {
        store
            .insert_topup(&UsageTopUp::pending(
                id,
                &brand,
                "m",
                1,
                PERIOD,
                now(),
                period_end(),
            ))
            .await
            .unwrap();
    }
    let newest_first: Vec<&str> = ids.iter().rev().map(String::as_str).collect();
    // Through the trait object too: the store's own method, not the trait's default.
    let dyn_store: std::sync::Arc<dyn quota_core::Store> = std::sync::Arc::new(store.clone());
    for (limit, want) in [
        (0, &newest_first[..0]),
        (1, &newest_first[..1]),
        (2, &newest_first[..2]),
        (3, &newest_first[..]),
        (4, &newest_first[..]),
        (usize::MAX, &newest_first[..]),
    ] {
        for got in [
            store.recent_topups(&brand, limit).await.unwrap(),
            dyn_store.recent_topups(&brand, limit).await.unwrap(),
        ] {
            let got: Vec<&str> = got.iter().map(|t| t.id.as_str()).collect();
            assert_eq!(got, want, "limit {limit}");
        }
    }
    assert!(
        store
            .recent_topups(&unique_brand("recent-none"), 5)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timeline_events_read_back_to_the_microsecond_with_their_sequence() {
    let Some(db) = common::test_db("tlus").await else {
        return;
    };
    let store = db.store(PostgresOptions::new()).await;
    let brand = unique_brand("tlus");
    let at = now() + chrono::Duration::nanoseconds(1_234_567);
    let event = TimelineEvent::new(
        &brand,
        at,
        PERIOD,
        None,
        Severity::Info,
        EventKind::PlanChanged {
            from: "free".into(),
            to: "pro".into(),
        },
    );
    let seq = store.append_event(&event).await.unwrap();
    let mut want = event.with_seq(seq);
    want.at = now() + chrono::Duration::microseconds(1_234);
    assert_eq!(store.events(&brand, 1).await.unwrap(), [want]);
    assert_eq!(store.events(&brand, 0).await.unwrap(), []);
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

/// A database of version 4 (keys without fingerprints, counters without overage units, the
/// old `quota_consume`) upgraded in place: counters, keys and the ledger stay and serve.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_version_4_database_upgrades_with_its_counters_and_keys() {
    let Some(db) = common::test_db("v4").await else {
        return;
    };
    let pool = schema_as_of(&db, 4).await;
    let at = now();
    let (admitted, used): (bool, i64) = sqlx::query_as(
        "SELECT admitted, used FROM quota_consume('b', 'm', 20261101, 7, 100, 'k', 24, $1,
                                                  $2, $3)",
    )
    .bind(at)
    .bind(period_end())
    .bind(at + chrono::Duration::hours(24))
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!((admitted, used), (true, 7));
    pool.close().await;

    let store = db.store(PostgresOptions::new()).await;
    let key = CounterKey::new("b", "m", PERIOD);
    assert_eq!(store.usage(key).await.unwrap(), Usage::new(7, 0, 0));
    let replay = store
        .consume(&request("b", "m", 7, Some(100), Some("k")))
        .await
        .unwrap();
    assert_eq!(replay, ConsumeOutcome::new(true, 7, 0, 0, 0).as_replay());
    let mut more = request("b", "m", 5, Some(100), None);
    more.free_units = Some(10);
    assert_eq!(
        store.consume(&more).await.unwrap(),
        ConsumeOutcome::new(true, 12, 0, 2, 2)
    );
    assert_eq!(ledger_sums(&store, "b", "m").await, (12, 2));
    let t = UsageTopUp::pending("b-t", "b", "m", 1, PERIOD, now(), period_end());
    store.insert_topup(&t).await.unwrap();
    let cancelled = store
        .set_topup_status("b-t", TopUpStatus::Cancelled, now())
        .await
        .unwrap();
    assert_eq!(cancelled.topup.status, TopUpStatus::Cancelled);
}
