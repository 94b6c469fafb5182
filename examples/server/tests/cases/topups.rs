//! Runbook section 6 over HTTP: the simulated checkout and the Stripe-style webhook.

use hmac::{Hmac, Mac};
use quota_core::Clock;
use serde_json::{Value, json};
use sha2::Sha256;

use crate::common::{Auth, Harness, Resp};

pub(crate) const WEBHOOK_SECRET: &str = "whsec_test_0123456789abcdef";

pub(crate) async fn checkout(h: &Harness, brand: &str, metric: &str, units: u64) -> Resp {
    h.post(
        "/api/v1/usage-billing/topups/checkout",
        json!({
            "brandId": brand, "metric": metric, "units": units,
            "successUrl": "/analytics?topup=success", "cancelUrl": "/analytics?topup=cancel",
        }),
        Auth::Admin,
    )
    .await
}

pub(crate) async fn history(h: &Harness, brand: &str) -> Vec<Value> {
    let r = h
        .get(
            &format!("/api/v1/usage-billing/topups?brandId={brand}"),
            Auth::Admin,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body["topups"].as_array().unwrap().clone()
}

pub(crate) fn no_redirect() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

pub(crate) async fn checkout_on_the_simulated_page_completes_the_topup(store: &str) {
    let h = Harness::start(store).await;
    let (brand, key) = h.brand("starter").await;
    assert_eq!(h.record(&brand, "ai_generations", 460).await.status, 200);

    let r = checkout(&h, &brand, "ai_generations", 50).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let url = r.body["checkoutUrl"].as_str().unwrap().to_owned();
    let session = r.body["sessionId"].as_str().unwrap().to_owned();
    assert_eq!(url, format!("{}/checkout/simulated/{session}", h.base));
    let pending = history(&h, &brand).await;
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0]["status"], "pending");
    assert_eq!(h.metric(&brand, "ai_generations").await["limit"], 500);

    // The page offers confirm and cancel as plain forms.
    let page = h.send(h.http.get(&url), Auth::None).await;
    assert_eq!(page.status, 200, "{}", page.text);
    assert!(
        page.text
            .contains(&format!("action=\"/checkout/simulated/{session}/confirm\""))
    );
    assert!(
        page.text
            .contains(&format!("action=\"/checkout/simulated/{session}/cancel\""))
    );

    let client = no_redirect();
    let admin = |rb: reqwest::RequestBuilder| rb.bearer_auth(&h.admin);
    let res = admin(client.post(format!("{url}/confirm")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 303);
    assert_eq!(
        res.headers()["location"].to_str().unwrap(),
        format!("{}/analytics?topup=success", h.base)
    );
    let done = history(&h, &brand).await;
    assert_eq!(done.len(), 1);
    assert_eq!(done[0]["status"], "completed");
    assert_eq!(done[0]["units"], 50);
    let m = h.metric(&brand, "ai_generations").await;
    assert_eq!(m["limit"], 550);
    assert_eq!(m["topupUnits"], 50);

    // A second press changes nothing.
    let res = admin(client.post(format!("{url}/confirm")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 303);
    assert_eq!(h.metric(&brand, "ai_generations").await["limit"], 550);
    // ... and cancelling a paid checkout is a conflict.
    let res = admin(client.post(format!("{url}/cancel")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 409);

    // Cancel: redirected to cancelUrl, the top-up is cancelled (not failed), the allowance
    // does not move.
    let r = checkout(&h, &brand, "ai_generations", 30).await;
    let url2 = r.body["checkoutUrl"].as_str().unwrap().to_owned();
    let res = admin(client.post(format!("{url2}/cancel")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 303);
    assert_eq!(
        res.headers()["location"].to_str().unwrap(),
        format!("{}/analytics?topup=cancel", h.base)
    );
    let all = history(&h, &brand).await;
    assert_eq!(all.len(), 2);
    assert!(all.iter().any(|t| t["status"] == "cancelled"), "{all:?}");
    assert!(all.iter().all(|t| t["status"] != "failed"), "{all:?}");
    assert_eq!(h.metric(&brand, "ai_generations").await["limit"], 550);

    // A metric the brand's plan sells no top-up of: 409. Unknown session: 404.
    checkout(&h, &brand, "renders_2d", 10)
        .await
        .assert_problem(409);
    let res = admin(client.post(format!("{}/checkout/simulated/cs_sim_nope/confirm", h.base)))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 404);
    // A brand key may buy for its own brand only.
    let other = h.brand("starter").await.0;
    let r = h
        .post(
            "/api/v1/usage-billing/topups/checkout",
            json!({ "brandId": other, "metric": "ai_generations", "units": 5,
                    "successUrl": "/s", "cancelUrl": "/c" }),
            Auth::Key(&key),
        )
        .await;
    r.assert_problem(403);
    h.server.stop().await.unwrap();
}

/// `Stripe-Signature` built by hand from Stripe's documented scheme:
/// `t=<unix>,v1=hex(HMAC-SHA256(secret, "<t>.<raw body>"))`.
pub(crate) fn stripe_signature(body: &[u8], secret: &str, t: i64) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.").as_bytes());
    mac.update(body);
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("t={t},v1={hex}")
}

pub(crate) async fn webhook(h: &Harness, body: &[u8], sig: Option<&str>) -> Resp {
    let mut rb = h
        .http
        .post(format!("{}/api/v1/usage-billing/topups/webhook", h.base))
        .header("content-type", "application/json")
        .body(body.to_vec());
    if let Some(s) = sig {
        rb = rb.header("Stripe-Signature", s);
    }
    h.send(rb, Auth::None).await
}

pub(crate) async fn a_stripe_signed_webhook_completes_the_topup_once(store: &str) {
    let h = Harness::start_with(store, |c| {
        c.webhook_secret = Some(WEBHOOK_SECRET.into());
    })
    .await;
    let (brand, _) = h.brand("starter").await;
    assert_eq!(h.record(&brand, "ai_generations", 460).await.status, 200);
    let r = checkout(&h, &brand, "ai_generations", 40).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let topup = r.body["topupId"].as_str().unwrap().to_owned();
    let session = r.body["sessionId"].as_str().unwrap().to_owned();
    let event = json!({
        "id": "evt_test_1",
        "object": "event",
        "type": "checkout.session.completed",
        "data": { "object": {
            "id": session, "object": "checkout.session", "payment_status": "paid",
            "client_reference_id": topup, "metadata": { "topup_id": topup },
        }},
    });
    let body = serde_json::to_vec(&event).unwrap();
    let now = h.clock.now().timestamp();

    // Refused, nothing changes: a signature that does not verify (wrong secret, stale, from
    // the future, over another body) is a 401, no header or garbage a 400.
    for (sig, status) in [
        (Some(stripe_signature(&body, "whsec_wrong", now)), 401),
        (
            Some(stripe_signature(&body, WEBHOOK_SECRET, now - 301)),
            401,
        ),
        (
            Some(stripe_signature(&body, WEBHOOK_SECRET, now + 301)),
            401,
        ),
        (None, 400),
        (Some("t=abc,v1=zz".to_owned()), 400),
        (Some(stripe_signature(b"{}", WEBHOOK_SECRET, now)), 401),
    ] {
        let r = webhook(&h, &body, sig.as_deref()).await;
        r.assert_problem(status);
        let t = history(&h, &brand).await;
        assert_eq!(t[0]["status"], "pending", "{t:?}");
        assert_eq!(h.metric(&brand, "ai_generations").await["limit"], 500);
    }

    // Signed like Stripe: completes; the allowance grows at once.
    let sig = stripe_signature(&body, WEBHOOK_SECRET, now - 10);
    let r = webhook(&h, &body, Some(&sig)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["result"], "completed");
    let m = h.metric(&brand, "ai_generations").await;
    assert_eq!(m["limit"], 540);
    assert_eq!(m["topupUnits"], 40);

    // Replays (same and re-signed) do not double it.
    for sig in [sig.clone(), stripe_signature(&body, WEBHOOK_SECRET, now)] {
        let r = webhook(&h, &body, Some(&sig)).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.body["result"], "already_completed");
    }
    let m = h.metric(&brand, "ai_generations").await;
    assert_eq!(m["limit"], 540);
    assert_eq!(m["topupUnits"], 40);
    let t = history(&h, &brand).await;
    assert_eq!(t.len(), 1);
    assert_eq!(t[0]["status"], "completed");
    h.server.stop().await.unwrap();
}

