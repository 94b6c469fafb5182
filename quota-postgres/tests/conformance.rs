//! The store conformance suite (`quota_testkit::store_conformance_tests!`) against Postgres,
//! unskipped: in CI a missing server fails every case. Each case gets a database of its own and tests the
//! `PostgresStore` itself: no wrapper forwards the store traits, so every provided method
//! (`recent_topups`, `ping`, ...) is the store's own.

mod common;
use common::StoreOn;

use std::sync::Arc;

use quota_core::Store;
use quota_postgres::PostgresOptions;

async fn make_store() -> Arc<dyn Store> {
    let db = common::must_test_db("conf").await;
    let store = db
        .store(PostgresOptions::new().set_max_connections(16))
        .await;
    db.drop_with_runtime();
    Arc::new(store)
}

quota_testkit::store_conformance_tests!(make_store);
