//! The runbook cases, run by `runbook.rs` (memory), `runbook_redis.rs` (Redis) and
//! `runbook_postgres.rs` (Postgres), each case in a store namespace of its own.
#![allow(dead_code)]

pub(crate) mod flows;

use crate::common::{Auth, Harness, sample};
use serde_json::json;

pub(crate) async fn reset_to_92_with_topup_shows_in_summary_as_under_strain_and_in_metrics_at_once(
    store: &str,
) {
    let h = Harness::start(store).await;
    let (brand, _) = h.brand("starter").await;
    assert_eq!(h.record(&brand, "ai_generations", 30).await.status, 200);
    // Scrape once so the brand's series exist before the reset.
    let before = h.metrics_text().await;
    let series = format!("quota_usage{{brand=\"{brand}\",metric=\"ai_generations\"}}");
    assert_eq!(sample(&before, &series), Some(30.0));

    let r = h
        .post(
            "/api/v1/usage-billing/reset",
            json!({ "brandId": brand, "metric": "ai_generations", "target": 92, "topup": 25 }),
            Auth::Admin,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let rep = &r.body;
    assert_eq!(rep["dryRun"], false);
    assert_eq!(rep["usedBefore"], 30);
    assert_eq!(rep["included"], 500);
    assert_eq!(rep["targetUnits"], 460);
    assert_eq!(rep["usedAfter"], 460);
    assert_eq!(rep["limitAfter"], 525);
    assert_eq!(rep["percentAfter"], 87);
    assert!(rep["topupId"].as_str().is_some());
    assert_eq!(
        rep["analyticsUrl"],
        format!("http://localhost:3000/analytics?brandId={brand}")
    );
    assert!(
        rep["monitoringUrl"]
            .as_str()
            .unwrap()
            .contains("/monitoring")
    );

    let m = h.metric(&brand, "ai_generations").await;
    assert_eq!(m["used"], 460);
    assert_eq!(m["limit"], 525);
    assert_eq!(m["topupUnits"], 25);
    assert_eq!(m["percent"], 87);
    assert_eq!(m["status"], "under_strain", "{m}");
    assert_eq!(m["statusLabel"], "Sous tension");
    assert_eq!(m["projection"]["status"], "under_strain");

    // The timeline, newest first: the reset, then the completed top-up.
    let s = h.summary(&brand).await;
    let kinds: Vec<&str> = s["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(kinds.first(), Some(&"period_reset"), "{kinds:?}");
    assert!(kinds.contains(&"top_up_completed"), "{kinds:?}");
    assert_eq!(s["stable"], false);

    // The gauges follow at once, without a restart.
    let after = h.metrics_text().await;
    assert_eq!(sample(&after, &series), Some(460.0));
    let limit = format!("quota_limit{{brand=\"{brand}\",metric=\"ai_generations\"}}");
    assert_eq!(sample(&after, &limit), Some(525.0));

    // Alert claims were cleared: crossing 90 % again fires a fresh critical alert.
    let r = h.record(&brand, "ai_generations", 20).await;
    assert_eq!(r.body["used"], 480);
    assert_eq!(r.body["status"], "critical");
    let s = h.summary(&brand).await;
    let first = &s["timeline"][0];
    assert_eq!(first["type"], "threshold_crossed");
    assert_eq!(first["threshold"], 90);
    h.server.stop().await.unwrap();
}

pub(crate) async fn dry_run_reports_the_plan_and_writes_nothing(store: &str) {
    let h = Harness::start(store).await;
    let (brand, _) = h.brand("starter").await;
    assert_eq!(h.record(&brand, "renders_2d", 12).await.status, 200);
    let before = h.summary(&brand).await;
    let r = h
        .post(
            "/api/v1/usage-billing/reset",
            json!({ "brandId": brand, "metric": "renders_2d", "target": 85, "dryRun": true }),
            Auth::Admin,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["dryRun"], true);
    assert_eq!(r.body["usedBefore"], 12);
    assert_eq!(r.body["targetUnits"], 85);
    assert!(r.body["usedAfter"].is_null());
    let after = h.summary(&brand).await;
    assert_eq!(before["metrics"], after["metrics"]);
    assert_eq!(before["timeline"], after["timeline"]);
}

pub(crate) async fn reset_refuses_the_topup_of_a_metric_without_overage_charge_and_says_why(
    store: &str,
) {
    let h = Harness::start(store).await;
    let (brand, _) = h.brand("starter").await;
    let r = h
        .post(
            "/api/v1/usage-billing/reset",
            json!({ "brandId": brand, "metric": "renders_2d", "target": 50, "topup": 10 }),
            Auth::Admin,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.body["topupRefused"].as_str().unwrap().contains("overage"));
    assert!(r.body["topupId"].is_null());
    assert_eq!(r.body["usedAfter"], 50);
    assert_eq!(r.body["limitAfter"], 100);
    let m = h.metric(&brand, "renders_2d").await;
    assert_eq!(m["topupUnits"], 0);
}

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
    let denied = |m: &str| sample(m, "quota_decisions_total{outcome=\"denied\"}").unwrap_or(0.0);
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
    assert!(m.contains("render_queue_latency_bucket"));
    assert!(m.contains("design_queue_latency_bucket"));
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

pub(crate) async fn dev_clock_rehearses_the_month_end_reset(store: &str) {
    let h = Harness::start_with(store, |c| c.dev_clock = true).await;
    let (brand, _) = h.brand("starter").await;
    assert_eq!(h.record(&brand, "ai_generations", 300).await.status, 200);
    let s = h.summary(&brand).await;
    assert_eq!(s["periodKey"], 20261101);
    assert_eq!(s["stable"], false);
    let r = h
        .post(
            "/api/v1/admin/clock/advance",
            json!({ "days": 1 }),
            Auth::Admin,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.body["now"].as_str().unwrap().starts_with("2026-12-01"));
    let s = h.summary(&brand).await;
    assert_eq!(s["periodKey"], 20261201);
    let m = s["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["metric"] == "ai_generations")
        .unwrap();
    assert_eq!(m["used"], 0);
    assert!(
        m["curve"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["units"] == 0)
    );
    assert_eq!(s["stable"], true);
    assert_eq!(s["stableLabel"], "Consommation stable");
    let metrics = h.metrics_text().await;
    let series = format!("quota_usage{{brand=\"{brand}\",metric=\"ai_generations\"}}");
    assert_eq!(sample(&metrics, &series), Some(0.0));
    // Forward only.
    h.post(
        "/api/v1/admin/clock/advance",
        json!({ "seconds": -10 }),
        Auth::Admin,
    )
    .await
    .assert_problem(400);
    h.post(
        "/api/v1/admin/clock/advance",
        json!({ "days": 1, "seconds": 1 }),
        Auth::Admin,
    )
    .await
    .assert_problem(400);
}

pub(crate) async fn the_dev_clock_is_refused_unless_enabled(store: &str) {
    let h = Harness::start(store).await;
    h.post(
        "/api/v1/admin/clock/advance",
        json!({ "days": 1 }),
        Auth::Admin,
    )
    .await
    .assert_problem(403);
    let c = h.get("/api/v1/admin/clock", Auth::Admin).await;
    assert_eq!(c.body["enabled"], false);
    assert!(c.body["now"].as_str().unwrap().starts_with("2026-11-30"));
}

pub(crate) async fn health_openapi_and_unknown_routes(store: &str) {
    let h = Harness::start(store).await;
    let r = h.get("/healthz", Auth::None).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["status"], "ok");
    let r = h.get("/api/v1/openapi.json", Auth::None).await;
    assert_eq!(r.body["openapi"], "3.1.0");
    for path in [
        "/usage-billing/record",
        "/usage-billing/check-quota",
        "/usage-billing/summary",
        "/usage-billing/reset",
        "/brands",
    ] {
        assert!(
            r.body["paths"][path].is_object(),
            "{path} missing from openapi"
        );
    }
    h.get("/nope", Auth::None).await.assert_problem(404);
    h.get("/api/v1/usage-billing/record", Auth::Admin)
        .await
        .assert_problem(405);
}

pub(crate) async fn every_bad_input_is_a_4xx_problem_and_changes_nothing(store: &str) {
    let h = Harness::start_with(store, |c| c.body_limit = 2048).await;
    let (brand, _) = h.brand("starter").await;
    assert_eq!(h.record(&brand, "ai_generations", 5).await.status, 200);
    let before = h.summary(&brand).await;
    let record = format!("{}/api/v1/usage-billing/record", h.base);
    let raw = |body: String, ctype: Option<&str>| {
        let mut rb = h.http.post(&record).body(body);
        if let Some(c) = ctype {
            rb = rb.header("content-type", c);
        }
        rb
    };
    let json_ct = Some("application/json");
    let cases: Vec<(&str, reqwest::RequestBuilder, u16)> = vec![
        ("malformed JSON", raw("{\"brandId\": ".into(), json_ct), 400),
        ("not an object", raw("[1,2]".into(), json_ct), 422),
        ("missing metric", raw(json!({ "brandId": brand }).to_string(), json_ct), 422),
        ("unknown field", raw(json!({ "brandId": brand, "metric": "ai_generations", "qty": 1 }).to_string(), json_ct), 422),
        ("unknown brand", raw(json!({ "brandId": "nobody_here", "metric": "ai_generations" }).to_string(), json_ct), 404),
        ("bad brand id", raw(json!({ "brandId": "a{b}", "metric": "ai_generations" }).to_string(), json_ct), 400),
        ("unknown metric", raw(json!({ "brandId": brand, "metric": "video_minutes" }).to_string(), json_ct), 422),
        ("bad metric key", raw(json!({ "brandId": brand, "metric": "AI Gens" }).to_string(), json_ct), 400),
        ("quantity 0", raw(json!({ "brandId": brand, "metric": "ai_generations", "quantity": 0 }).to_string(), json_ct), 400),
        ("negative quantity", raw(json!({ "brandId": brand, "metric": "ai_generations", "quantity": -3 }).to_string(), json_ct), 422),
        ("fractional quantity", raw(json!({ "brandId": brand, "metric": "ai_generations", "quantity": 1.5 }).to_string(), json_ct), 422),
        ("quantity as text", raw(json!({ "brandId": brand, "metric": "ai_generations", "quantity": "3" }).to_string(), json_ct), 422),
        ("quantity beyond u64", raw(format!("{{\"brandId\":\"{brand}\",\"metric\":\"ai_generations\",\"quantity\":18446744073709551616}}"), json_ct), 422),
        ("idempotency key too long", raw(json!({ "brandId": brand, "metric": "ai_generations", "idempotencyKey": "k".repeat(300) }).to_string(), json_ct), 400),
        ("body over the limit", raw(json!({ "brandId": brand, "metric": "ai_generations", "idempotencyKey": "k".repeat(5000) }).to_string(), json_ct), 413),
        ("wrong content type", raw(json!({ "brandId": brand, "metric": "ai_generations" }).to_string(), Some("text/plain")), 415),
        ("no content type", raw(json!({ "brandId": brand, "metric": "ai_generations" }).to_string(), None), 415),
    ];
    for (what, rb, status) in cases {
        let r = h.send(rb, Auth::Admin).await;
        assert_eq!(r.status, status, "{what}: {}", r.text);
        r.assert_problem(status);
    }
    // check-quota and reset validate the same way.
    let bad_checks = [
        (
            json!({ "brandId": brand, "metric": "ai_generations", "quantity": 0 }),
            400,
        ),
        (json!({ "brandId": brand, "metric": "nope" }), 422),
        (json!({ "metric": "ai_generations" }), 422),
    ];
    for (body, status) in bad_checks {
        h.post("/api/v1/usage-billing/check-quota", body, Auth::Admin)
            .await
            .assert_problem(status);
    }
    let bad_resets = [
        (
            json!({ "brandId": brand, "metric": "ai_generations", "target": 5000 }),
            400,
        ),
        (
            json!({ "brandId": brand, "metric": "ai_generations", "target": -1 }),
            422,
        ),
        (
            json!({ "brandId": brand, "metric": "ai_generations", "target": 70000 }),
            422,
        ),
        (
            json!({ "brandId": brand, "metric": "ai_generations", "target": 50, "topup": 0 }),
            400,
        ),
        (
            json!({ "brandId": brand, "metric": "team_members", "target": 50 }),
            422,
        ),
        (
            json!({ "brandId": brand, "metric": "nope", "target": 50 }),
            422,
        ),
        (
            json!({ "brandId": "nobody_here", "metric": "ai_generations", "target": 50 }),
            404,
        ),
    ];
    for (body, status) in bad_resets {
        h.post("/api/v1/usage-billing/reset", body, Auth::Admin)
            .await
            .assert_problem(status);
    }
    h.get("/api/v1/usage-billing/summary", Auth::Admin)
        .await
        .assert_problem(400);
    h.get(
        "/api/v1/usage-billing/summary?brandId=nobody_here",
        Auth::Admin,
    )
    .await
    .assert_problem(404);
    let after = h.summary(&brand).await;
    assert_eq!(
        before["metrics"], after["metrics"],
        "a bad request changed usage"
    );
    assert_eq!(before["timeline"], after["timeline"]);
    assert_eq!(before["topups"], after["topups"]);
}

/// Expands into one `#[tokio::test]` per case. `$backend` is an async fn taking the test's
/// name and returning the case's [`crate::common::Backend`], or `None` after a recorded
/// skip (see `quota_testkit::skip`; a failure in CI).
macro_rules! runbook_suite {
    ($backend:path) => {
        runbook_suite!(@cases $backend;
            every_bad_input_is_a_4xx_problem_and_changes_nothing => $crate::cases::every_bad_input_is_a_4xx_problem_and_changes_nothing,
            reset_to_92_with_topup_shows_in_summary_as_under_strain_and_in_metrics_at_once => $crate::cases::reset_to_92_with_topup_shows_in_summary_as_under_strain_and_in_metrics_at_once,
            dry_run_reports_the_plan_and_writes_nothing => $crate::cases::dry_run_reports_the_plan_and_writes_nothing,
            reset_refuses_the_topup_of_a_metric_without_overage_charge_and_says_why => $crate::cases::reset_refuses_the_topup_of_a_metric_without_overage_charge_and_says_why,
            seeded_brand_blocks_an_upgrade_of_team_members_on_check_quota => $crate::cases::seeded_brand_blocks_an_upgrade_of_team_members_on_check_quota,
            idempotent_replays_count_once => $crate::cases::idempotent_replays_count_once,
            public_routes_carry_ratelimit_headers_and_deny_past_the_hard_limit => $crate::cases::public_routes_carry_ratelimit_headers_and_deny_past_the_hard_limit,
            a_brand_key_never_reads_or_writes_another_brand => $crate::cases::a_brand_key_never_reads_or_writes_another_brand,
            brands_get_a_key_once_and_unknown_plans_are_refused => $crate::cases::brands_get_a_key_once_and_unknown_plans_are_refused,
            dev_clock_rehearses_the_month_end_reset => $crate::cases::dev_clock_rehearses_the_month_end_reset,
            the_dev_clock_is_refused_unless_enabled => $crate::cases::the_dev_clock_is_refused_unless_enabled,
            health_openapi_and_unknown_routes => $crate::cases::health_openapi_and_unknown_routes,
            alerts_past_90_reach_slack_and_email_once => $crate::cases::flows::alerts_past_90_reach_slack_and_email_once,
            an_alert_waits_for_a_receiver_that_is_down_and_arrives_once => $crate::cases::flows::an_alert_waits_for_a_receiver_that_is_down_and_arrives_once,
            share_links_show_the_snapshot_and_refuse_every_bad_token => $crate::cases::flows::share_links_show_the_snapshot_and_refuse_every_bad_token,
            the_pages_render_from_the_store => $crate::cases::flows::the_pages_render_from_the_store,
            checkout_on_the_simulated_page_completes_the_topup => $crate::cases::flows::checkout_on_the_simulated_page_completes_the_topup,
            a_stripe_signed_webhook_completes_the_topup_once => $crate::cases::flows::a_stripe_signed_webhook_completes_the_topup_once,
            with_a_stripe_key_checkout_goes_to_stripe_and_its_webhook_completes => $crate::cases::flows::with_a_stripe_key_checkout_goes_to_stripe_and_its_webhook_completes,
        );
    };
    (@cases $backend:path; $($name:ident => $case:path,)*) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                if let Some(backend) = $backend(quota_testkit::test_name!()).await {
                    $case(&backend.url).await;
                }
            }
        )*
    };
}
