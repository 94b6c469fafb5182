//! The layer on an axum `Router`, driven in-process with `oneshot` (no sockets).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

mod common;

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use http::{HeaderName, Method, StatusCode};
use quota_core::{MemoryStore, QuotaGuard, Store};
use quota_testkit::Ops;
use quota_tower::{
    Brand, Cost, ExhaustedStatus, QuotaLayer, QuotaService, RequestHead, RouteTable,
};

use common::*;

fn brand_header() -> HeaderName {
    HeaderName::from_static("x-brand-id")
}

fn routes() -> RouteTable {
    RouteTable::new()
        .route(Some(Method::POST), "/renders", Cost::one("renders_2d"))
        .route(Some(Method::POST), "/designs", Cost::one("ai_generations"))
        .route(Some(Method::GET), "/quota", Cost::new("renders_2d", 0))
        .route(Some(Method::POST), "/seats", Cost::one("team_members"))
        .route(Some(Method::POST), "/fail", Cost::new("renders_2d", 2))
        .route(
            Some(Method::POST),
            "/bulk",
            Cost::new("renders_2d", 1_000_000_001),
        )
}

fn layer<St: Store + ?Sized + 'static>(guard: QuotaGuard<St>) -> QuotaLayer<St> {
    QuotaLayer::new(guard)
        .brand_from_header(brand_header())
        .routes(routes())
        .upgrade_url("https://billing.example/upgrade")
        .topup_url("https://billing.example/topup")
}

async fn setup() -> (Router, Calls, QuotaGuard<TestStore>, Arc<TestStore>) {
    let (guard, store) = guard().await;
    let calls = Calls::default();
    let app = app(&calls).layer(layer(guard.clone()));
    (app, calls, guard, store)
}

#[tokio::test]
async fn admits_within_the_quota_and_tells_the_rate_limit_state() {
    let (app, calls, guard, _) = setup().await;
    let res = send(&app, request("POST", "/renders", Some(BRAND))).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        sf_list(&res.headers()["ratelimit-policy"]),
        vec![(
            "quota".to_owned(),
            params(&[("q", 20), ("w", NOVEMBER_SECS)])
        )]
    );
    assert_eq!(
        sf_list(&res.headers()["ratelimit"]),
        vec![(
            "quota".to_owned(),
            params(&[("r", 19), ("t", TO_RESET_SECS)])
        )]
    );
    assert!(res.headers().get("retry-after").is_none());
    assert!(res.headers().get("quota-overage-units").is_none());
    assert_eq!(body_text(res).await, "rendered");
    assert_eq!(calls.get(), 1);
    assert_eq!(used(&guard, "renders_2d").await, 1);
}

#[tokio::test]
async fn admits_overage_on_a_soft_limit_and_annotates_the_answer() {
    let (app, calls, guard, _) = setup().await;
    guard
        .consume(BRAND, "ai_generations", 100, None)
        .await
        .unwrap();
    let res = send(&app, request("POST", "/designs", Some(BRAND))).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["quota-overage-units"], "1");
    assert_eq!(res.headers()["quota-overage-charge"], "0.10 EUR");
    assert_eq!(
        sf_list(&res.headers()["ratelimit"]),
        vec![(
            "quota".to_owned(),
            params(&[("r", 0), ("t", TO_RESET_SECS)])
        )]
    );
    assert_eq!(calls.get(), 1);
    assert_eq!(used(&guard, "ai_generations").await, 101);
}

