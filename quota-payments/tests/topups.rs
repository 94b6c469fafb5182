#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]
//! Top-ups end to end against a real `QuotaGuard` (memory store, fake clock): checkout,
//! simulated page, webhook completion, replays, refusals.

mod support;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use quota_core::topup::TopUpStatus;
use quota_core::{Clock, MemoryStore, QuotaGuard};
use quota_payments::{
    CheckoutError, CompleteError, SimulatedCheckoutError, SimulatedError, StartCheckout,
    WebhookError, WebhookOutcome, WebhookSecret, complete_from_webhook, settle_simulated,
    sign_payload, start_checkout,
};
use support::{BRAND, METRIC, ORIGIN, env};

const WHSEC: &str = "whsec_test_secret";

fn request(metric: &str, units: u64) -> StartCheckout {
    StartCheckout::new(
        BRAND,
        metric,
        units,
        "/analytics?topup=success",
        "/analytics?topup=cancel",
    )
}

async fn topup_units(guard: &QuotaGuard<MemoryStore>) -> (u64, Option<u64>) {
    let snap = guard.snapshot(BRAND).await.unwrap();
    let m = snap.metrics.iter().find(|m| m.metric == METRIC).unwrap();
    (m.topup_units, m.limit)
}

fn completed_event(topup_id: &str, event_id: &str) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "id": event_id,
        "object": "event",
        "type": "checkout.session.completed",
        "data": {"object": {
            "id": "cs_test_1",
            "object": "checkout.session",
            "payment_status": "paid",
            "client_reference_id": topup_id,
            "metadata": {"brand": BRAND, "metric": METRIC, "units": "50", "topup_id": topup_id}
        }}
    }))
    .unwrap()
}

fn signed(body: &[u8], now: DateTime<Utc>) -> String {
    sign_payload(body, WHSEC, now.timestamp())
}

#[tokio::test]
async fn checkout_then_simulated_confirm_completes_the_topup_and_grows_the_allowance() {
    let e = env().await;
    let started = start_checkout(
        &e.guard,
        &e.sim,
        &e.redirects,
        &e.pending,
        &request(METRIC, 50),
    )
    .await
    .unwrap();
    assert_eq!(started.topup.status, TopUpStatus::Pending);
    assert_eq!(started.amount.amount_minor, 500);
    assert_eq!(
        started.session.checkout_url,
        format!("/checkout/simulated/{}", started.session.session_id)
    );
    let page = e.sim.session(&started.session.session_id).unwrap();
    assert_eq!(page.request.units, 50);
    assert_eq!(page.request.topup_id, started.topup.id);
    assert_eq!(topup_units(&e.guard).await, (0, Some(100)));

    let (redirect, topup) = settle_simulated(
        &e.guard,
        &e.sim,
        &e.pending,
        &started.session.session_id,
        true,
    )
    .await
    .unwrap();
    assert_eq!(
        redirect.redirect_url,
        format!("{ORIGIN}/analytics?topup=success")
    );
    assert!(!redirect.replayed);
    assert_eq!(topup.status, TopUpStatus::Completed);
    assert_eq!(topup_units(&e.guard).await, (50, Some(150)));

    // A reload of the success page confirms again: nothing more is added.
    let (again, _) = settle_simulated(
        &e.guard,
        &e.sim,
        &e.pending,
        &started.session.session_id,
        true,
    )
    .await
    .unwrap();
    assert!(again.replayed);
    assert_eq!(topup_units(&e.guard).await, (50, Some(150)));
    let history = e.guard.topups(BRAND).await.unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].status, TopUpStatus::Completed);
}

