//! Top-ups: records, the status machine, units added exactly once, listings.

use std::sync::Arc;

use quota_core::domain::MAX_UNITS;
use quota_core::store::CounterKey;
use quota_core::topup::TopUpStatus;
use quota_core::{Store, StoreError};

use super::topup;
use crate::conformance::{PERIOD, now, period_end, request, unique_brand};

/// Top-ups: insert, read, duplicate ids refused, completion raises the allowance exactly once
/// even with concurrent completions, expiry, invalid transitions, newest-first listing.
pub async fn topups(store: Arc<dyn Store>) {
    let brand = Arc::new(unique_brand("topup"));
    let id = format!("{brand}-t1");
    store.insert_topup(&topup(&id, &brand, 5)).await.unwrap();
    let dup = store
        .insert_topup(&topup(&id, &brand, 5))
        .await
        .unwrap_err();
    assert!(matches!(dup, StoreError::Conflict(_)), "{dup}");
    assert_eq!(
        store.topup(&id).await.unwrap().unwrap().status,
        TopUpStatus::Pending
    );
    assert!(store.topup("no-such-topup").await.unwrap().is_none());

    store
        .consume(&request(&brand, "m", 10, Some(10), None))
        .await
        .unwrap();
    assert!(
        !store
            .consume(&request(&brand, "m", 1, Some(10), None))
            .await
            .unwrap()
            .admitted
    );

    let mut tasks = Vec::new();
    for _ in 0..8 {
        let store = Arc::clone(&store);
        let id = id.clone();
        tasks.push(tokio::spawn(async move {
            store
                .set_topup_status(&id, TopUpStatus::Completed, now())
                .await
                .unwrap()
        }));
    }
    let mut changed = 0;
    for t in tasks {
        let tr = t.await.unwrap();
        assert_eq!(tr.topup.status, TopUpStatus::Completed);
        if tr.changed {
            changed += 1;
        }
    }
    assert_eq!(changed, 1, "exactly one completion changes the top-up");
    let usage = store
        .usage(CounterKey::new(&brand, "m", PERIOD))
        .await
        .unwrap();
    assert_eq!(usage.topup_units, 5, "units are added once");
    let out = store
        .consume(&request(&brand, "m", 5, Some(10), None))
        .await
        .unwrap();
    assert!(out.admitted);
    assert_eq!((out.used, out.topup_units), (15, 5));
    assert!(
        !store
            .consume(&request(&brand, "m", 1, Some(10), None))
            .await
            .unwrap()
            .admitted
    );

    let err = store
        .set_topup_status(&id, TopUpStatus::Failed, now())
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err}");
    let err = store
        .set_topup_status("no-such-topup", TopUpStatus::Completed, now())
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound(_)), "{err}");

    let late = format!("{brand}-t2");
    store.insert_topup(&topup(&late, &brand, 9)).await.unwrap();
    let tr = store
        .set_topup_status(&late, TopUpStatus::Completed, period_end())
        .await
        .unwrap();
    assert_eq!(tr.topup.status, TopUpStatus::Expired);
    assert_eq!(
        store
            .usage(CounterKey::new(&brand, "m", PERIOD))
            .await
            .unwrap()
            .topup_units,
        5,
        "an expired top-up adds nothing"
    );
    let failed = format!("{brand}-t3");
    store
        .insert_topup(&topup(&failed, &brand, 2))
        .await
        .unwrap();
    let tr = store
        .set_topup_status(&failed, TopUpStatus::Failed, now())
        .await
        .unwrap();
    assert!(tr.changed);
    assert_eq!(tr.topup.status, TopUpStatus::Failed);
    assert_eq!(tr.topup.settled_at, Some(now()));

    let cancelled = format!("{brand}-t4");
    store
        .insert_topup(&topup(&cancelled, &brand, 3))
        .await
        .unwrap();
    let tr = store
        .set_topup_status(&cancelled, TopUpStatus::Cancelled, now())
        .await
        .unwrap();
    assert_eq!(
        tr.topup.status,
        TopUpStatus::Cancelled,
        "cancelled is not failed"
    );
    assert_eq!(
        store.topup(&cancelled).await.unwrap().unwrap().status,
        TopUpStatus::Cancelled
    );
    let err = store
        .set_topup_status(&cancelled, TopUpStatus::Completed, now())
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err}");

    // Top-up units past the domain: refused, and the top-up stays pending.
    let huge = format!("{brand}-t5");
    store
        .insert_topup(&topup(&huge, &brand, MAX_UNITS))
        .await
        .unwrap();
    let err = store
        .set_topup_status(&huge, TopUpStatus::Completed, now())
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::OutOfRange(_)), "{err}");
    assert_eq!(
        store.topup(&huge).await.unwrap().unwrap().status,
        TopUpStatus::Pending
    );
    assert_eq!(
        store
            .usage(CounterKey::new(&brand, "m", PERIOD))
            .await
            .unwrap()
            .topup_units,
        5
    );

    let list = store.topups(&brand).await.unwrap();
    let ids: Vec<&str> = list.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            huge.as_str(),
            cancelled.as_str(),
            failed.as_str(),
            late.as_str(),
            id.as_str()
        ],
        "newest first"
    );
    let recent = store.recent_topups(&brand, 2).await.unwrap();
    let recent: Vec<&str> = recent.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(
        recent,
        [huge.as_str(), cancelled.as_str()],
        "the newest ones, bounded"
    );
    assert!(store.recent_topups(&brand, 0).await.unwrap().is_empty());
    assert!(
        store
            .topups(&unique_brand("none"))
            .await
            .unwrap()
            .is_empty()
    );
}