#[tokio::test]
async fn denies_the_unit_past_a_hard_limit_without_calling_the_service() {
    let (app, calls, guard, _) = setup().await;
    guard.consume(BRAND, "renders_2d", 20, None).await.unwrap();
    let res = send(&app, request("POST", "/renders", Some(BRAND))).await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        res.headers()["retry-after"],
        TO_RESET_SECS.to_string().as_str()
    );
    assert_eq!(
        sf_list(&res.headers()["ratelimit-policy"]),
        vec![(
            "quota".to_owned(),
            params(&[("q", 20), ("w", NOVEMBER_SECS)])
        )]
    );
    assert_eq!(
        sf_list(&res.headers()["ratelimit"]),
        vec![(
            "quota".to_owned(),
            params(&[("r", 0), ("t", TO_RESET_SECS)])
        )]
    );
    let p = problem(res).await;
    assert_eq!(p["type"], "urn:quota-guardian:problem:quota-exceeded");
    assert_eq!(p["title"], "Quota exceeded");
    assert_eq!(p["status"], 429);
    assert!(
        p["detail"]
            .as_str()
            .unwrap()
            .contains("20 of 20 renders_2d")
    );
    assert_eq!(p["brandId"], BRAND);
    assert_eq!(p["metric"], "renders_2d");
    assert_eq!(p["used"], 20);
    assert_eq!(p["limit"], 20);
    assert_eq!(p["resetsAt"], "2026-12-01T00:00:00Z");
    assert_eq!(p["upgradeUrl"], "https://billing.example/upgrade");
    assert_eq!(p["topupUrl"], "https://billing.example/topup");
    assert_eq!(p["suggestedPlan"], "starter");
    assert_eq!(calls.get(), 0, "a denied request never reaches the handler");
    assert_eq!(used(&guard, "renders_2d").await, 20);
}

#[tokio::test]
async fn answers_402_when_configured_for_payment_required() {
    let (guard, _) = guard().await;
    let calls = Calls::default();
    let app =
        app(&calls).layer(layer(guard.clone()).exhausted_status(ExhaustedStatus::PaymentRequired));
    guard.consume(BRAND, "renders_2d", 20, None).await.unwrap();
    let res = send(&app, request("POST", "/renders", Some(BRAND))).await;
    assert_eq!(res.status(), StatusCode::PAYMENT_REQUIRED);
    assert_eq!(problem(res).await["status"], 402);
}

#[tokio::test]
async fn a_gauge_denial_has_no_reset_so_no_retry_after_nor_window() {
    let (app, calls, _, _) = setup().await;
    let res = send(&app, request("POST", "/seats", Some(BRAND))).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    assert_eq!(
        sf_list(&res.headers()["ratelimit-policy"]),
        vec![("quota".to_owned(), params(&[("q", 1)]))]
    );
    let res = send(&app, request("POST", "/seats", Some(BRAND))).await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(res.headers().get("retry-after").is_none());
    assert_eq!(
        sf_list(&res.headers()["ratelimit"]),
        vec![("quota".to_owned(), params(&[("r", 0)]))]
    );
    let p = problem(res).await;
    assert!(p.get("resetsAt").is_none());
    assert_eq!(calls.get(), 1);
}

#[tokio::test]
async fn a_request_without_brand_gets_401_never_500() {
    let (app, calls, _, _) = setup().await;
    let res = send(&app, request("POST", "/renders", None)).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(res.headers()["www-authenticate"], "Bearer realm=\"quota\"");
    let p = problem(res).await;
    assert_eq!(p["type"], "urn:quota-guardian:problem:unresolved-brand");
    assert_eq!(p["status"], 401);
    // A brand id the store could never hold is not resolvable either.
    let res = send(&app, request("POST", "/renders", Some("a{b}"))).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(calls.get(), 0);
}

#[tokio::test]
async fn a_brand_without_subscription_gets_403() {
    let (app, calls, _, _) = setup().await;
    let res = send(&app, request("POST", "/renders", Some("nobody"))).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let p = problem(res).await;
    assert_eq!(p["type"], "urn:quota-guardian:problem:unknown-brand");
    assert_eq!(p["brandId"], "nobody");
    assert_eq!(calls.get(), 0);
}

