//! Idempotency keys: replays count once, keys are bound to their request, denials do not
//! burn them.

use std::sync::Arc;

use quota_core::Store;
use quota_core::store::fingerprint;

use super::used;
use crate::conformance::{PERIOD, request, unique_brand};

/// A replayed idempotency key returns the first outcome and counts once, per brand.
pub async fn idempotent_replay_counts_once(store: Arc<dyn Store>) {
    let brand = unique_brand("idem");
    let other = unique_brand("idem-other");
    let first = store
        .consume(&request(&brand, "m", 3, Some(100), Some("k1")))
        .await
        .unwrap();
    assert!(first.admitted && !first.replayed);
    store
        .consume(&request(&brand, "m", 1, Some(100), None))
        .await
        .unwrap();
    let again = store
        .consume(&request(&brand, "m", 3, Some(100), Some("k1")))
        .await
        .unwrap();
    assert!(again.admitted && again.replayed);
    assert_eq!(again.used, 3, "a replay returns the first outcome");
    assert_eq!(used(&store, &brand, "m", PERIOD).await, 4);
    let elsewhere = store
        .consume(&request(&other, "m", 3, Some(100), Some("k1")))
        .await
        .unwrap();
    assert!(
        elsewhere.admitted && !elsewhere.replayed,
        "keys are scoped per brand"
    );
}

/// A key is bound to the fingerprint of its first request: the same key with another
/// request (metric, quantity or scope) is refused as reused and changes nothing; the same
/// request replays the first outcome, overage numbers included.
pub async fn idempotency_keys_are_bound_to_their_request(store: Arc<dyn Store>) {
    let brand = unique_brand("fp");
    let mut first = request(&brand, "m", 6, None, Some("k"));
    first.free_units = Some(4);
    let out = store.consume(&first).await.unwrap();
    assert!(out.admitted && !out.replayed && !out.key_reused);
    assert_eq!((out.used, out.overage_units, out.charged_units), (6, 2, 2));
    let mut later = request(&brand, "m", 3, None, None);
    later.free_units = Some(4);
    store.consume(&later).await.unwrap();

    let mut other_quantity = request(&brand, "m", 7, None, Some("k"));
    other_quantity.free_units = Some(4);
    let mut other_scope = first;
    other_scope.fingerprint = fingerprint("m", 6, "POST /renders");
    for reused in [other_quantity, other_scope] {
        let out = store.consume(&reused).await.unwrap();
        assert!(out.key_reused, "{reused:?}");
        assert!(!out.admitted && !out.replayed);
    }
    let mut other_metric = request(&brand, "n", 6, None, Some("k"));
    other_metric.fingerprint = fingerprint("n", 6, "");
    assert!(store.consume(&other_metric).await.unwrap().key_reused);
    assert_eq!(used(&store, &brand, "m", PERIOD).await, 9);
    assert_eq!(used(&store, &brand, "n", PERIOD).await, 0);

    let replay = store.consume(&first).await.unwrap();
    assert_eq!(
        replay,
        out.as_replay(),
        "a replay is the first outcome, numbers as they were then"
    );
    assert_eq!(used(&store, &brand, "m", PERIOD).await, 9);
}

/// A denied consume does not remember its key: the same key may succeed later.
pub async fn denied_consume_does_not_burn_its_key(store: Arc<dyn Store>) {
    let brand = unique_brand("burn");
    let denied = store
        .consume(&request(&brand, "m", 5, Some(2), Some("k")))
        .await
        .unwrap();
    assert!(!denied.admitted);
    let ok = store
        .consume(&request(&brand, "m", 2, Some(2), Some("k")))
        .await
        .unwrap();
    assert!(ok.admitted && !ok.replayed);
    assert_eq!(ok.used, 2);
}

/// 16 concurrent consumes with one key: exactly one is counted.
pub async fn concurrent_replays_count_once(store: Arc<dyn Store>) {
    let brand = Arc::new(unique_brand("idem-conc"));
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let store = Arc::clone(&store);
        let brand = Arc::clone(&brand);
        tasks.push(tokio::spawn(async move {
            store
                .consume(&request(&brand, "m", 7, Some(1000), Some("same")))
                .await
                .unwrap()
        }));
    }
    let mut fresh = 0;
    for t in tasks {
        let out = t.await.unwrap();
        assert!(out.admitted);
        assert_eq!(out.used, 7);
        if !out.replayed {
            fresh += 1;
        }
    }
    assert_eq!(fresh, 1);
    assert_eq!(used(&store, &brand, "m", PERIOD).await, 7);
}
