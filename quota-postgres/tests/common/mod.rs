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