#[tokio::test]
async fn resolves_the_brand_from_an_api_key_lookup() {
    let (guard, _) = guard().await;
    let calls = Calls::default();
    let keys: HashMap<String, Brand> =
        HashMap::from([("pk_live_acme".to_owned(), Brand::from_static(BRAND))]);
    let app = app(&calls).layer(
        QuotaLayer::new(guard.clone())
            .brand_from_api_key(keys)
            .routes(routes()),
    );
    let with_key = |key: &str| {
        let mut req = request("POST", "/renders", None);
        req.headers_mut().insert("x-api-key", key.parse().unwrap());
        req
    };
    assert_eq!(
        send(&app, with_key("pk_live_acme")).await.status(),
        StatusCode::OK
    );
    let res = send(&app, with_key("pk_live_stolen")).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(problem(res).await["status"], 401);
    assert_eq!(
        send(&app, request("POST", "/renders", None)).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(calls.get(), 1);
    assert_eq!(used(&guard, "renders_2d").await, 1);
}

#[tokio::test]
async fn resolves_the_brand_from_an_extension_set_by_an_auth_layer() {
    let (guard, _) = guard().await;
    let calls = Calls::default();
    // The auth layer runs first (outermost) and inserts the brand.
    let app = app(&calls)
        .layer(QuotaLayer::new(guard.clone()).routes(routes()))
        .layer(tower::util::MapRequestLayer::new(
            |mut req: http::Request<axum::body::Body>| {
                if req.headers().contains_key("x-session") {
                    req.extensions_mut().insert(Brand::from_static(BRAND));
                }
                req
            },
        ));
    let mut req = request("POST", "/renders", None);
    req.headers_mut().insert("x-session", "ok".parse().unwrap());
    assert_eq!(send(&app, req).await.status(), StatusCode::OK);
    assert_eq!(
        send(&app, request("POST", "/renders", None)).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(calls.get(), 1);
}

#[tokio::test]
async fn a_closure_can_meter_and_resolve() {
    let (guard, _) = guard().await;
    let calls = Calls::default();
    let app = app(&calls).layer(
        QuotaLayer::new(guard.clone())
            .brand_resolver(|head: RequestHead<'_>| {
                head.uri()
                    .query()
                    .and_then(|q| q.strip_prefix("brand="))
                    .map(Brand::new)
            })
            .meter(|head: RequestHead<'_>| {
                (head.uri().path() == "/renders").then(|| Cost::new("renders_2d", 3))
            }),
    );
    let res = send(&app, request("POST", "/renders?brand=acme", None)).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(used(&guard, "renders_2d").await, 3);
}

#[tokio::test]
async fn unmetered_routes_pass_through_untouched() {
    let (app, calls, _, store) = setup().await;
    store.fail(Ops::ALL);
    let res = send(&app, request("GET", "/health", None)).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers().get("ratelimit").is_none());
    assert_eq!(calls.get(), 1);
}

#[tokio::test]
async fn cost_zero_checks_without_consuming() {
    let (app, calls, guard, _) = setup().await;
    guard.consume(BRAND, "renders_2d", 5, None).await.unwrap();
    let res = send(&app, request("GET", "/quota", Some(BRAND))).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        sf_list(&res.headers()["ratelimit"]),
        vec![(
            "quota".to_owned(),
            params(&[("r", 15), ("t", TO_RESET_SECS)])
        )]
    );
    assert_eq!(used(&guard, "renders_2d").await, 5);
    // At the limit a check-only route still answers (it asks for nothing more).
    guard.consume(BRAND, "renders_2d", 15, None).await.unwrap();
    let res = send(&app, request("GET", "/quota", Some(BRAND))).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        sf_list(&res.headers()["ratelimit"])[0].1["r"],
        0,
        "nothing left"
    );
    assert_eq!(used(&guard, "renders_2d").await, 20);
    assert_eq!(calls.get(), 2);
}

