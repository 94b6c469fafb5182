//! Exact under concurrency: racing consumers admit exactly the allowance and alert once.

use quota_core::topup::TopUpStatus;

use crate::common::{B, fixture, kinds};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_consumers_admit_exactly_the_limit_and_alert_once() {
    let f = fixture("starter").await; // renders 100
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let g = f.guard.clone();
        tasks.push(tokio::spawn(async move {
            let mut n = 0;
            for _ in 0..50 {
                if g.consume(B, "renders_2d", 1, None)
                    .await
                    .unwrap()
                    .is_allowed()
                {
                    n += 1;
                }
            }
            n
        }));
    }
    let mut admitted = 0;
    for t in tasks {
        admitted += t.await.unwrap();
    }
    assert_eq!(admitted, 100);
    let mut k = kinds(&f.alerts);
    k.sort();
    assert_eq!(
        k,
        [
            "blocked",
            "crossed:100",
            "crossed:50",
            "crossed:75",
            "crossed:90"
        ]
    );
}

/// Keyed and unkeyed consumes (the keyed ones take the store's brand path, the others its
/// per-counter fast path) race with a top-up completing: the counter stays exact.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn keyed_and_unkeyed_consumes_racing_a_top_up_stay_exact() {
    // Free: 100 included + at most 200 billable (cap 2000 / 10) = a hard 300, then +50 paid.
    let f = fixture("free").await;
    let topup = f.guard.start_topup(B, "ai_generations", 50).await.unwrap();
    let mut tasks = Vec::new();
    for t in 0..8 {
        let g = f.guard.clone();
        tasks.push(tokio::spawn(async move {
            let mut n = 0u64;
            for i in 0..100 {
                let key = format!("task-{t}-{i}");
                let keyed = i % 2 == 0;
                let d = g
                    .consume(B, "ai_generations", 1, keyed.then_some(key.as_str()))
                    .await
                    .unwrap();
                if d.is_allowed() {
                    n += 1;
                    if keyed {
                        // A replay counts nothing and says so.
                        let again = g.consume(B, "ai_generations", 1, Some(&key)).await.unwrap();
                        assert!(again.replayed);
                        assert_eq!(again.used, d.used, "the first answer, replayed");
                    }
                }
            }
            n
        }));
    }
    let g = f.guard.clone();
    let id = topup.id.clone();
    let paying = tokio::spawn(async move { g.complete_topup(&id).await.unwrap() });
    let mut admitted = 0;
    for t in tasks {
        admitted += t.await.unwrap();
    }
    assert_eq!(paying.await.unwrap().status, TopUpStatus::Completed);
    // Whatever the interleaving, the rest of the allowance is still there, unit by unit.
    while f
        .guard
        .consume(B, "ai_generations", 1, None)
        .await
        .unwrap()
        .is_allowed()
    {
        admitted += 1;
    }
    assert_eq!(admitted, 350);
    let snap = f.guard.snapshot(B).await.unwrap();
    let m = snap
        .metrics
        .iter()
        .find(|m| m.metric == "ai_generations")
        .unwrap();
    assert_eq!((m.used, m.topup_units), (350, 50));
}
