//! The core store conformance suite again with consumes on the pool
//! (`PostgresOptions::set_consume_connections(0)`) instead of dedicated connections, so both
//! consume paths are held to the same contract.

mod common;
use common::StoreOn;

use std::sync::Arc;

use quota_core::Store;
use quota_postgres::PostgresOptions;

async fn make_store() -> Arc<dyn Store> {
    let db = common::must_test_db("confpool").await;
    let store = db
        .store(
            PostgresOptions::new()
                .set_max_connections(16)
                .set_consume_connections(0),
        )
        .await;
    db.drop_with_runtime();
    Arc::new(store)
}

quota_testkit::store_conformance_tests!(make_store);