#[tokio::test]
async fn cancelling_the_simulated_page_cancels_the_topup_and_redirects_to_cancel() {
    let e = env().await;
    let started = start_checkout(
        &e.guard,
        &e.sim,
        &e.redirects,
        &e.pending,
        &request(METRIC, 10),
    )
    .await
    .unwrap();
    let sid = &started.session.session_id;
    let (redirect, topup) = settle_simulated(&e.guard, &e.sim, &e.pending, sid, false)
        .await
        .unwrap();
    assert_eq!(
        redirect.redirect_url,
        format!("{ORIGIN}/analytics?topup=cancel")
    );
    assert_eq!(
        topup.status,
        TopUpStatus::Cancelled,
        "cancelled, not failed"
    );
    let (again, topup) = settle_simulated(&e.guard, &e.sim, &e.pending, sid, false)
        .await
        .unwrap();
    assert!(again.replayed);
    assert_eq!(topup.status, TopUpStatus::Cancelled);
    // A cancelled checkout cannot be paid afterwards.
    assert!(matches!(
        settle_simulated(&e.guard, &e.sim, &e.pending, sid, true).await,
        Err(SimulatedCheckoutError::Session(
            SimulatedError::AlreadySettled { .. }
        ))
    ));
    assert!(matches!(
        e.sim.confirm("sim_nope"),
        Err(SimulatedError::UnknownSession(_))
    ));
    assert_eq!(topup_units(&e.guard).await, (0, Some(100)));
}

#[tokio::test]
async fn a_metric_without_overage_charge_refuses_a_topup_with_a_4xx() {
    let e = env().await;
    for metric in ["renders_2d", "team_members"] {
        let err = start_checkout(
            &e.guard,
            &e.sim,
            &e.redirects,
            &e.pending,
            &request(metric, 10),
        )
        .await
        .unwrap_err();
        assert!(
            matches!(&err, CheckoutError::TopUpNotAllowed { metric: m, plan } if m == metric && plan == "free"),
            "{err:?}"
        );
        assert_eq!(err.http_status(), 409);
    }
    assert!(e.guard.topups(BRAND).await.unwrap().is_empty());
}

#[tokio::test]
async fn invalid_checkout_requests_are_400s() {
    let e = env().await;
    let cases = [
        request(METRIC, 0),
        request("no_such_metric", 5),
        StartCheckout::new("brand_unknown", METRIC, 5, "/ok", "/ko"),
    ];
    for req in cases {
        let err = start_checkout(&e.guard, &e.sim, &e.redirects, &e.pending, &req)
            .await
            .unwrap_err();
        assert_eq!(err.http_status(), 400, "{req:?}: {err:?}");
    }
    let too_many = request(METRIC, quota_core::domain::DEFAULT_MAX_TOPUP_UNITS + 1);
    let err = start_checkout(&e.guard, &e.sim, &e.redirects, &e.pending, &too_many)
        .await
        .unwrap_err();
    assert!(
        matches!(
            &err,
            CheckoutError::Quota(quota_core::QuotaError::QuantityTooLarge { .. })
        ),
        "{err:?}"
    );
    for (ok, ko) in [
        ("javascript:alert(1)", "/ko"),
        ("/ok", "//evil.example"),
        ("https://evil.example/x", "/ko"),
        ("/ok", "https://quota.example.com@evil.example/"),
    ] {
        let req = StartCheckout::new(BRAND, METRIC, 5, ok, ko);
        let err = start_checkout(&e.guard, &e.sim, &e.redirects, &e.pending, &req)
            .await
            .unwrap_err();
        assert!(
            matches!(err, CheckoutError::Redirect(_)),
            "{req:?}: {err:?}"
        );
        assert_eq!(err.http_status(), 422, "{req:?}: {err:?}");
    }
    assert!(e.guard.topups(BRAND).await.unwrap().is_empty());
    assert_eq!(
        e.pending.open(BRAND, e.clock.now()),
        0,
        "refusals hold no slot"
    );
}

