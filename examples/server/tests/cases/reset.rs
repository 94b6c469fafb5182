//! The runbook's reset over HTTP (applied, dry run, refused top-up) and the dev clock that
//! rehearses the month end.

use crate::common::{Auth, Harness, sample};
use serde_json::json;

pub(crate) async fn reset_to_92_with_topup_shows_in_summary_and_in_metrics_at_once(store: &str) {
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
        format!("{}/analytics?brandId={brand}", h.base)
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
    // The reset is a level, not a pace: the median month-end total stays near 460, under
    // 90 % of the 525 units the top-up brought ("Sous tension" needs a median above 90 %).
    let projected = m["projection"]["projectedUsed"].as_u64().unwrap();
    assert!((460..=472).contains(&projected), "{m}");
    assert_eq!(m["status"], "stable", "{m}");
    assert_eq!(m["statusLabel"], "Stable");
    assert_eq!(m["projection"]["status"], "stable");

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
