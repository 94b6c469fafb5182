#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]
//! `StripeProvider` against a local fake Stripe (axum on a random loopback port): the form it
//! posts, the answers it reads, the errors it maps. Never the network.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::{Form, Json, Router};
use chrono::Utc;
use quota_core::topup::TopUpStatus;
use quota_core::{Catalog, Currency, MemoryStore, Money, QuotaGuard, Subscription};
use quota_payments::{
    CheckoutError, CheckoutRequest, PaymentError, PaymentProvider, StartCheckout, StripeConfig,
    StripeProvider, start_checkout,
};

#[derive(Clone, Debug)]
struct Seen {
    auth: Option<String>,
    idempotency: Option<String>,
    form: HashMap<String, String>,
}

#[derive(Clone, Default)]
struct Fake {
    seen: Arc<Mutex<Vec<Seen>>>,
    fail: Arc<Mutex<Option<(StatusCode, String)>>>,
}

async fn create_session(
    State(fake): State<Fake>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> (StatusCode, Json<serde_json::Value>) {
    let h = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    fake.seen.lock().unwrap().push(Seen {
        auth: h("authorization"),
        idempotency: h("idempotency-key"),
        form,
    });
    if let Some((status, body)) = fake.fail.lock().unwrap().clone() {
        return (status, Json(serde_json::from_str(&body).unwrap()));
    }
    (
        StatusCode::OK,
        Json(serde_json::json!({
            "id": "cs_test_123",
            "object": "checkout.session",
            "url": "https://checkout.stripe.test/c/pay/cs_test_123"
        })),
    )
}

async fn serve(fake: Fake) -> String {
    let app = Router::new()
        .route("/v1/checkout/sessions", post(create_session))
        .with_state(fake);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    format!("http://{addr}")
}

fn provider(base: &str) -> StripeProvider {
    StripeProvider::new(
        StripeConfig::new("sk_test_123")
            .api_base(base)
            .timeout(Duration::from_secs(5)),
    )
    .unwrap()
}

fn request() -> CheckoutRequest {
    CheckoutRequest::new(
        "brand_dashboard",
        "ai_generations",
        50,
        "tu_1",
        Money::new(500, Currency::EUR),
        "http://localhost:3000/analytics?topup=success",
        "http://localhost:3000/analytics?topup=cancel",
    )
}

#[tokio::test]
async fn creates_a_checkout_session_with_the_topup_in_metadata() {
    let fake = Fake::default();
    let base = serve(fake.clone()).await;
    let session = provider(&base).create_checkout(&request()).await.unwrap();
    assert_eq!(session.session_id, "cs_test_123");
    assert_eq!(
        session.checkout_url,
        "https://checkout.stripe.test/c/pay/cs_test_123"
    );

    let seen = fake.seen.lock().unwrap();
    assert_eq!(seen.len(), 1);
    let s = &seen[0];
    assert_eq!(s.auth.as_deref(), Some("Bearer sk_test_123"));
    assert_eq!(s.idempotency.as_deref(), Some("checkout-tu_1"));
    let f = &s.form;
    assert_eq!(f["mode"], "payment");
    assert_eq!(
        f["success_url"],
        "http://localhost:3000/analytics?topup=success"
    );
    assert_eq!(
        f["cancel_url"],
        "http://localhost:3000/analytics?topup=cancel"
    );
    assert_eq!(f["client_reference_id"], "tu_1");
    assert_eq!(f["line_items[0][quantity]"], "1");
    assert_eq!(f["line_items[0][price_data][currency]"], "eur");
    assert_eq!(f["line_items[0][price_data][unit_amount]"], "500");
    assert_eq!(f["metadata[brand]"], "brand_dashboard");
    assert_eq!(f["metadata[metric]"], "ai_generations");
    assert_eq!(f["metadata[units]"], "50");
    assert_eq!(f["metadata[topup_id]"], "tu_1");
}

#[tokio::test]
async fn a_stripe_refusal_is_a_typed_error_with_its_message() {
    let fake = Fake::default();
    *fake.fail.lock().unwrap() = Some((
        StatusCode::BAD_REQUEST,
        r#"{"error":{"type":"invalid_request_error","message":"Invalid currency"}}"#.into(),
    ));
    let base = serve(fake.clone()).await;
    let err = provider(&base)
        .create_checkout(&request())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, PaymentError::Rejected { status: 400, message } if message == "invalid_request_error: Invalid currency"),
        "{err:?}"
    );
}