#[tokio::test]
async fn a_signed_webhook_completes_the_topup_and_a_replay_does_not_double_it() {
    let e = env().await;
    let started = start_checkout(
        &e.guard,
        &e.sim,
        &e.redirects,
        &e.pending,
        &request(METRIC, 50),
    )
    .await
    .unwrap();
    let body = completed_event(&started.topup.id, "evt_1");
    let secret = WebhookSecret::new(WHSEC);
    let now = e.clock.now();
    let header = signed(&body, now);

    let out = complete_from_webhook(&e.guard, &body, Some(&header), &secret, now)
        .await
        .unwrap();
    assert!(matches!(&out, WebhookOutcome::Completed(t) if t.id == started.topup.id));
    assert_eq!(topup_units(&e.guard).await, (50, Some(150)));

    // Stripe redelivers the same event (same signature, a minute later; or re-signed).
    for (h, later) in [
        (header.clone(), 60),
        (signed(&body, now + chrono::Duration::seconds(120)), 120),
    ] {
        let out = complete_from_webhook(
            &e.guard,
            &body,
            Some(&h),
            &secret,
            now + chrono::Duration::seconds(later),
        )
        .await
        .unwrap();
        assert!(
            matches!(out, WebhookOutcome::AlreadyCompleted(_)),
            "{out:?}"
        );
    }
    assert_eq!(topup_units(&e.guard).await, (50, Some(150)));
    let timeline = e.guard.timeline(BRAND, 50).await.unwrap();
    assert_eq!(
        timeline
            .iter()
            .filter(|ev| ev.kind.name() == "topup_completed")
            .count(),
        1
    );
}

#[tokio::test]
async fn concurrent_deliveries_of_one_event_add_the_units_once() {
    let e = env().await;
    let guard = Arc::new(e.guard);
    let started = start_checkout(
        &*guard,
        &e.sim,
        &e.redirects,
        &e.pending,
        &request(METRIC, 50),
    )
    .await
    .unwrap();
    let body = Arc::new(completed_event(&started.topup.id, "evt_1"));
    let now = e.clock.now();
    let header = Arc::new(signed(&body, now));
    let secret = Arc::new(WebhookSecret::new(WHSEC));
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let (g, b, h, s) = (guard.clone(), body.clone(), header.clone(), secret.clone());
        tasks.push(tokio::spawn(async move {
            complete_from_webhook(&*g, &b, Some(&h), &s, now).await
        }));
    }
    let mut ok = 0;
    for t in tasks {
        let out = t.await.unwrap().unwrap();
        assert!(matches!(
            out,
            WebhookOutcome::Completed(_) | WebhookOutcome::AlreadyCompleted(_)
        ));
        ok += 1;
    }
    assert_eq!(ok, 16);
    assert_eq!(topup_units(&guard).await, (50, Some(150)));
    let timeline = guard.timeline(BRAND, 50).await.unwrap();
    assert_eq!(
        timeline
            .iter()
            .filter(|ev| ev.kind.name() == "topup_completed")
            .count(),
        1
    );
}

#[tokio::test]
async fn a_bad_or_stale_signature_is_refused_with_400_and_changes_nothing() {
    let e = env().await;
    let started = start_checkout(
        &e.guard,
        &e.sim,
        &e.redirects,
        &e.pending,
        &request(METRIC, 50),
    )
    .await
    .unwrap();
    let body = completed_event(&started.topup.id, "evt_1");
    let secret = WebhookSecret::new(WHSEC);
    let now = e.clock.now();
    type Expect = fn(&WebhookError) -> bool;
    let cases: Vec<(Option<String>, Expect)> = vec![
        (None, |e| *e == WebhookError::MissingHeader),
        (
            Some(sign_payload(&body, "whsec_wrong", now.timestamp())),
            |e| *e == WebhookError::SignatureMismatch,
        ),
        (
            Some(signed(&body, now - chrono::Duration::seconds(301))),
            |e| matches!(e, WebhookError::Stale { .. }),
        ),
        (Some("t=1,v1=zz".into()), |e| {
            matches!(e, WebhookError::NoSignature)
        }),
    ];
    for (header, expected) in cases {
        let err = complete_from_webhook(&e.guard, &body, header.as_deref(), &secret, now)
            .await
            .unwrap_err();
        assert_eq!(err.http_status(), 400);
        assert!(
            matches!(&err, CompleteError::Webhook(w) if expected(w)),
            "{err:?}"
        );
    }
    // A genuine signature over another body (units or top-up changed in transit).
    let header = signed(&body, now);
    let forged = completed_event("tu_someone_else", "evt_1");
    let err = complete_from_webhook(&e.guard, &forged, Some(&header), &secret, now)
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        CompleteError::Webhook(WebhookError::SignatureMismatch)
    ));
    assert_eq!(
        e.guard.topup(&started.topup.id).await.unwrap().status,
        TopUpStatus::Pending
    );
    assert_eq!(topup_units(&e.guard).await, (0, Some(100)));
}

