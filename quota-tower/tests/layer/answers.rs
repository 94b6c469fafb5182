//! What the layer answers: admitted, overage, denied, idempotency keys, misconfiguration.

use super::*;
use quota_testkit::Ops;

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
