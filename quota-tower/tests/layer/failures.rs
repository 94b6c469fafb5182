//! Store outages (fail closed, fail open, timeouts), their counters, and concurrency.

use super::*;
use quota_testkit::Ops;

#[tokio::test]
async fn fails_closed_with_503_when_the_store_is_down() {
    let (app, calls, _, store) = setup().await;
    // Warm the brand cache, then cut the store.
    assert_eq!(
        send(&app, request("POST", "/renders", Some(BRAND)))
            .await
            .status(),
        StatusCode::OK
    );
    store.fail(Ops::ALL);
    let res = send(&app, request("POST", "/renders", Some(BRAND))).await;
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    let p = problem(res).await;
    assert_eq!(p["type"], "urn:quota-guardian:problem:store-unavailable");
    assert_eq!(p["status"], 503);
    assert_eq!(calls.get(), 1);
}

#[tokio::test]
async fn fails_open_when_asked_and_lets_the_request_through() {
    let (guard, store) = guard().await;
    let calls = Calls::default();
    let app = app(&calls).layer(layer(guard).fail_open());
    store.fail(Ops::ALL);
    let res = send(&app, request("POST", "/renders", Some(BRAND))).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        res.headers().get("ratelimit").is_none(),
        "nothing known to tell"
    );
    assert_eq!(calls.get(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_store_slower_than_the_timeout_counts_as_down() {
    let (guard, store) = guard().await;
    let calls = Calls::default();
    let app = app(&calls).layer(layer(guard).store_timeout(Duration::from_millis(200)));
    store.hang(Ops::ALL);
    let started = tokio::time::Instant::now();
    let res = send(&app, request("POST", "/renders", Some(BRAND))).await;
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(started.elapsed(), Duration::from_millis(200));
    assert_eq!(calls.get(), 0);
}

#[test]
fn store_failures_and_decisions_are_counted_per_policy() {
    use metrics_util::debugging::{DebugValue, DebuggingRecorder};
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    metrics::with_local_recorder(&recorder, || {
        rt.block_on(async {
            let (guard, store) = guard().await;
            let calls = Calls::default();
            let closed = app(&calls).layer(layer(guard.clone()));
            let open = app(&calls).layer(layer(guard.clone()).fail_open());
            assert_eq!(
                send(&closed, request("POST", "/renders", Some(BRAND)))
                    .await
                    .status(),
                StatusCode::OK
            );
            store.fail(Ops::ALL);
            assert_eq!(
                send(&closed, request("POST", "/renders", Some(BRAND)))
                    .await
                    .status(),
                StatusCode::SERVICE_UNAVAILABLE
            );
            assert_eq!(
                send(&open, request("POST", "/renders", Some(BRAND)))
                    .await
                    .status(),
                StatusCode::OK
            );
            assert_eq!(
                send(&open, request("POST", "/renders", Some(BRAND)))
                    .await
                    .status(),
                StatusCode::OK
            );
        });
    });
    let mut counters: HashMap<(String, String), u64> = HashMap::new();
    for (key, _, _, value) in snapshotter.snapshot().into_vec() {
        let key = key.key();
        let label = key
            .labels()
            .map(|l| format!("{}={}", l.key(), l.value()))
            .collect::<Vec<_>>()
            .join(",");
        if let DebugValue::Counter(n) = value {
            counters.insert((key.name().to_owned(), label), n);
        }
    }
    let get = |name: &str, label: &str| counters.get(&(name.to_owned(), label.to_owned())).copied();
    assert_eq!(get("quota_store_errors_total", "policy=closed"), Some(1));
    assert_eq!(get("quota_store_errors_total", "policy=open"), Some(2));
    assert_eq!(
        get("quota_decisions_total", "outcome=allowed,source=layer"),
        Some(1)
    );
    assert_eq!(
        get("quota_decisions_total", "outcome=fail_closed,source=layer"),
        Some(1)
    );
    assert_eq!(
        get("quota_decisions_total", "outcome=fail_open,source=layer"),
        Some(2)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_requests_on_a_hard_limit_admit_exactly_the_limit() {
    let (app, calls, guard, _) = setup().await;
    let tasks: Vec<_> = (0..100)
        .map(|_| {
            let app = app.clone();
            tokio::spawn(async move {
                send(&app, request("POST", "/renders", Some(BRAND)))
                    .await
                    .status()
            })
        })
        .collect();
    let mut ok = 0;
    let mut denied = 0;
    for t in tasks {
        match t.await.unwrap() {
            StatusCode::OK => ok += 1,
            StatusCode::TOO_MANY_REQUESTS => denied += 1,
            other => panic!("unexpected status {other}"),
        }
    }
    assert_eq!(ok, 20);
    assert_eq!(denied, 80);
    assert_eq!(calls.get(), 20);
    assert_eq!(used(&guard, "renders_2d").await, 20);
}