#[tokio::test]
async fn an_expired_checkout_fails_the_pending_topup() {
    let e = env().await;
    let started = start_checkout(
        &e.guard,
        &e.sim,
        &e.redirects,
        &e.pending,
        &request(METRIC, 50),
    )
    .await
    .unwrap();
    let body = serde_json::to_vec(&serde_json::json!({
        "id": "evt_x", "type": "checkout.session.expired",
        "data": {"object": {"id": "cs_1", "object": "checkout.session",
                            "client_reference_id": started.topup.id}}
    }))
    .unwrap();
    let now = e.clock.now();
    let secret = WebhookSecret::new(WHSEC);
    let out = complete_from_webhook(&e.guard, &body, Some(&signed(&body, now)), &secret, now)
        .await
        .unwrap();
    assert!(matches!(&out, WebhookOutcome::Failed(t) if t.status == TopUpStatus::Failed));
    // Delivered again: still failed, no error.
    let out = complete_from_webhook(&e.guard, &body, Some(&signed(&body, now)), &secret, now)
        .await
        .unwrap();
    assert!(matches!(&out, WebhookOutcome::Failed(t) if t.status == TopUpStatus::Failed));
    // A completed event for it now is a conflict, not a silent success.
    let paid = completed_event(&started.topup.id, "evt_y");
    let err = complete_from_webhook(&e.guard, &paid, Some(&signed(&paid, now)), &secret, now)
        .await
        .unwrap_err();
    assert_eq!(err.http_status(), 409);
    assert_eq!(topup_units(&e.guard).await, (0, Some(100)));
}

#[tokio::test]
async fn unknown_topups_and_foreign_events_do_nothing() {
    let e = env().await;
    let now = e.clock.now();
    let secret = WebhookSecret::new(WHSEC);
    let body = completed_event("tu_unknown", "evt_1");
    let err = complete_from_webhook(&e.guard, &body, Some(&signed(&body, now)), &secret, now)
        .await
        .unwrap_err();
    assert!(matches!(&err, CompleteError::UnknownTopUp(id) if id == "tu_unknown"));
    assert_eq!(err.http_status(), 400);

    let ping = br#"{"id":"evt_2","type":"customer.created","data":{"object":{"id":"cus_1","object":"customer"}}}"#;
    let out = complete_from_webhook(&e.guard, ping, Some(&signed(ping, now)), &secret, now)
        .await
        .unwrap();
    assert!(matches!(out, WebhookOutcome::Ignored { .. }));
}

#[tokio::test]
async fn a_completed_topup_resolves_the_alerts_it_brings_back_under() {
    let e = env().await;
    // 95 of 100 used: the 50, 75 and 90 % thresholds are crossed.
    let d = e.guard.consume(BRAND, METRIC, 95, None).await.unwrap();
    assert!(d.is_allowed());
    let started = start_checkout(
        &e.guard,
        &e.sim,
        &e.redirects,
        &e.pending,
        &request(METRIC, 100),
    )
    .await
    .unwrap();
    settle_simulated(
        &e.guard,
        &e.sim,
        &e.pending,
        &started.session.session_id,
        true,
    )
    .await
    .unwrap();
    // 95 of 200 = 47 %: every crossed threshold is released, with one resolution for the
    // highest (as the jump to 95 % was one alert, for 90 %).
    let timeline = e.guard.timeline(BRAND, 50).await.unwrap();
    let kinds: Vec<&str> = timeline.iter().map(|ev| ev.kind.name()).collect();
    assert_eq!(
        kinds,
        ["alert_resolved", "topup_completed", "threshold_crossed"],
        "{timeline:#?}"
    );
    assert!(matches!(
        timeline[0].kind,
        quota_core::report::EventKind::AlertResolved { threshold: 90, .. }
    ));
    let key = quota_core::store::CounterKey::new(BRAND, METRIC, timeline[0].period);
    assert!(
        quota_core::AlertStore::claimed_alerts(&**e.guard.store(), key)
            .await
            .unwrap()
            .is_empty()
    );
}
