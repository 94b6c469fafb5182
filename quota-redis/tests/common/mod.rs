//! Test backends: the shared standalone Redis (`REDIS_URL`, default 127.0.0.1:6379) and the
//! 3-master cluster (`REDIS_CLUSTER_URLS`, default 127.0.0.1:7101-7103), as started by
//! `scripts/redis-env.sh`. In CI (`CI=true`) an unreachable backend fails the test; outside
//! CI the test prints why and skips.
#![allow(dead_code, unreachable_pub, clippy::indexing_slicing, clippy::panic)]

use std::time::Duration;

use quota_redis::{RedisOptions, RedisStore};

pub const DEFAULT_URL: &str = "redis://127.0.0.1:6379";
pub const DEFAULT_CLUSTER: &str =
    "redis://127.0.0.1:7101,redis://127.0.0.1:7102,redis://127.0.0.1:7103";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Standalone,
    Cluster,
}

pub fn options() -> RedisOptions {
    RedisOptions::new()
        .set_response_timeout(Duration::from_secs(5))
        .set_connect_timeout(Duration::from_secs(2))
}

pub fn urls(backend: Backend) -> Vec<String> {
    match backend {
        Backend::Standalone => {
            vec![std::env::var("REDIS_URL").unwrap_or_else(|_| DEFAULT_URL.to_owned())]
        }
        Backend::Cluster => std::env::var("REDIS_CLUSTER_URLS")
            .unwrap_or_else(|_| DEFAULT_CLUSTER.to_owned())
            .split(',')
            .map(str::to_owned)
            .collect(),
    }
}

/// A new store (its own connection) on `backend`, or `None` (skip) outside CI when the
/// backend is not reachable.
pub async fn store_with(backend: Backend, opts: RedisOptions) -> Option<RedisStore> {
    let urls = urls(backend);
    let result = match backend {
        Backend::Standalone => RedisStore::connect(&urls[0], opts).await,
        Backend::Cluster => RedisStore::connect_cluster(&urls, opts).await,
    };
    quota_testkit::require(
        &quota_testkit::current_test(),
        &format!(
            "no {backend:?} Redis at {urls:?}; run `eval \"$(bash scripts/redis-env.sh start)\"` first"
        ),
        result,
    )
}

pub async fn store(backend: Backend) -> Option<RedisStore> {
    store_with(backend, options()).await
}

/// A brand id no other test (nor an earlier run) uses, so tests share one server unflushed.
pub fn brand(name: &str) -> String {
    quota_testkit::conformance::unique_brand(name)
}
