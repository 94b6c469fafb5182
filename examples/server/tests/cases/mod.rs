//! The runbook cases, run by `runbook.rs` (memory), `runbook_redis.rs` (Redis) and
//! `runbook_postgres.rs` (Postgres), each case in a store namespace of its own.
#![allow(dead_code)]

pub(crate) mod alerts;
pub(crate) mod checkout;
pub(crate) mod reset;
pub(crate) mod share;
pub(crate) mod topups;
pub(crate) mod usage;

use crate::common::{Auth, Harness};
use serde_json::json;

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
            reset_to_92_with_topup_shows_in_summary_and_in_metrics_at_once => $crate::cases::reset::reset_to_92_with_topup_shows_in_summary_and_in_metrics_at_once,
            dry_run_reports_the_plan_and_writes_nothing => $crate::cases::reset::dry_run_reports_the_plan_and_writes_nothing,
            reset_refuses_the_topup_of_a_metric_without_overage_charge_and_says_why => $crate::cases::reset::reset_refuses_the_topup_of_a_metric_without_overage_charge_and_says_why,
            seeded_brand_blocks_an_upgrade_of_team_members_on_check_quota => $crate::cases::usage::seeded_brand_blocks_an_upgrade_of_team_members_on_check_quota,
            idempotent_replays_count_once => $crate::cases::usage::idempotent_replays_count_once,
            public_routes_carry_ratelimit_headers_and_deny_past_the_hard_limit => $crate::cases::usage::public_routes_carry_ratelimit_headers_and_deny_past_the_hard_limit,
            a_brand_key_never_reads_or_writes_another_brand => $crate::cases::usage::a_brand_key_never_reads_or_writes_another_brand,
            brands_get_a_key_once_and_unknown_plans_are_refused => $crate::cases::usage::brands_get_a_key_once_and_unknown_plans_are_refused,
            dev_clock_rehearses_the_month_end_reset => $crate::cases::reset::dev_clock_rehearses_the_month_end_reset,
            the_dev_clock_is_refused_unless_enabled => $crate::cases::reset::the_dev_clock_is_refused_unless_enabled,
            health_openapi_and_unknown_routes => $crate::cases::health_openapi_and_unknown_routes,
            alerts_past_90_reach_slack_and_email_once => $crate::cases::alerts::alerts_past_90_reach_slack_and_email_once,
            an_alert_waits_for_a_receiver_that_is_down_and_arrives_once => $crate::cases::alerts::an_alert_waits_for_a_receiver_that_is_down_and_arrives_once,
            share_links_show_the_snapshot_and_refuse_every_bad_token => $crate::cases::share::share_links_show_the_snapshot_and_refuse_every_bad_token,
            the_pages_render_from_the_store => $crate::cases::share::the_pages_render_from_the_store,
            checkout_on_the_simulated_page_completes_the_topup => $crate::cases::topups::checkout_on_the_simulated_page_completes_the_topup,
            a_stripe_signed_webhook_completes_the_topup_once => $crate::cases::topups::a_stripe_signed_webhook_completes_the_topup_once,
            with_a_stripe_key_checkout_goes_to_stripe_and_its_webhook_completes => $crate::cases::topups::with_a_stripe_key_checkout_goes_to_stripe_and_its_webhook_completes,
            checkout_urls_come_from_the_public_url_not_the_host_header => $crate::cases::topups::checkout_urls_come_from_the_public_url_not_the_host_header,
            checkout_redirects_stay_on_the_public_origin => $crate::cases::checkout::checkout_redirects_stay_on_the_public_origin,
            the_simulated_checkout_is_settled_by_its_creator_from_this_site_only => $crate::cases::checkout::the_simulated_checkout_is_settled_by_its_creator_from_this_site_only,
            checkout_units_are_bounded_and_open_checkouts_capped_until_they_expire => $crate::cases::checkout::checkout_units_are_bounded_and_open_checkouts_capped_until_they_expire,
            without_a_checkout_provider_topups_are_off => $crate::cases::checkout::without_a_checkout_provider_topups_are_off,
            every_refused_body_or_path_is_a_problem_with_its_status => $crate::cases::every_refused_body_or_path_is_a_problem_with_its_status,
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

