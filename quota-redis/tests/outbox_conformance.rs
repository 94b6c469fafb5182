//! The alert outbox conformance suite (`quota_testkit::outbox_conformance_tests!`) against a
//! standalone Redis and a 3-master Redis Cluster (see `scripts/redis-env.sh`). No skip path:
//! an unreachable backend fails with the command that starts one.
#![allow(clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use std::sync::Arc;

use common::Backend;
use quota_core::outbox::OutboxStore;

async fn connect(backend: Backend) -> Arc<dyn OutboxStore> {
    match common::store(backend).await {
        Some(store) => Arc::new(store),
        None => panic!(
            "the outbox conformance suite needs a {backend:?} Redis: run `eval \"$(bash scripts/redis-env.sh start)\"`"
        ),
    }
}

mod standalone {
    use super::*;

    async fn make_outbox() -> Arc<dyn OutboxStore> {
        connect(Backend::Standalone).await
    }

    quota_testkit::outbox_conformance_tests!(make_outbox);
}

mod cluster {
    use super::*;

    async fn make_outbox() -> Arc<dyn OutboxStore> {
        connect(Backend::Cluster).await
    }

    quota_testkit::outbox_conformance_tests!(make_outbox);
}
