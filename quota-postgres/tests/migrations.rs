//! The schema migration: it builds the whole schema in an empty schema, running it again
//! changes nothing, instances share it, and a database holding a pre-release schema of this
//! crate is refused with a typed error before anything is touched.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

mod common;
use common::StoreOn;

use std::str::FromStr;

use quota_core::StoreError;
use quota_core::UsageStore;
use quota_core::store::{ConsumeOutcome, CounterKey, Usage};
use quota_postgres::{MIGRATOR, PostgresOptions, PostgresStore, SchemaError};
use quota_testkit::conformance::{PERIOD, request, unique_brand};
use sqlx::postgres::{PgConnectOptions, PgPool};

/// The tables of the schema.
const TABLES: [&str; 10] = [
    "alert_claims",
    "alert_outbox",
    "share_link_revocations",
    "subscriptions",
    "timeline_events",
    "usage_counters",
    "usage_gauges",
    "usage_idempotency_keys",
    "usage_metric",
    "usage_topup",
];

/// The functions of the schema, with the signatures the store calls.
const FUNCTIONS: [&str; 8] = [
    "quota_consume(text, text, bigint, bigint, bigint, bigint, text, bigint, integer, \
     timestamptz, timestamptz, timestamptz)",
    "quota_release(text, text, bigint, bigint, integer)",
    "quota_reset_period(text, text, bigint, timestamptz, text)",
    "quota_adjust_gauge(text, text, bigint, bigint)",
    "quota_set_gauge(text, text, bigint)",
    "quota_days_add(bigint[], integer, bigint)",
    "quota_limit(bigint, bigint)",
    "quota_charged(bigint, bigint, bigint, bigint, bigint)",
];

/// The migration versions of the pre-release schema of this crate.
const PRE_RELEASE_VERSIONS: [i64; 5] = [
    20261125000001,
    20261125000002,
    20261125000003,
    20261125000004,
    20261202000005,
];

/// A pool on `db` whose connections work in `schema` (created empty when absent).
async fn pool_in_schema(db: &common::TestDb, schema: &str) -> PgPool {
    let admin = PgPool::connect(&db.url).await.unwrap();
    // `schema` is one of this file's literals.
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "CREATE SCHEMA IF NOT EXISTS {schema}"
    )))
    .execute(&admin)
    .await
    .unwrap();
    admin.close().await;
    let options = PgConnectOptions::from_str(&db.url)
        .unwrap()
        .options([("search_path", schema)]);
    PgPool::connect_with(options).await.unwrap()
}

/// The tables of the connection's current schema, by name.
async fn tables(pool: &PgPool) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT tablename::TEXT FROM pg_tables
         WHERE schemaname = current_schema() AND tablename <> '_sqlx_migrations'
         ORDER BY tablename",
    )
    .fetch_all(pool)
    .await
    .unwrap()
}

/// Every column, constraint, index and function definition of the current schema, as text.
async fn schema_definition(pool: &PgPool) -> String {
    sqlx::query_scalar(
        "SELECT string_agg(def, E'\\n' ORDER BY def) FROM (
             SELECT format('%s.%s %s %s %s', c.relname, a.attname,
                           format_type(a.atttypid, a.atttypmod), a.attnotnull,
                           pg_get_expr(d.adbin, d.adrelid)) AS def
             FROM pg_attribute a
             JOIN pg_class c ON c.oid = a.attrelid
             LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
             WHERE c.relnamespace = current_schema()::regnamespace
               AND a.attnum > 0 AND NOT a.attisdropped
             UNION ALL
             SELECT conname || ' ' || pg_get_constraintdef(oid) FROM pg_constraint
             WHERE connamespace = current_schema()::regnamespace
             UNION ALL
             SELECT indexdef FROM pg_indexes WHERE schemaname = current_schema()
             UNION ALL
             SELECT pg_get_functiondef(oid) FROM pg_proc
             WHERE pronamespace = current_schema()::regnamespace
         ) s",
    )
    .fetch_one(pool)
    .await
    .unwrap()
}

