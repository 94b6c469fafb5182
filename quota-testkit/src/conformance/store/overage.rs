//! Overage units: counted when admitted, kept by later top-ups, lowered by releases.

use std::sync::Arc;

use quota_core::Store;
use quota_core::store::{CounterKey, Usage};
use quota_core::topup::TopUpStatus;

use super::topup;
use crate::conformance::{PERIOD, now, request, unique_brand};

/// Units admitted past what the free units, the top-ups completed at that moment and the
/// overage already billed pay for are overage units: counted as they are admitted, kept
/// when a later top-up raises the allowance (whose credits then pay for later units only),
/// lowered by releases and cleared by resets.
pub async fn overage_units_are_counted_when_admitted(store: Arc<dyn Store>) {
    let brand = unique_brand("over");
    let key = CounterKey::new(&brand, "m", PERIOD);
    let consume = |quantity: u64| {
        let mut r = request(&brand, "m", quantity, None, None);
        r.free_units = Some(10);
        r
    };
    let out = store.consume(&consume(8)).await.unwrap();
    assert_eq!((out.used, out.overage_units, out.charged_units), (8, 0, 0));
    let out = store.consume(&consume(5)).await.unwrap();
    assert_eq!((out.used, out.overage_units, out.charged_units), (13, 3, 3));
    let t = format!("{brand}-t");
    store.insert_topup(&topup(&t, &brand, 10)).await.unwrap();
    store
        .set_topup_status(&t, TopUpStatus::Completed, now())
        .await
        .unwrap();
    assert_eq!(
        store.usage(key).await.unwrap(),
        Usage::new(13, 10, 3),
        "a top-up covers future usage; the overage already billed stays"
    );
    // 10 free + 10 credits + 3 billed: units up to 23 are paid for.
    let out = store.consume(&consume(4)).await.unwrap();
    assert_eq!((out.used, out.overage_units, out.charged_units), (17, 3, 0));
    let out = store.consume(&consume(5)).await.unwrap();
    assert_eq!((out.used, out.overage_units, out.charged_units), (22, 3, 0));
    let out = store.consume(&consume(3)).await.unwrap();
    assert_eq!((out.used, out.overage_units, out.charged_units), (25, 5, 2));
    let denied = store
        .consume(&{
            let mut r = consume(5);
            r.ceiling = Some(15);
            r
        })
        .await
        .unwrap();
    assert!(!denied.admitted);
    assert_eq!((denied.overage_units, denied.charged_units), (5, 0));
    assert_eq!(
        store.release(key, 3, 24).await.unwrap(),
        Usage::new(22, 10, 2)
    );
    assert_eq!(
        store.release(key, 100, 24).await.unwrap(),
        Usage::new(0, 10, 0)
    );
    store.consume(&consume(30)).await.unwrap();
    assert_eq!(store.usage(key).await.unwrap(), Usage::new(30, 10, 10));
    store.reset_period(&brand, Some("m"), PERIOD).await.unwrap();
    assert_eq!(store.usage(key).await.unwrap(), Usage::new(0, 10, 0));
}
