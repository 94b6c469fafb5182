//! With no fault set, `FaultyStore<MemoryStore>` passes both conformance suites: the wrapper
//! changes nothing but what a test asks it to.

use std::sync::Arc;

use quota_core::outbox::OutboxStore;
use quota_core::{MemoryStore, Store};
use quota_testkit::FaultyStore;

async fn make_store() -> Arc<dyn Store> {
    Arc::new(FaultyStore::new(MemoryStore::new()))
}

async fn make_outbox() -> Arc<dyn OutboxStore> {
    Arc::new(FaultyStore::new(MemoryStore::new()))
}

quota_testkit::store_conformance_tests!(make_store);
quota_testkit::outbox_conformance_tests!(make_outbox);
