//! Recording and checking usage over HTTP: the seeded brand, idempotent replays, the public
//! routes behind QuotaLayer, brand isolation and brand creation.

use crate::common::{Auth, Harness, sample};
use serde_json::json;

pub(crate) async fn seeded_brand_blocks_an_upgrade_of_team_members_on_check_quota(store: &str) {
    let h = Harness::start(store).await;
    let r = h
        .post(
            "/api/v1/usage-billing/check-quota",
            json!({ "brandId": "brand_dashboard", "metric": "team_members", "quantity": 1 }),
            Auth::Admin,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["allowed"], false);
    assert_eq!(r.body["status"], "blocked");
    assert_eq!(r.body["used"], 3);
    assert_eq!(r.body["limit"], 3);
    assert_eq!(r.body["remaining"], 0);
    assert_eq!(r.body["percent"], 100);
    assert_eq!(r.body["suggestedPlan"], "pro");
    // No side effect, and within the plan it is allowed.
    assert_eq!(h.used("brand_dashboard", "team_members").await, 3);
    // A store of this case's own: the seed's 40 generations and nothing else.
    let used = h.used("brand_dashboard", "ai_generations").await;
    assert_eq!(used, 40, "the seed records 40 generations");
    let r = h
        .post(
            "/api/v1/usage-billing/check-quota",
            json!({ "brandId": "brand_dashboard", "metric": "ai_generations", "quantity": 10 }),
            Auth::Admin,
        )
        .await;
    assert_eq!(r.body["allowed"], true);
    assert_eq!(r.body["used"], used);
    assert_eq!(h.used("brand_dashboard", "ai_generations").await, used);
}

pub(crate) async fn idempotent_replays_count_once(store: &str) {
    let h = Harness::start(store).await;
    let (brand, _) = h.brand("starter").await;
    let send = |key: &'static str, header: bool| {
        let mut rb = h
            .http
            .post(format!("{}/api/v1/usage-billing/record", h.base));
        let mut body = json!({ "brandId": brand, "metric": "ai_generations", "quantity": 7 });
        if header {
            rb = rb.header("Idempotency-Key", key);
        } else {
            body["idempotencyKey"] = json!(key);
        }
        h.send(rb.json(&body), Auth::Admin)
    };
    let first = send("job-1", true).await;
    assert_eq!(first.status, 200, "{}", first.text);
    assert!(first.header("idempotent-replayed").is_none());
    assert_eq!(first.body["used"], 7);
    let other = send("job-2", false).await;
    assert_eq!(other.body["used"], 14);
    for _ in 0..3 {
        // The first answer, byte for byte, although usage moved on since.
        let again = send("job-1", true).await;
        assert_eq!(again.status, 200);
        assert_eq!(again.text, first.text);
        assert_eq!(again.header("idempotent-replayed").as_deref(), Some("true"));
    }
    // The body's key is the same key.
    let body_key = send("job-1", false).await;
    assert_eq!(body_key.text, first.text);
    assert_eq!(h.used(&brand, "ai_generations").await, 14);

    // The same key for another request (quantity, metric): 409, nothing recorded.
    for body in [
        json!({ "brandId": brand, "metric": "ai_generations", "quantity": 8 }),
        json!({ "brandId": brand, "metric": "renders_2d", "quantity": 7 }),
    ] {
        let rb = h
            .http
            .post(format!("{}/api/v1/usage-billing/record", h.base))
            .header("Idempotency-Key", "job-1")
            .json(&body);
        let p = h.send(rb, Auth::Admin).await;
        p.assert_problem(409);
        assert_eq!(p.body["code"], "idempotency_key_reused", "{}", p.text);
    }
    assert_eq!(h.used(&brand, "ai_generations").await, 14);
    assert_eq!(h.used(&brand, "renders_2d").await, 0);

    // Past the per-request ceiling: 422 naming the limit, nothing recorded.
    for quantity in [1_000_000_001u64, 1 << 53, u64::MAX] {
        let r = h
            .post(
                "/api/v1/usage-billing/record",
                json!({ "brandId": brand, "metric": "ai_generations", "quantity": quantity }),
                Auth::Admin,
            )
            .await;
        r.assert_problem(422);
        assert_eq!(r.body["max"], 1_000_000_000u64, "{}", r.text);
    }
    assert_eq!(h.used(&brand, "ai_generations").await, 14);

    // Concurrent replays of one key: exactly one counts.
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let http = h.http.clone();
        let url = format!("{}/api/v1/usage-billing/record", h.base);
        let admin = h.admin.clone();
        let brand = brand.clone();
        tasks.push(tokio::spawn(async move {
            http.post(url)
                .bearer_auth(admin)
                .header("Idempotency-Key", "job-3")
                .json(&json!({ "brandId": brand, "metric": "ai_generations", "quantity": 5 }))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), 200);
    }
    assert_eq!(h.used(&brand, "ai_generations").await, 19);

    // Header and body disagreeing is a conflict of keys, and counts nothing.
    let rb = h
        .http
        .post(format!("{}/api/v1/usage-billing/record", h.base))
        .header("Idempotency-Key", "a")
        .json(&json!({ "brandId": brand, "metric": "ai_generations", "idempotencyKey": "b" }));
    h.send(rb, Auth::Admin).await.assert_problem(409);
    assert_eq!(h.used(&brand, "ai_generations").await, 19);
}

