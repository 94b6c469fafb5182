//! The outbox conformance suite against `MemoryStore`.

use std::sync::Arc;

use quota_core::MemoryStore;
use quota_core::outbox::OutboxStore;

async fn make_outbox() -> Arc<dyn OutboxStore> {
    Arc::new(MemoryStore::new())
}

quota_testkit::outbox_conformance_tests!(make_outbox);