#[tokio::test]
async fn an_idempotency_key_counts_once_and_a_bad_one_is_a_400() {
    let (app, calls, guard, _) = setup().await;
    let with_key = |key: &str| {
        let mut req = request("POST", "/renders", Some(BRAND));
        req.headers_mut()
            .insert("idempotency-key", key.parse().unwrap());
        req
    };
    assert_eq!(send(&app, with_key("job-1")).await.status(), StatusCode::OK);
    assert_eq!(send(&app, with_key("job-1")).await.status(), StatusCode::OK);
    assert_eq!(
        used(&guard, "renders_2d").await,
        1,
        "the replay counts nothing"
    );
    let res = send(&app, with_key(&"k".repeat(300))).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let p = problem(res).await;
    assert_eq!(p["type"], "urn:quota-guardian:problem:invalid-request");
    assert!(p["detail"].as_str().unwrap().contains("idempotency key"));
    assert_eq!(calls.get(), 2);
}

#[tokio::test]
async fn a_key_sent_to_another_route_is_a_409_and_counts_nothing() {
    let (app, calls, guard, _) = setup().await;
    let keyed = |method: &str, path: &str| {
        let mut req = request(method, path, Some(BRAND));
        req.headers_mut()
            .insert("idempotency-key", "job-7".parse().unwrap());
        req
    };
    assert_eq!(
        send(&app, keyed("POST", "/renders")).await.status(),
        StatusCode::OK
    );
    // `/fail` also consumes renders_2d, with another cost: not the same request.
    let res = send(&app, keyed("POST", "/fail")).await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    let p = problem(res).await;
    assert_eq!(
        p["type"],
        "urn:quota-guardian:problem:idempotency-key-reused"
    );
    assert!(p["detail"].as_str().unwrap().contains("job-7"), "{p}");
    assert_eq!(used(&guard, "renders_2d").await, 1);
    assert_eq!(calls.get(), 1, "the service never ran for the reused key");
}

#[tokio::test]
async fn a_cost_past_the_per_request_ceiling_is_a_422_naming_the_limit() {
    let (app, calls, guard, _) = setup().await;
    let res = send(&app, request("POST", "/bulk", Some(BRAND))).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let p = problem(res).await;
    assert_eq!(p["type"], "urn:quota-guardian:problem:quantity-too-large");
    assert!(
        p["detail"]
            .as_str()
            .unwrap()
            .contains("1000000000 per request"),
        "{p}"
    );
    assert_eq!(used(&guard, "renders_2d").await, 0);
    assert_eq!(calls.get(), 0);
}

#[tokio::test]
async fn a_route_on_an_undeclared_metric_is_a_500_configuration_problem() {
    let (guard, _) = guard().await;
    let calls = Calls::default();
    let app = app(&calls).layer(
        QuotaLayer::new(guard)
            .brand_from_header(brand_header())
            .metric("video_minutes"),
    );
    let res = send(&app, request("POST", "/renders", Some(BRAND))).await;
    assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let p = problem(res).await;
    assert_eq!(p["type"], "urn:quota-guardian:problem:configuration");
    assert!(p["detail"].as_str().unwrap().contains("video_minutes"));
    assert_eq!(calls.get(), 0);
}

#[tokio::test]
async fn a_layer_without_metric_is_a_500_configuration_problem() {
    let (guard, _) = guard().await;
    let calls = Calls::default();
    let app = app(&calls).layer(QuotaLayer::new(guard).brand_from_header(brand_header()));
    let res = send(&app, request("POST", "/renders", Some(BRAND))).await;
    assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(
        problem(res).await["detail"]
            .as_str()
            .unwrap()
            .contains(".metric(")
    );
    assert_eq!(calls.get(), 0);
}

#[tokio::test]
async fn refunds_the_units_when_the_service_answers_5xx() {
    let (guard, _) = guard().await;
    let calls = Calls::default();
    let app = app(&calls).layer(layer(guard.clone()).refund_on_server_errors());
    let res = send(&app, request("POST", "/fail", Some(BRAND))).await;
    assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(body_text(res).await, "boom");
    assert_eq!(used(&guard, "renders_2d").await, 0, "the 2 units came back");
    assert_eq!(
        send(&app, request("POST", "/renders", Some(BRAND)))
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        used(&guard, "renders_2d").await,
        1,
        "a success keeps its unit"
    );
    assert_eq!(calls.get(), 2);
}

