//! The store conformance suite against `MemoryStore`.

use std::sync::Arc;

use quota_core::{MemoryStore, Store};

async fn make_store() -> Arc<dyn Store> {
    Arc::new(MemoryStore::new())
}

quota_testkit::store_conformance_tests!(make_store);