pub(crate) async fn public_routes_carry_ratelimit_headers_and_deny_past_the_hard_limit(
    store: &str,
) {
    let h = Harness::start(store).await;
    // Free plan: 20 renders, hard limit.
    let (brand, key) = h.brand("free").await;
    for i in 1..=20u64 {
        let r = h.post("/api/v1/renders", json!({}), Auth::Key(&key)).await;
        assert_eq!(r.status, 202, "call {i}: {}", r.text);
        assert_eq!(r.body["brandId"], brand.as_str());
        let policy = r.header("ratelimit-policy").unwrap();
        assert!(policy.starts_with("\"quota\";q=20;w="), "{policy}");
        let rl = r.header("ratelimit").unwrap();
        assert!(
            rl.starts_with(&format!("\"quota\";r={};t=", 20 - i)),
            "{rl}"
        );
        // The headers are RFC 9651 structured fields (lists of items with parameters).
        sfv::Parser::new(&policy).parse::<sfv::List>().unwrap();
        sfv::Parser::new(&rl).parse::<sfv::List>().unwrap();
    }
    // `quota_decisions_total` has no brand label and every server of this test process
    // shares the recorder: only the increase this denial causes is known (at least one).
    let denied = |m: &str| {
        sample(
            m,
            "quota_decisions_total{outcome=\"denied\",source=\"layer\"}",
        )
        .unwrap_or(0.0)
    };
    let denied_before = denied(&h.metrics_text().await);
    let r = h.post("/renders", json!({}), Auth::Key(&key)).await;
    let p = r.assert_problem(429);
    assert_eq!(p["metric"], "renders_2d");
    assert_eq!(p["used"], 20);
    assert_eq!(p["limit"], 20);
    assert_eq!(p["suggestedPlan"], "starter");
    assert!(r.header("retry-after").unwrap().parse::<u64>().unwrap() > 0);
    assert!(r.header("ratelimit").unwrap().contains(";r=0;"));
    assert_eq!(h.used(&brand, "renders_2d").await, 20);

    // Soft limit: designs past the 100 included are admitted with overage.
    let r = h.post("/designs", json!({}), Auth::Key(&key)).await;
    assert_eq!(r.status, 202);
    assert_eq!(h.used(&brand, "ai_generations").await, 1);
    let m = h.metrics_text().await;
    assert!(denied(&m) >= denied_before + 1.0);
    let renders = format!("quota_usage{{brand=\"{brand}\",metric=\"renders_2d\"}}");
    assert_eq!(sample(&m, &renders), Some(20.0));
    assert!(m.contains("quota_render_queue_latency_seconds_bucket"));
    assert!(m.contains("quota_design_queue_latency_seconds_bucket"));
}

