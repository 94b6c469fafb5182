//! Gauges: checked increases, saturating decreases, exact under concurrency.

use std::sync::Arc;

use quota_core::Store;

use crate::conformance::unique_brand;

/// Gauges: checked increases, saturating decreases, set returns the previous level, exact
/// under concurrency.
pub async fn gauges(store: Arc<dyn Store>) {
    let brand = Arc::new(unique_brand("gauge"));
    assert_eq!(store.gauge(&brand, "seats").await.unwrap(), 0);
    let out = store
        .adjust_gauge(&brand, "seats", 3, Some(5))
        .await
        .unwrap();
    assert!(out.admitted);
    assert_eq!(out.level, 3);
    let out = store
        .adjust_gauge(&brand, "seats", 3, Some(5))
        .await
        .unwrap();
    assert!(!out.admitted);
    assert_eq!(out.level, 3);
    let out = store
        .adjust_gauge(&brand, "seats", -10, Some(5))
        .await
        .unwrap();
    assert!(out.admitted);
    assert_eq!(out.level, 0);
    assert_eq!(store.set_gauge(&brand, "seats", 7).await.unwrap(), 0);
    assert_eq!(store.gauge(&brand, "seats").await.unwrap(), 7);
    let out = store
        .adjust_gauge(&brand, "seats", i64::MIN, None)
        .await
        .unwrap();
    assert_eq!(out.level, 0);
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let store = Arc::clone(&store);
        let brand = Arc::clone(&brand);
        tasks.push(tokio::spawn(async move {
            let mut n = 0;
            for _ in 0..100 {
                if store
                    .adjust_gauge(&brand, "seats", 1, Some(250))
                    .await
                    .unwrap()
                    .admitted
                {
                    n += 1;
                }
            }
            n
        }));
    }
    let mut total = 0;
    for t in tasks {
        total += t.await.unwrap();
    }
    assert_eq!(total, 250);
    assert_eq!(store.gauge(&brand, "seats").await.unwrap(), 250);
}
