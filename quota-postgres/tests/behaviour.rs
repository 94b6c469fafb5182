//! Postgres-specific behaviour beyond the conformance suite: idempotency keys that expire or
//! carry no fingerprint, share link revocation, the top-up listing and the timeline's
//! precision.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

mod common;
use common::StoreOn;

use std::time::Duration;

use quota_core::report::{EventKind, TimelineEvent};
use quota_core::store::CounterKey;
use quota_core::threshold::Severity;
use quota_core::topup::UsageTopUp;
use quota_core::{AlertStore, TopUpStore, UsageStore};
use quota_postgres::PostgresOptions;
use quota_testkit::conformance::{PERIOD, now, period_end, request, unique_brand};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_idempotency_key_counts_again() {
    let Some(db) = common::test_db("ttl").await else {
        return;
    };
    let store = db
        .store(PostgresOptions::new().set_idempotency_ttl(Duration::from_secs(3600)))
        .await;
    let brand = unique_brand("ttl");
    let first = store
        .consume(&request(&brand, "m", 2, None, Some("k")))
        .await
        .unwrap();
    assert!(first.admitted && !first.replayed);
    let mut later = request(&brand, "m", 2, None, Some("k"));
    later.at_us = (now() + chrono::Duration::minutes(59)).timestamp_micros();
    assert!(store.consume(&later).await.unwrap().replayed);
    later.at_us = (now() + chrono::Duration::minutes(61)).timestamp_micros();
    let again = store.consume(&later).await.unwrap();
    assert!(
        again.admitted && !again.replayed,
        "the key expired after the TTL"
    );
    assert_eq!(again.used, 4);
    assert_eq!(
        store
            .purge_expired(now() + chrono::Duration::days(1))
            .await
            .unwrap(),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_stored_without_a_fingerprint_replays_for_any_request() {
    let Some(db) = common::test_db("nofp").await else {
        return;
    };
    let store = db.store(PostgresOptions::new()).await;
    let brand = unique_brand("nofp");
    let first = store
        .consume(&request(&brand, "m", 3, None, Some("k")))
        .await
        .unwrap();
    sqlx::query("UPDATE usage_idempotency_keys SET fingerprint = NULL WHERE brand = $1")
        .bind(&brand)
        .execute(store.pool())
        .await
        .unwrap();
    let other = store
        .consume(&request(&brand, "m", 5, None, Some("k")))
        .await
        .unwrap();
    assert_eq!(other, first.as_replay());
    assert_eq!(
        store
            .usage(CounterKey::new(&brand, "m", PERIOD))
            .await
            .unwrap()
            .used,
        3
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_share_link_is_revoked_once() {
    let Some(db) = common::test_db("share").await else {
        return;
    };
    let store = db.store(PostgresOptions::new()).await;
    let brand = unique_brand("share");
    assert!(!store.is_share_link_revoked("tok-1").await.unwrap());
    assert!(
        store
            .revoke_share_link("tok-1", &brand, now(), Some(period_end()))
            .await
            .unwrap()
    );
    assert!(
        !store
            .revoke_share_link("tok-1", &brand, now(), None)
            .await
            .unwrap()
    );
    assert!(store.is_share_link_revoked("tok-1").await.unwrap());
    assert_eq!(store.purge_revocations(now()).await.unwrap(), 0);
    assert_eq!(
        store
            .purge_revocations(period_end() + chrono::Duration::days(1))
            .await
            .unwrap(),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recent_topups_are_the_newest_ones_up_to_the_limit() {
    let Some(db) = common::test_db("recent").await else {
        return;
    };
    let store = db.store(PostgresOptions::new()).await;
    let brand = unique_brand("recent");
    let ids: Vec<String> = (0..3).map(|i| format!("{brand}-{i}")).collect();
    for id in &ids {
        store
            .insert_topup(&UsageTopUp::pending(
                id,
                &brand,
                "m",
                1,
                PERIOD,
                now(),
                period_end(),
            ))
            .await
            .unwrap();
    }
    let newest_first: Vec<&str> = ids.iter().rev().map(String::as_str).collect();
    // Through the trait object too: the store's own method, not the trait's default.
    let dyn_store: std::sync::Arc<dyn quota_core::Store> = std::sync::Arc::new(store.clone());
    for (limit, want) in [
        (0, &newest_first[..0]),
        (1, &newest_first[..1]),
        (2, &newest_first[..2]),
        (3, &newest_first[..]),
        (4, &newest_first[..]),
        (usize::MAX, &newest_first[..]),
    ] {
        for got in [
            store.recent_topups(&brand, limit).await.unwrap(),
            dyn_store.recent_topups(&brand, limit).await.unwrap(),
        ] {
            let got: Vec<&str> = got.iter().map(|t| t.id.as_str()).collect();
            assert_eq!(got, want, "limit {limit}");
        }
    }
    assert!(
        store
            .recent_topups(&unique_brand("recent-none"), 5)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timeline_events_read_back_to_the_microsecond_with_their_sequence() {
    let Some(db) = common::test_db("tlus").await else {
        return;
    };
    let store = db.store(PostgresOptions::new()).await;
    let brand = unique_brand("tlus");
    let at = now() + chrono::Duration::nanoseconds(1_234_567);
    let event = TimelineEvent::new(
        &brand,
        at,
        PERIOD,
        None,
        Severity::Info,
        EventKind::PlanChanged {
            from: "free".into(),
            to: "pro".into(),
        },
    );
    let seq = store.append_event(&event).await.unwrap();
    let mut want = event.with_seq(seq);
    want.at = now() + chrono::Duration::microseconds(1_234);
    assert_eq!(store.events(&brand, 1).await.unwrap(), [want]);
    assert_eq!(store.events(&brand, 0).await.unwrap(), []);
}