#[tokio::test]
async fn an_unreachable_stripe_is_a_typed_error() {
    // Bind then drop: the port is closed.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let err = provider(&format!("http://{addr}"))
        .create_checkout(&request())
        .await
        .unwrap_err();
    assert!(matches!(err, PaymentError::Unreachable { .. }), "{err:?}");
}

#[test]
fn the_configuration_is_checked() {
    assert!(matches!(
        StripeProvider::new(StripeConfig::new("")),
        Err(PaymentError::Config(_))
    ));
    assert!(matches!(
        StripeProvider::new(StripeConfig::new("sk").api_base("ftp://x")),
        Err(PaymentError::Config(_))
    ));
    let p = StripeProvider::new(StripeConfig::new("sk_live_secret")).unwrap();
    assert_eq!(p.name(), "stripe");
    assert!(!format!("{p:?}").contains("sk_live_secret"));
}

#[tokio::test]
async fn start_checkout_through_stripe_and_a_failure_leaves_no_pending_topup() {
    let guard = QuotaGuard::new(Catalog::demo(), Arc::new(MemoryStore::new()));
    guard
        .subscribe(Subscription::new("brand_dashboard", "pro", Utc::now()))
        .await
        .unwrap();
    let fake = Fake::default();
    let base = serve(fake.clone()).await;
    let stripe = provider(&base);
    let req = StartCheckout::new(
        "brand_dashboard",
        "ai_generations",
        30,
        "http://localhost:3000/analytics?topup=success",
        "http://localhost:3000/analytics?topup=cancel",
    );
    let redirects = quota_payments::RedirectPolicy::new("http://localhost:3000").unwrap();
    let pending = quota_payments::PendingCheckouts::default();
    let started = start_checkout(&guard, &stripe, &redirects, &pending, &req)
        .await
        .unwrap();
    assert_eq!(started.session.session_id, "cs_test_123");
    // Pro plan: 5 cents a unit.
    assert_eq!(started.amount.amount_minor, 150);
    {
        let seen = fake.seen.lock().unwrap();
        assert_eq!(seen[0].form["metadata[topup_id]"], started.topup.id);
        // The session closes with the pending top-up, an hour after it started.
        assert_eq!(
            seen[0].form["expires_at"],
            started.topup.expires_at.timestamp().to_string()
        );
        assert_eq!(
            started.topup.expires_at - started.topup.created_at,
            chrono::Duration::hours(1)
        );
        assert_eq!(
            seen[0].form["line_items[0][price_data][unit_amount]"],
            "150"
        );
    }

    *fake.fail.lock().unwrap() = Some((
        StatusCode::INTERNAL_SERVER_ERROR,
        r#"{"error":{"type":"api_error","message":"boom"}}"#.into(),
    ));
    let err = start_checkout(&guard, &stripe, &redirects, &pending, &req)
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        CheckoutError::Provider(PaymentError::Rejected { status: 500, .. })
    ));
    assert_eq!(err.http_status(), 502);
    let topups = guard.topups("brand_dashboard").await.unwrap();
    assert_eq!(topups.len(), 2);
    for t in &topups {
        let expected = if t.id == started.topup.id {
            TopUpStatus::Pending
        } else {
            TopUpStatus::Failed
        };
        assert_eq!(t.status, expected, "{t:?}");
    }
}