/// The migration history of the current schema: (version, success, installed_on).
async fn history(pool: &PgPool) -> Vec<(i64, bool, String)> {
    sqlx::query_as(
        "SELECT version, success, installed_on::TEXT FROM _sqlx_migrations ORDER BY version",
    )
    .fetch_all(pool)
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_migration_builds_the_whole_schema_in_an_empty_schema_and_the_store_works_on_it() {
    let Some(db) = common::test_db("mig-empty").await else {
        return;
    };
    let pool = pool_in_schema(&db, "quota").await;
    assert!(tables(&pool).await.is_empty());
    let store = PostgresStore::from_pool(pool.clone()).await.unwrap();

    assert_eq!(tables(&pool).await, TABLES);
    for function in FUNCTIONS {
        let (found,): (bool,) = sqlx::query_as(
            "SELECT p.pronamespace = current_schema()::regnamespace
             FROM pg_proc p WHERE p.oid = to_regprocedure($1)",
        )
        .bind(function)
        .fetch_optional(&pool)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("{function} is missing"));
        assert!(found, "{function} is not in the store's schema");
    }
    let applied: Vec<i64> = history(&pool).await.iter().map(|row| row.0).collect();
    let embedded: Vec<i64> = MIGRATOR.iter().map(|m| m.version).collect();
    assert_eq!(
        applied, embedded,
        "the history lists the embedded migration"
    );
    assert_eq!(embedded.len(), 1, "the schema is one migration");
    assert!(
        tables(&PgPool::connect(&db.url).await.unwrap())
            .await
            .is_empty(),
        "nothing lands in public"
    );

    let brand = unique_brand("mig-empty");
    let key = CounterKey::new(&brand, "m", PERIOD);
    let out = store
        .consume(&request(&brand, "m", 5, Some(10), Some("k")))
        .await
        .unwrap();
    assert_eq!(out, ConsumeOutcome::new(true, 5, 0, 0, 0));
    assert_eq!(
        store.release(key, 2, 24).await.unwrap(),
        Usage::new(3, 0, 0)
    );
    assert_eq!(common::ledger_sums(&store, &brand, "m").await, (3, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrating_again_changes_neither_the_schema_nor_the_data() {
    let Some(db) = common::test_db("mig-again").await else {
        return;
    };
    let store = db.store(PostgresOptions::new()).await;
    let brand = unique_brand("mig-again");
    store
        .consume(&request(&brand, "m", 7, None, Some("k")))
        .await
        .unwrap();
    let schema = schema_definition(store.pool()).await;
    let applied = history(store.pool()).await;

    store.migrate().await.unwrap();
    store.migrate().await.unwrap();
    let again = db.store(PostgresOptions::new()).await;

    assert_eq!(schema_definition(again.pool()).await, schema);
    assert_eq!(history(again.pool()).await, applied);
    assert_eq!(
        again
            .usage(CounterKey::new(&brand, "m", PERIOD))
            .await
            .unwrap(),
        Usage::new(7, 0, 0)
    );
    assert!(
        again
            .consume(&request(&brand, "m", 7, None, Some("k")))
            .await
            .unwrap()
            .replayed,
        "idempotency keys survive"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instances_starting_together_apply_the_migration_once() {
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
    assert_eq!(n, i64::try_from(MIGRATOR.iter().count()).unwrap());
}

/// Rewrites the migration history of `pool`'s schema to list `versions` only, as a database
/// that applied the pre-release migrations has it.
async fn pre_release_history(pool: &PgPool, versions: &[i64]) {
    sqlx::query("DELETE FROM _sqlx_migrations")
        .execute(pool)
        .await
        .unwrap();
    for version in versions {
        sqlx::query(
            "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time)
             VALUES ($1, 'pre-release', TRUE, '\\x00'::BYTEA, 1)",
        )
        .bind(version)
        .execute(pool)
        .await
        .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pre_release_schema_is_refused_with_a_typed_error_and_left_untouched() {
    let Some(db) = common::test_db("mig-pre").await else {
        return;
    };
    let pool = pool_in_schema(&db, "legacy").await;
    PostgresStore::from_pool(pool.clone()).await.unwrap();
    for versions in [&PRE_RELEASE_VERSIONS[..], &PRE_RELEASE_VERSIONS[..2]] {
        pre_release_history(&pool, versions).await;
        let schema = schema_definition(&pool).await;
        let applied = history(&pool).await;

        let err = PostgresStore::from_pool(pool.clone()).await.unwrap_err();

        let StoreError::Backend {
            message,
            source: Some(source),
        } = &err
        else {
            panic!("a backend error with its cause: {err:?}");
        };
        assert_eq!(
            source.downcast_ref::<SchemaError>(),
            Some(&SchemaError::PreRelease {
                schema: "legacy".into(),
                versions: versions.to_vec(),
            })
        );
        assert!(
            message.contains("pre-release schema of quota-postgres")
                && message.contains("drop schema \"legacy\" or use a fresh database"),
            "{message}"
        );
        assert_eq!(schema_definition(&pool).await, schema, "nothing changed");
        assert_eq!(history(&pool).await, applied);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_refuses_a_pre_release_schema_unless_migrations_are_off() {
    let Some(db) = common::test_db("mig-off").await else {
        return;
    };
    let store = db.store(PostgresOptions::new()).await;
    pre_release_history(store.pool(), &PRE_RELEASE_VERSIONS).await;
    let err = PostgresStore::connect(&db.url, PostgresOptions::new())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("pre-release schema"), "{err}");
    PostgresStore::connect(&db.url, PostgresOptions::new().set_run_migrations(false))
        .await
        .unwrap();
}