#[tokio::test]
async fn keeps_the_units_of_a_5xx_without_refund_policy() {
    let (app, _, guard, _) = setup().await;
    let res = send(&app, request("POST", "/fail", Some(BRAND))).await;
    assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(used(&guard, "renders_2d").await, 2);
}

#[tokio::test]
async fn refunds_only_the_configured_statuses() {
    let (guard, _) = guard().await;
    let calls = Calls::default();
    let app =
        app(&calls).layer(layer(guard.clone()).refund_on(|s| s == StatusCode::SERVICE_UNAVAILABLE));
    send(&app, request("POST", "/fail", Some(BRAND))).await;
    assert_eq!(
        used(&guard, "renders_2d").await,
        2,
        "500 is not in the list"
    );
}

#[tokio::test]
async fn the_burst_limit_answers_429_with_its_own_policy_item() {
    let (guard, _) = guard().await;
    let calls = Calls::default();
    let app = app(&calls)
        .layer(layer(guard.clone()).burst(NonZeroU32::new(2).unwrap(), Duration::from_secs(60)));
    let res = send(&app, request("POST", "/renders", Some(BRAND))).await;
    assert_eq!(res.status(), StatusCode::OK);
    let policy = sf_list(&res.headers()["ratelimit-policy"]);
    assert_eq!(
        policy,
        vec![
            (
                "quota".to_owned(),
                params(&[("q", 20), ("w", NOVEMBER_SECS)])
            ),
            ("burst".to_owned(), params(&[("q", 2), ("w", 60)])),
        ]
    );
    let state = sf_list(&res.headers()["ratelimit"]);
    assert_eq!(state[1].0, "burst");
    assert_eq!(state[1].1["r"], 1);
    assert_eq!(
        send(&app, request("POST", "/renders", Some(BRAND)))
            .await
            .status(),
        StatusCode::OK
    );

    let res = send(&app, request("POST", "/renders", Some(BRAND))).await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: i64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (1..=30).contains(&retry),
        "one cell refills in 30 s, got {retry}"
    );
    assert_eq!(
        sf_list(&res.headers()["ratelimit-policy"]),
        vec![("burst".to_owned(), params(&[("q", 2), ("w", 60)]))]
    );
    let state = sf_list(&res.headers()["ratelimit"]);
    assert_eq!(
        state,
        vec![("burst".to_owned(), params(&[("r", 0), ("t", retry)]))]
    );
    let p = problem(res).await;
    assert_eq!(p["type"], "urn:quota-guardian:problem:burst-limit");
    assert_eq!(p["status"], 429);

    assert_eq!(calls.get(), 2);
    assert_eq!(
        used(&guard, "renders_2d").await,
        2,
        "a burst refusal burns no quota"
    );
    // Another brand has its own bucket.
    guard
        .subscribe(quota_core::Subscription::new("globex", "free", now()))
        .await
        .unwrap();
    assert_eq!(
        send(&app, request("POST", "/renders", Some("globex")))
            .await
            .status(),
        StatusCode::OK
    );
}

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
    assert_eq!(get("quota_decisions_total", "outcome=allowed"), Some(1));
    assert_eq!(get("quota_decisions_total", "outcome=fail_closed"), Some(1));
    assert_eq!(get("quota_decisions_total", "outcome=fail_open"), Some(2));
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

#[tokio::test]
async fn works_over_a_dyn_store_and_with_ready_call() {
    use tower::{Service, ServiceExt};
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let guard: QuotaGuard = QuotaGuard::builder(quota_core::Catalog::demo()).build(store);
    guard
        .subscribe(quota_core::Subscription::new(
            BRAND,
            "free",
            chrono::Utc::now(),
        ))
        .await
        .unwrap();
    let calls = Calls::default();
    let mut svc = QuotaService::layer(guard.clone())
        .brand_from_header(brand_header())
        .routes(routes())
        .layer_on(app(&calls));
    let res = ServiceExt::<http::Request<axum::body::Body>>::ready(&mut svc)
        .await
        .unwrap()
        .call(request("POST", "/renders", Some(BRAND)))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(guard.check(BRAND, "renders_2d", 0).await.unwrap().used, 1);
    assert_eq!(calls.get(), 1);
}