pub(crate) async fn a_brand_key_never_reads_or_writes_another_brand(store: &str) {
    let h = Harness::start(store).await;
    let (a, key_a) = h.brand("starter").await;
    let (b, _) = h.brand("starter").await;
    // Own brand: allowed.
    let own = h
        .get(
            &format!("/api/v1/usage-billing/summary?brandId={a}"),
            Auth::Key(&key_a),
        )
        .await;
    assert_eq!(own.status, 200, "{}", own.text);
    // Another brand: 403, whatever the route.
    h.get(
        &format!("/api/v1/usage-billing/summary?brandId={b}"),
        Auth::Key(&key_a),
    )
    .await
    .assert_problem(403);
    h.post(
        "/api/v1/usage-billing/record",
        json!({ "brandId": b, "metric": "ai_generations" }),
        Auth::Key(&key_a),
    )
    .await
    .assert_problem(403);
    h.post(
        "/api/v1/usage-billing/check-quota",
        json!({ "brandId": b, "metric": "ai_generations" }),
        Auth::Key(&key_a),
    )
    .await
    .assert_problem(403);
    let rb = h
        .http
        .post(format!("{}/designs", h.base))
        .header("x-brand-id", b.as_str());
    h.send(rb, Auth::Key(&key_a)).await.assert_problem(403);
    // Admin-only routes refuse brand keys.
    h.post(
        "/api/v1/usage-billing/reset",
        json!({ "brandId": a, "metric": "ai_generations", "target": 10 }),
        Auth::Key(&key_a),
    )
    .await
    .assert_problem(403);
    h.post(
        "/api/v1/brands",
        json!({ "brandId": "x1", "planId": "pro" }),
        Auth::Key(&key_a),
    )
    .await
    .assert_problem(403);
    assert_eq!(h.used(&b, "ai_generations").await, 0);

    // A forged key (brand swapped) and bad tokens are 401.
    let forged = key_a.replace(&a, &b);
    h.post("/designs", json!({}), Auth::Key(&forged))
        .await
        .assert_problem(401);
    let r = h
        .get(
            &format!("/api/v1/usage-billing/summary?brandId={a}"),
            Auth::None,
        )
        .await;
    r.assert_problem(401);
    assert!(r.header("www-authenticate").is_some());
    h.get(
        &format!("/api/v1/usage-billing/summary?brandId={a}"),
        Auth::Bearer("eyJhbGciOiJub25lIn0.eyJyb2xlIjoiYWRtaW4ifQ."),
    )
    .await
    .assert_problem(401);
    let expired = h
        .server
        .state
        .secrets
        .admin_token_expiring(1_000_000)
        .unwrap();
    h.get(
        &format!("/api/v1/usage-billing/summary?brandId={a}"),
        Auth::Bearer(&expired),
    )
    .await
    .assert_problem(401);
    // Admin tokens do not pay for public routes.
    h.post("/designs", json!({}), Auth::Admin)
        .await
        .assert_problem(403);
    assert_eq!(h.used(&a, "ai_generations").await, 0);
}

pub(crate) async fn brands_get_a_key_once_and_unknown_plans_are_refused(store: &str) {
    let h = Harness::start(store).await;
    let (brand, key) = h.brand("pro").await;
    assert!(key.starts_with(&format!("pk_{brand}_")));
    let dup = h
        .post(
            "/api/v1/brands",
            json!({ "brandId": brand, "planId": "free" }),
            Auth::Admin,
        )
        .await;
    dup.assert_problem(409);
    h.post(
        "/api/v1/brands",
        json!({ "brandId": "nb_1", "planId": "platinum" }),
        Auth::Admin,
    )
    .await
    .assert_problem(422);
    h.post(
        "/api/v1/brands",
        json!({ "brandId": "bad brand", "planId": "pro" }),
        Auth::Admin,
    )
    .await
    .assert_problem(400);
    let s = h.summary(&brand).await;
    assert_eq!(s["plan"]["id"], "pro");
    assert_eq!(s["plan"]["price"]["amountMinor"], 9900);
    assert_eq!(s["stable"], true);
    assert_eq!(s["stableLabel"], "Consommation stable");
    let plans = h.get("/api/v1/usage-billing/plans", Auth::Admin).await;
    assert_eq!(plans.body["plans"].as_array().unwrap().len(), 4);
}