/// A local fake of Stripe's `POST /v1/checkout/sessions`: records what it got.
async fn fake_stripe() -> (
    String,
    std::sync::Arc<std::sync::Mutex<Vec<(String, String)>>>,
) {
    use axum::routing::post;
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let app = axum::Router::new().route(
        "/v1/checkout/sessions",
        post({
            let seen = std::sync::Arc::clone(&seen);
            move |headers: axum::http::HeaderMap, body: axum::body::Bytes| {
                let seen = std::sync::Arc::clone(&seen);
                async move {
                    let auth = headers
                        .get("authorization")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_owned();
                    seen.lock()
                        .unwrap()
                        .push((auth, String::from_utf8_lossy(&body).into_owned()));
                    axum::Json(json!({
                        "id": "cs_test_123",
                        "object": "checkout.session",
                        "url": "https://checkout.stripe.test/c/pay/cs_test_123",
                    }))
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    (format!("http://{addr}"), seen)
}

pub(crate) async fn with_a_stripe_key_checkout_goes_to_stripe_and_its_webhook_completes(
    store: &str,
) {
    let (base, seen) = fake_stripe().await;
    let h = Harness::start_with(store, |c| {
        c.checkout = quota_server::config::CheckoutMode::Auto;
        c.stripe = Some(quota_payments::StripeConfig::new("sk_test_wire7").api_base(&base));
        c.webhook_secret = Some(format!("whsec_old_one,{WEBHOOK_SECRET}"));
    })
    .await;
    let (brand, _) = h.brand("starter").await;
    let r = checkout(&h, &brand, "ai_generations", 25).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(
        r.body["checkoutUrl"],
        "https://checkout.stripe.test/c/pay/cs_test_123"
    );
    assert_eq!(r.body["sessionId"], "cs_test_123");
    let topup = r.body["topupId"].as_str().unwrap().to_owned();
    {
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 1);
        assert_eq!(seen[0].0, "Bearer sk_test_wire7");
        assert!(seen[0].1.contains(&topup), "{}", seen[0].1);
    }
    let body = serde_json::to_vec(&json!({
        "id": "evt_test_2", "object": "event", "type": "checkout.session.completed",
        "data": { "object": { "id": "cs_test_123", "object": "checkout.session",
            "payment_status": "paid", "client_reference_id": topup } },
    }))
    .unwrap();
    // Signed with the second of two rolling secrets.
    let now = h.clock.now().timestamp();
    let r = webhook(
        &h,
        &body,
        Some(&stripe_signature(&body, WEBHOOK_SECRET, now)),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["result"], "completed");
    assert_eq!(h.metric(&brand, "ai_generations").await["limit"], 525);
    h.server.stop().await.unwrap();
}

/// Every absolute URL comes from the configured public URL: a forged `Host` does not move the
/// checkout page.
pub(crate) async fn checkout_urls_come_from_the_public_url_not_the_host_header(store: &str) {
    let h = Harness::start(store).await;
    let (brand, _) = h.brand("pro").await;
    let rb = h
        .http
        .post(format!("{}/api/v1/usage-billing/topups/checkout", h.base))
        .header("Host", "evil.example")
        .json(&json!({
            "brandId": brand, "metric": "ai_generations", "units": 10,
            "successUrl": "/analytics?topup=success", "cancelUrl": "/analytics?topup=cancel",
        }));
    let r = h.send(rb, Auth::Admin).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let url = r.body["checkoutUrl"].as_str().unwrap();
    let session = r.body["sessionId"].as_str().unwrap();
    assert_eq!(url, format!("{}/checkout/simulated/{session}", h.base));
}