/// Every refusal of a body or a path, on every route that reads one, is problem+json with the
/// refusal's status (413 over the limit, 415 another content type, 400 a malformed path
/// parameter), including the Stripe webhook's 256 KiB limit; the pages' forms answer a page
/// with the same status.
pub(crate) async fn every_refused_body_or_path_is_a_problem_with_its_status(store: &str) {
    let h = Harness::start_with(store, |c| {
        c.body_limit = 2048;
        c.dev_clock = true;
    })
    .await;
    let (brand, key) = h.brand("starter").await;
    let big = |n: usize| json!({ "brandId": brand, "pad": "x".repeat(n) }).to_string();
    let json_routes = [
        "/api/v1/usage-billing/record",
        "/api/v1/usage-billing/check-quota",
        "/api/v1/usage-billing/reset",
        "/api/v1/usage-billing/share",
        "/api/v1/usage-billing/topups/checkout",
        "/api/v1/brands",
        "/api/v1/admin/clock/advance",
    ];
    for path in json_routes {
        for (what, ctype, body, status) in [
            ("over the limit", "application/json", big(4096), 413),
            ("text/plain", "text/plain", "{}".to_owned(), 415),
            (
                "a form",
                "application/x-www-form-urlencoded",
                "a=1".to_owned(),
                415,
            ),
        ] {
            let rb = h
                .http
                .post(format!("{}{path}", h.base))
                .header("content-type", ctype)
                .body(body);
            let r = h.send(rb, Auth::Admin).await;
            assert_eq!(r.status, status, "{path} {what}: {}", r.text);
            r.assert_problem(status);
        }
    }
    // The webhook takes 256 KiB whatever the server's body limit, then refuses past it: a
    // declared length over it is answered before any of the body is sent (sending it would
    // race the server closing the connection on a body it does not read).
    for len in [256 * 1024 + 1, 1024 * 1024] {
        let (status, ctype, body) =
            declared_only(&h, "/api/v1/usage-billing/topups/webhook", len).await;
        assert_eq!(status, 413, "webhook declaring {len} bytes: {body}");
        assert_eq!(ctype, "application/problem+json", "{body}");
        let body: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(body["status"], 413);
        assert!(
            body["detail"].as_str().unwrap().contains(&len.to_string()),
            "{body}"
        );
    }
    let webhook = format!("{}/api/v1/usage-billing/topups/webhook", h.base);
    for (what, ctype, len, status) in [
        ("text/plain", "text/plain", 16, 415),
        (
            "no signature, under 256 KiB",
            "application/json",
            100 * 1024,
            400,
        ),
    ] {
        let rb = h
            .http
            .post(&webhook)
            .header("content-type", ctype)
            .body(vec![b' '; len]);
        let r = h.send(rb, Auth::None).await;
        assert_eq!(r.status, status, "webhook {what}: {}", r.text);
        r.assert_problem(status);
    }
    // The public demo routes and malformed path parameters.
    for (method, path, status) in [
        ("DELETE", "/api/v1/usage-billing/share/%FF%FE", 400),
        ("POST", "/checkout/simulated/%FF/confirm", 400),
        ("GET", "/checkout/simulated/%FF", 400),
    ] {
        let rb = h
            .http
            .request(method.parse().unwrap(), format!("{}{path}", h.base));
        let r = h.send(rb, Auth::Admin).await;
        assert_eq!(r.status, status, "{method} {path}: {}", r.text);
        r.assert_problem(status);
    }
    let rb = h
        .http
        .post(format!("{}/designs", h.base))
        .header("content-type", "application/json")
        .body(vec![b' '; 8192]);
    let r = h.send(rb, Auth::Key(&key)).await;
    if r.status >= 400 {
        r.assert_problem(r.status);
    }
    // A page's form: a page (not JSON) with the refusal's status.
    for (ctype, body, status) in [
        (
            "application/x-www-form-urlencoded",
            format!("units={}", "1".repeat(4096)),
            413,
        ),
        ("application/json", "{}".to_owned(), 415),
    ] {
        let rb = h
            .http
            .post(format!("{}/analytics/topup", h.base))
            .header("content-type", ctype)
            .header("cookie", format!("quota_admin={}", h.admin))
            .body(body);
        let r = h.send(rb, Auth::None).await;
        assert_eq!(r.status, status, "{}", r.text);
        assert!(
            r.header("content-type").unwrap().starts_with("text/html"),
            "{:?}",
            r.headers
        );
    }
    h.server.stop().await.unwrap();
}

/// POSTs to `path` a request that declares a JSON body of `len` bytes and sends none of it;
/// the status, content type and body of the answer (read to the end: the server closes).
async fn declared_only(h: &Harness, path: &str, len: usize) -> (u16, String, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = h.base.trim_start_matches("http://");
    let mut conn = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {len}\r\nConnection: close\r\n\r\n"
    );
    conn.write_all(head.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    tokio::time::timeout(
        std::time::Duration::from_secs(10),
        conn.read_to_end(&mut raw),
    )
    .await
    .expect("the server answers without waiting for the body")
    .unwrap();
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let ctype = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-type")
                .then(|| v.trim().to_owned())
        })
        .unwrap_or_default();
    (status, ctype, body.to_owned())
}
