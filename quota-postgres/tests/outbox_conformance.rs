//! The alert outbox conformance suite (`quota_testkit::outbox_conformance_tests!`) against
//! Postgres. In CI a missing server fails every case. Each case gets a database of its own
//! and tests the `PostgresStore` itself (no forwarding wrapper).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
use common::StoreOn;

use std::sync::Arc;

use quota_core::outbox::OutboxStore;
use quota_postgres::PostgresOptions;

async fn make_outbox() -> Arc<dyn OutboxStore> {
    let db = common::must_test_db("outbox").await;
    let store = db
        .store(PostgresOptions::new().set_max_connections(8))
        .await;
    db.drop_with_runtime();
    Arc::new(store)
}

quota_testkit::outbox_conformance_tests!(make_outbox);
