//! Subscriptions: put, read, replace, list.

use std::sync::Arc;

use quota_core::{Limit, Store, Subscription};

use crate::conformance::{now, unique_brand};

/// Subscriptions: put, read, replace, list sorted by brand.
pub async fn subscriptions(store: Arc<dyn Store>) {
    let a = unique_brand("sub-a");
    let b = unique_brand("sub-b");
    let sa = Subscription::new(&a, "pro", now());
    store.put_subscription(&sa).await.unwrap();
    assert_eq!(store.subscription(&a).await.unwrap(), Some(sa));
    let sa2 = Subscription::new(&a, "scale", now()).with_override("m", Limit::block(7));
    store.put_subscription(&sa2).await.unwrap();
    store
        .put_subscription(&Subscription::new(&b, "free", now()))
        .await
        .unwrap();
    assert_eq!(store.subscription(&a).await.unwrap(), Some(sa2));
    assert!(
        store
            .subscription(&unique_brand("sub-none"))
            .await
            .unwrap()
            .is_none()
    );
    let all = store.subscriptions().await.unwrap();
    let pos_a = all.iter().position(|s| s.brand == a).unwrap();
    let pos_b = all.iter().position(|s| s.brand == b).unwrap();
    assert!(pos_a < pos_b, "sorted by brand");
    assert!(all.windows(2).all(|w| w[0].brand <= w[1].brand));
}
