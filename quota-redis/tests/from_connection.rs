//! A store built on the caller's connection (`RedisStore::from_manager`,
//! `RedisStore::from_cluster_connection`) decides like one that connected itself, and the
//! caller keeps using the same connection alongside it.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::arithmetic_side_effects,
    missing_docs
)]

mod common;

use chrono::Utc;
use common::Backend;
use quota_core::period::PeriodKey;
use quota_core::store::{ConsumeRequest, CounterKey};
use quota_core::{StoreError, UsageStore};
use quota_redis::{RedisOptions, RedisStore};
use redis::AsyncCommands;
use redis::aio::ConnectionManager;
use redis::cluster::ClusterClient;

const P: PeriodKey = PeriodKey(20261101);

fn request<'a>(key: CounterKey<'a>, idempotency_key: Option<&'static str>) -> ConsumeRequest<'a> {
    let now = Utc::now();
    ConsumeRequest {
        key,
        quantity: 2,
        ceiling: Some(3),
        free_units: Some(3),
        idempotency_key,
        fingerprint: 7,
        day: 1,
        at_us: now.timestamp_micros(),
        retain_until: now + chrono::Duration::days(40),
    }
}

/// Two units of three, the same keyed request again (answered, not counted), then two more
/// units, refused: the store decides on the caller's connection as on its own.
async fn decides_on_the_callers_connection(store: &RedisStore, brand: &str) {
    let key = CounterKey::new(brand, "renders", P);
    let first = store.consume(&request(key, Some("req-1"))).await.unwrap();
    assert!(first.admitted);
    assert_eq!(first.used, 2);
    let replay = store.consume(&request(key, Some("req-1"))).await.unwrap();
    assert!(replay.admitted);
    assert_eq!(replay.used, 2);
    let past_ceiling = store.consume(&request(key, None)).await.unwrap();
    assert!(!past_ceiling.admitted);
    assert_eq!(store.usage(key).await.unwrap().used, 2);
}

#[tokio::test]
async fn a_store_from_the_callers_connection_manager_shares_it() {
    let url = &common::urls(Backend::Standalone)[0];
    let manager = async {
        let client = redis::Client::open(url.as_str())?;
        ConnectionManager::new(client).await
    };
    let Some(mut manager) = quota_testkit::require(
        &quota_testkit::current_test(),
        &format!("no standalone Redis at {url}"),
        manager.await,
    ) else {
        return;
    };
    let store = RedisStore::from_manager(manager.clone(), common::options()).unwrap();
    let brand = common::brand("from-manager");
    decides_on_the_callers_connection(&store, &brand).await;

    // The caller's own commands go on over the same connection, and see the store's keys
    // (prefix `q` by default).
    let used: i64 = manager
        .hget(format!("q:{{{brand}}}:c:renders:{P}"), "u")
        .await
        .unwrap();
    assert_eq!(used, 2);
    store.reset_period(&brand, None, P).await.unwrap();
}

#[tokio::test]
async fn a_store_from_the_callers_cluster_connection_shares_it() {
    let urls = common::urls(Backend::Cluster);
    let conn = async {
        let client = ClusterClient::builder(urls.iter().map(String::as_str))
            .retries(0)
            .build()?;
        client.get_async_connection().await
    };
    let Some(mut conn) = quota_testkit::require(
        &quota_testkit::current_test(),
        &format!("no Redis Cluster at {urls:?}"),
        conn.await,
    ) else {
        return;
    };
    let store = RedisStore::from_cluster_connection(conn.clone(), common::options()).unwrap();
    let brand = common::brand("from-cluster");
    decides_on_the_callers_connection(&store, &brand).await;

    let used: i64 = conn
        .hget(format!("q:{{{brand}}}:c:renders:{P}"), "u")
        .await
        .unwrap();
    assert_eq!(used, 2);
    store.reset_period(&brand, None, P).await.unwrap();
}

#[tokio::test]
async fn a_key_prefix_with_braces_is_refused_before_any_command() {
    // `ConnectionManager::new` connects, hence the standalone Redis; the refusal itself sends
    // nothing.
    let url = &common::urls(Backend::Standalone)[0];
    let manager = async { ConnectionManager::new(redis::Client::open(url.as_str())?).await };
    let Some(manager) = quota_testkit::require(
        &quota_testkit::current_test(),
        &format!("no standalone Redis at {url}"),
        manager.await,
    ) else {
        return;
    };
    let opts = RedisOptions::new().set_key_prefix("q{x}");
    match RedisStore::from_manager(manager, opts) {
        Err(StoreError::Backend { message, .. }) => {
            assert!(message.contains("braces"), "{message}");
        }
        other => panic!("expected a refused key prefix, got {other:?}"),
    }
}