trait LayerOn<Svc> {
    type Out;
    fn layer_on(&self, svc: Svc) -> Self::Out;
}

impl<Svc, L: tower::Layer<Svc>> LayerOn<Svc> for L {
    type Out = L::Service;
    fn layer_on(&self, svc: Svc) -> L::Service {
        self.layer(svc)
    }
}

struct BrokenDirectory;

#[async_trait::async_trait]
impl quota_tower::ApiKeyLookup for BrokenDirectory {
    async fn brand_for_key(&self, _key: &str) -> Result<Option<Brand>, quota_tower::BoxError> {
        Err("directory unreachable".into())
    }
}

#[tokio::test]
async fn a_failing_key_lookup_is_a_503_not_a_401() {
    let (guard, _) = guard().await;
    let calls = Calls::default();
    let app = app(&calls).layer(
        QuotaLayer::new(guard)
            .brand_from_api_key(BrokenDirectory)
            .routes(routes()),
    );
    let mut req = request("POST", "/renders", None);
    req.headers_mut()
        .insert("x-api-key", "pk_live_acme".parse().unwrap());
    let res = send(&app, req).await;
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        problem(res).await["type"],
        "urn:quota-guardian:problem:store-unavailable"
    );
    assert_eq!(calls.get(), 0);
}

#[tokio::test]
async fn reads_a_bearer_api_key_from_authorization() {
    let (guard, _) = guard().await;
    let calls = Calls::default();
    let keys: HashMap<String, Brand> =
        HashMap::from([("pk_live_acme".to_owned(), Brand::from_static(BRAND))]);
    let app = app(&calls).layer(
        QuotaLayer::new(guard)
            .brand_resolver(quota_tower::ApiKeyBrand::new(keys).header(http::header::AUTHORIZATION))
            .routes(routes()),
    );
    let with_auth = |value: &str| {
        let mut req = request("POST", "/renders", None);
        req.headers_mut()
            .insert("authorization", value.parse().unwrap());
        req
    };
    assert_eq!(
        send(&app, with_auth("Bearer pk_live_acme")).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        send(&app, with_auth("Basic pk_live_acme")).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(calls.get(), 1);
}

/// With `expose_decision`, the handler sees the decision that admitted its request; without
/// it, nothing is inserted.
#[tokio::test]
async fn the_admitting_decision_reaches_the_handler_on_request() {
    use axum::Extension;
    use quota_tower::QuotaDecision;

    async fn show(decision: Option<Extension<QuotaDecision>>) -> String {
        match decision {
            Some(Extension(q)) => format!(
                "{} {} used={} limit={:?} allowed={}",
                q.brand,
                q.metric,
                q.decision.used,
                q.decision.limit,
                q.decision.is_allowed()
            ),
            None => "none".to_owned(),
        }
    }
    let (guard, _) = guard().await;
    let app = |expose: bool| {
        let layer = layer(guard.clone());
        let layer = if expose {
            layer.expose_decision()
        } else {
            layer
        };
        Router::new()
            .route("/renders", axum::routing::post(show))
            .layer(layer)
    };
    let on = app(true);
    let res = send(&on, request("POST", "/renders", Some(BRAND))).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        body_text(res).await,
        "acme renders_2d used=1 limit=Some(20) allowed=true"
    );
    let res = send(&on, request("POST", "/renders", Some(BRAND))).await;
    assert_eq!(
        body_text(res).await,
        "acme renders_2d used=2 limit=Some(20) allowed=true"
    );
    let off = app(false);
    let res = send(&off, request("POST", "/renders", Some(BRAND))).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(body_text(res).await, "none");
    assert_eq!(used(&guard, "renders_2d").await, 3);
}
