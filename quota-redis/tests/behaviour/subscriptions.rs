//! Subscriptions, and brand ids that would break the hash tag.

use crate::*;

on_both_backends!(
    subscriptions_are_listed_by_brand,
    brands_that_break_the_hash_tag_are_refused,
);

async fn subscriptions_are_listed_by_brand(s: RedisStore, _: Backend) {
    let a = common::brand("sub-a");
    let z = common::brand("sub-z");
    assert!(s.subscription(&a).await.unwrap().is_none());
    s.put_subscription(&Subscription::new(&z, "pro", t0()))
        .await
        .unwrap();
    s.put_subscription(&Subscription::new(&a, "free", t0()))
        .await
        .unwrap();
    s.put_subscription(&Subscription::new(&a, "starter", t0()))
        .await
        .unwrap();
    assert_eq!(
        s.subscription(&a).await.unwrap(),
        Some(Subscription::new(&a, "starter", t0()))
    );
    let all = s.subscriptions().await.unwrap();
    let mine: Vec<_> = all
        .iter()
        .filter(|x| x.brand == a || x.brand == z)
        .collect();
    assert_eq!(
        mine,
        [
            &Subscription::new(&a, "starter", t0()),
            &Subscription::new(&z, "pro", t0())
        ],
        "sorted by brand"
    );
    assert!(all.windows(2).all(|w| w[0].brand <= w[1].brand));
}

async fn brands_that_break_the_hash_tag_are_refused(s: RedisStore, _: Backend) {
    for bad in ["", "a}b", "x{y"] {
        let e = s.consume(&req(bad, "m", 1, None, None)).await.unwrap_err();
        assert!(matches!(e, StoreError::Backend { .. }), "{e}");
        let e = s.append_event(&event(bad, 0)).await.unwrap_err();
        assert!(matches!(e, StoreError::Backend { .. }), "{e}");
        let e = s
            .reset_counter(&CounterReset::new(CounterKey::new(bad, "m", P), 0, 0, t0()))
            .await
            .unwrap_err();
        assert!(matches!(e, StoreError::Backend { .. }), "{e}");
    }
    s.ping().await.unwrap();
}
