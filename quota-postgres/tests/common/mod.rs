//! Test support: finds a Postgres server, gives each test a database of its own and drops it
//! when the test ends (even when it panics).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    dead_code,
    unreachable_pub
)]

use std::path::PathBuf;

use quota_postgres::{PostgresOptions, PostgresStore};

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

pub use quota_testkit::pg::TestDb;

/// A fresh database for the running test; `None` after [`quota_testkit::skip`] when no
/// server can be had (a failure in CI).
pub async fn test_db(tag: &str) -> Option<TestDb> {
    TestDb::create_or_skip(&quota_testkit::current_test(), tag).await
}

/// A fresh database, or a panic with the reason.
pub async fn must_test_db(tag: &str) -> TestDb {
    TestDb::try_create(tag, true)
        .await
        .unwrap_or_else(|why| panic!("no Postgres for this test: {why}"))
}

/// The ledger rows (`kind`, `quantity`) of `brand`, in insertion order.
pub async fn ledger(store: &PostgresStore, brand: &str) -> Vec<(String, i64)> {
    sqlx::query_as("SELECT kind, quantity FROM usage_metric WHERE brand = $1 ORDER BY id")
        .bind(brand)
        .fetch_all(store.pool())
        .await
        .unwrap()
}

/// Sums of the ledger's `quantity` and `charged_units` for one counter's metric: what the
/// counter's `used` and overage units must equal.
pub async fn ledger_sums(store: &PostgresStore, brand: &str, metric: &str) -> (u64, u64) {
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

/// A store on a test database.
pub trait StoreOn {
    /// A store on this database with `options`.
    fn store(
        &self,
        options: PostgresOptions,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = PostgresStore> + Send + '_>>;
}

impl StoreOn for TestDb {
    fn store(
        &self,
        options: PostgresOptions,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = PostgresStore> + Send + '_>> {
        Box::pin(async move { PostgresStore::connect(&self.url, options).await.unwrap() })
    }
}
