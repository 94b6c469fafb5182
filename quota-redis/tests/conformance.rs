//! The store conformance suite (`quota_testkit::store_conformance_tests!`), unchanged, against
//! a standalone Redis and against a 3-master Redis Cluster (see `scripts/redis-env.sh`).
//!
//! The suite's macro has no skip path: when a backend is unreachable these tests fail with
//! the command that starts one.
#![allow(clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use std::sync::Arc;

use common::Backend;
use quota_core::Store;

async fn connect(backend: Backend) -> Arc<dyn Store> {
    match common::store(backend).await {
        Some(store) => Arc::new(store),
        None => panic!(
            "the conformance suite needs a {backend:?} Redis: run `eval \"$(bash scripts/redis-env.sh start)\"`"
        ),
    }
}

mod standalone {
    use super::*;

    async fn make_store() -> Arc<dyn Store> {
        connect(Backend::Standalone).await
    }

    quota_testkit::store_conformance_tests!(make_store);
}

mod cluster {
    use super::*;

    async fn make_store() -> Arc<dyn Store> {
        connect(Backend::Cluster).await
    }

    quota_testkit::store_conformance_tests!(make_store);
}
