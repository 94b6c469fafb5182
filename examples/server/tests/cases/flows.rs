//! Runbook sections 3 and 6 over HTTP: alert delivery to Slack and email stand-ins, share
//! links (page and refusals), the simulated checkout and the Stripe-style webhook.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use quota_core::Clock;
use quota_notify::{NotifyConfig, RetryPolicy};
use quota_share::token::sign;
use quota_share::{ShareClaims, ShareKey};
use serde_json::{Value, json};
use sha2::Sha256;

use crate::common::{Auth, Harness, Resp};
use quota_axum::state::Alerts;
use quota_notify::testing::{HttpReceiver, SmtpSink, wait_idle, wait_quiet};

const OLD_SECRET: &str = "previous-share-key-secret-0123456789abcdef";
const NEW_SECRET: &str = "current-share-key-secret-0123456789abcdefgh";
const WEBHOOK_SECRET: &str = "whsec_test_0123456789abcdef";

fn notify_config(slack: &str, smtp: &str) -> NotifyConfig {
    NotifyConfig::builder()
        .slack(slack)
        .email(smtp, vec!["ops@example.test".into()], "quota@example.test")
        .min_threshold(90)
        .poll_interval(Duration::from_millis(50))
        .retry(RetryPolicy::new(
            8,
            Duration::from_millis(100),
            Duration::from_millis(400),
        ))
        .build()
        .unwrap()
}

const WAIT: Duration = Duration::from_secs(30);

fn alerts(h: &Harness) -> &Alerts {
    h.server.state.alerts.as_ref().unwrap()
}

/// Waits until every alert raised so far went out (or was given up): nothing pending in the
/// outbox, nothing in flight. What the sinks hold then is all they get.
async fn idle(h: &Harness) {
    let a = alerts(h);
    wait_idle(&a.delivery, &a.listener, WAIT).await;
}

/// Waits until nothing is due nor in flight: failed attempts wait for their backoff on the
/// (fake, stopped) clock.
async fn quiet(h: &Harness) {
    let a = alerts(h);
    wait_quiet(&a.delivery, &a.listener, WAIT).await;
}

/// Slack posts about `brand` (the seeded demo brand raises alerts of its own).
fn slack_posts(r: &HttpReceiver, brand: &str) -> Vec<Value> {
    r.requests()
        .iter()
        .filter(|q| String::from_utf8_lossy(&q.body).contains(brand))
        .map(|q| q.json())
        .collect()
}

fn mails_about(s: &SmtpSink, brand: &str) -> usize {
    s.mails().iter().filter(|m| m.data.contains(brand)).count()
}

pub(crate) async fn alerts_past_90_reach_slack_and_email_once(store: &str) {
    let slack = HttpReceiver::start().await;
    let smtp = SmtpSink::start().await;
    let cfg = notify_config(&slack.url("/slack"), &smtp.url());
    let h = Harness::start_with(store, |c| c.notify = Some(cfg)).await;
    let (brand, _) = h.brand("starter").await;

    // 0 -> 92 % of 500 crosses 50, 75 and 90 %: only 90 % is at or above the minimum.
    let r = h.record(&brand, "ai_generations", 460).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["status"], "critical");
    idle(&h).await;
    let posts = slack_posts(&slack, &brand);
    assert_eq!(posts.len(), 1, "{posts:?}");
    assert_eq!(mails_about(&smtp, &brand), 1);
    let text = posts[0].to_string();
    assert!(text.contains("90"), "no threshold in {text}");
    assert!(text.contains("ai_generations"), "no metric in {text}");
    // The seeded demo brand's seats, set straight to the limit, are the only other alert:
    // one, for the highest threshold crossed (100 %, blocked).
    assert_eq!(slack.count(), 2, "{:?}", slack.requests());
    assert_eq!(smtp.count(), 2);

    // More usage under the same threshold: nothing new.
    assert_eq!(h.record(&brand, "ai_generations", 5).await.status, 200);
    idle(&h).await;
    assert_eq!(slack_posts(&slack, &brand).len(), 1);
    assert_eq!(mails_about(&smtp, &brand), 1);

    // A top-up of 100 (465 of 600 = 77 %) brings usage back under 90 %: one `resolved`
    // alert per sink follows.
    let r = checkout(&h, &brand, "ai_generations", 100).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let url = r.body["checkoutUrl"].as_str().unwrap().to_owned();
    let res = no_redirect()
        .post(format!("{url}/confirm"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 303);
    idle(&h).await;
    let posts = slack_posts(&slack, &brand);
    assert_eq!(posts.len(), 2, "{posts:?}");
    assert!(
        posts[1].to_string().contains("resolved"),
        "second post is not a resolution: {}",
        posts[1]
    );
    assert_eq!(mails_about(&smtp, &brand), 2);
    let stats = alerts(&h).delivery.stats();
    assert_eq!(stats.delivered(), 6, "3 alerts x 2 sinks");
    assert_eq!(stats.retried(), 0);
    h.server.stop().await.unwrap();
}

pub(crate) async fn an_alert_waits_for_a_receiver_that_is_down_and_arrives_once(store: &str) {
    // Slack's port is bound from the start but does not listen: connections are refused.
    let down = HttpReceiver::reserve();
    let smtp = SmtpSink::start().await;
    let cfg = notify_config(&down.url("/slack"), &smtp.url());
    let h = Harness::start_with(store, |c| c.notify = Some(cfg)).await;
    let (brand, _) = h.brand("starter").await;
    assert_eq!(h.record(&brand, "ai_generations", 460).await.status, 200);

    // Email goes out at once. Every Slack message (this brand's 90 %, the seeded brand's
    // seats at 100 %) fails once and waits for its backoff on the stopped fake clock.
    quiet(&h).await;
    assert_eq!(mails_about(&smtp, &brand), 1);
    let stats = alerts(&h).delivery.stats();
    assert_eq!(stats.retried(), 2, "one failed Slack attempt per message");
    assert_eq!(stats.delivered(), 2, "the two emails");
    let outbox = &alerts(&h).outbox;
    let waiting = outbox
        .outbox_records("slack", quota_core::OutboxStatus::Pending, 10)
        .await
        .unwrap();
    assert_eq!(waiting.len(), 2);
    for m in &waiting {
        assert_eq!(m.attempts, 1, "{m:?}");
        let error = m.last_error.as_deref().unwrap_or_default();
        assert!(error.contains("cannot connect"), "{error}");
        assert!(m.message.due_at > h.clock.now(), "rescheduled later: {m:?}");
    }

    // Slack comes back; the retries fall due when the clock moves past the backoff.
    let slack = down.start();
    h.clock.advance(chrono::Duration::seconds(1));
    idle(&h).await;
    assert_eq!(slack_posts(&slack, &brand).len(), 1);
    assert_eq!(slack.count(), 2);
    assert_eq!(mails_about(&smtp, &brand), 1);
    assert_eq!(stats.retried(), 2);
    assert_eq!(stats.delivered(), 4);
    let delivered = outbox
        .outbox_records("slack", quota_core::OutboxStatus::Delivered, 10)
        .await
        .unwrap();
    assert_eq!(delivered.len(), 2);
    assert!(delivered.iter().all(|m| m.attempts == 2), "{delivered:?}");
    h.server.stop().await.unwrap();
}

async fn share(h: &Harness, brand: &str, ttl_ms: Option<u64>) -> Resp {
    let mut body = json!({ "brandId": brand });
    if let Some(t) = ttl_ms {
        body["ttlMs"] = t.into();
    }
    h.post("/api/v1/usage-billing/share", body, Auth::Admin)
        .await
}

async fn page(h: &Harness, token: &str) -> Resp {
    h.get(&format!("/share/quota/{token}"), Auth::None).await
}

fn assert_invalid(r: &Resp, status: u16, brand: &str) {
    assert_eq!(r.status, status, "{}", r.text);
    assert!(r.text.contains("Lien invalide"), "{}", r.text);
    assert!(!r.text.contains(brand), "data leaked: {}", r.text);
    assert!(
        !r.text.contains("ai_generations"),
        "data leaked: {}",
        r.text
    );
    assert!(!r.text.contains("metric-card"), "data leaked: {}", r.text);
}

pub(crate) async fn share_links_show_the_snapshot_and_refuse_every_bad_token(store: &str) {
    let keys = format!("k2:{NEW_SECRET},k1:{OLD_SECRET}");
    let h = Harness::start_with(store, |c| c.share_keys = Some(keys)).await;
    let (brand, key) = h.brand("starter").await;
    assert_eq!(h.record(&brand, "ai_generations", 120).await.status, 200);

    let r = share(&h, &brand, None).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let token = r.body["token"].as_str().unwrap().to_owned();
    let id = r.body["id"].as_str().unwrap().to_owned();
    assert_eq!(
        r.body["url"],
        format!("http://localhost:3000/share/quota/{token}")
    );
    assert!(r.body["expiresAt"].as_str().is_some());

    // The page: plan, metrics with used / limit / %, timeline; read-only; French by default.
    let p = page(&h, &token).await;
    assert_eq!(p.status, 200, "{}", p.text);
    assert!(p.header("content-type").unwrap().starts_with("text/html"));
    assert_eq!(p.header("cache-control").as_deref(), Some("no-store"));
    for needle in [
        brand.as_str(),
        "Consommation des quotas",
        "Starter",
        "data-metric=\"ai_generations\"",
        "data-testid=\"metric-used\">120<",
        "data-testid=\"metric-limit\">500<",
        "data-testid=\"metric-percent\">24 %<",
        "id=\"timeline\"",
    ] {
        assert!(p.text.contains(needle), "{needle:?} missing: {}", p.text);
    }
    for forbidden in ["<form", "<button", "method=\"post\""] {
        assert!(
            !p.text.contains(forbidden),
            "{forbidden} on a read-only page"
        );
    }
    let en = h
        .get(&format!("/share/quota/{token}?lang=en"), Auth::None)
        .await;
    assert!(en.text.contains("Quota usage"), "{}", en.text);
    let rb = h
        .http
        .get(format!("{}/share/quota/{token}", h.base))
        .header("accept-language", "en-GB,en;q=0.8,fr;q=0.5");
    let en = h.send(rb, Auth::None).await;
    assert!(en.text.contains("Quota usage"), "{}", en.text);

    // Only admins issue links.
    let r = h
        .post(
            "/api/v1/usage-billing/share",
            json!({ "brandId": brand }),
            Auth::Key(&key),
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.text);
    let r = h
        .post(
            "/api/v1/usage-billing/share",
            json!({ "brandId": brand }),
            Auth::None,
        )
        .await;
    assert_eq!(r.status, 401, "{}", r.text);
    assert_eq!(share(&h, "brand_nobody_knows", None).await.status, 404);
    assert_eq!(share(&h, &brand, Some(0)).await.status, 400);

    // Tampered: one character of the signature, then of the claims.
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    assert_eq!(parts.len(), 3);
    let flip = |s: &str| {
        let mut c: Vec<char> = s.chars().collect();
        c[3] = if c[3] == 'A' { 'B' } else { 'A' };
        c.into_iter().collect::<String>()
    };
    let sig = parts[2].clone();
    parts[2] = flip(&sig);
    assert_invalid(&page(&h, &parts.join(".")).await, 404, &brand);
    parts[2] = sig;
    let mut claims: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(&parts[1]).unwrap()).unwrap();
    claims["brand"] = json!("brand_dashboard");
    parts[1] = URL_SAFE_NO_PAD.encode(claims.to_string());
    assert_invalid(&page(&h, &parts.join(".")).await, 404, &brand);

    // The runbook's unsigned base64(JSON), and a JWS with alg none.
    let exp = h.clock.now().timestamp() + 3600;
    let runbook = json!({ "brandId": brand, "brand": brand, "exp": exp });
    assert_invalid(
        &page(&h, &STANDARD.encode(runbook.to_string())).await,
        404,
        &brand,
    );
    assert_invalid(
        &page(&h, &URL_SAFE_NO_PAD.encode(runbook.to_string())).await,
        404,
        &brand,
    );
    let none = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#),
        URL_SAFE_NO_PAD.encode(runbook.to_string())
    );
    assert_invalid(&page(&h, &none).await, 404, &brand);
    assert_invalid(&page(&h, "not-a-token").await, 404, &brand);

    // Other keys: an unknown kid, and our kid with another secret.
    let now = h.clock.now().timestamp();
    let claims = ShareClaims::new("sh_0123456789abcdef", brand.clone(), now, now + 3600);
    let stranger = ShareKey::new("k9", "a-stranger-key-secret-0123456789abcdef").unwrap();
    assert_invalid(&page(&h, &sign(&stranger, &claims)).await, 404, &brand);
    let forged = ShareKey::new("k2", "not-the-k2-secret-at-all-0123456789abcdef").unwrap();
    assert_invalid(&page(&h, &sign(&forged, &claims)).await, 404, &brand);

    // A token signed with the previous key still opens the page during rotation.
    let old = ShareKey::new("k1", OLD_SECRET).unwrap();
    let p = page(&h, &sign(&old, &claims)).await;
    assert_eq!(p.status, 200, "{}", p.text);
    assert!(p.text.contains("data-testid=\"metric-used\">120<"));

    // Revoked: 410, and stays so.
    let r = h
        .send(
            h.http
                .delete(format!("{}/api/v1/usage-billing/share/{id}", h.base)),
            Auth::Admin,
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.text);
    assert_invalid(&page(&h, &token).await, 410, &brand);
    let r = h
        .send(
            h.http
                .delete(format!("{}/api/v1/usage-billing/share/{id}", h.base)),
            Auth::Admin,
        )
        .await;
    assert_eq!(r.status, 204, "revoking twice is fine: {}", r.text);
    if store.starts_with("postgres") || store.starts_with("redis") {
        // Revocations live in the shared store: another instance on it refuses too.
        let keys = format!("k2:{NEW_SECRET},k1:{OLD_SECRET}");
        let h2 = Harness::start_with(store, |c| c.share_keys = Some(keys)).await;
        assert_invalid(&page(&h2, &token).await, 410, &brand);
        h2.server.stop().await.unwrap();
    }
    let r = h
        .send(
            h.http
                .delete(format!("{}/api/v1/usage-billing/share/bad%20id", h.base)),
            Auth::Admin,
        )
        .await;
    r.assert_problem(400);

    // Expired: 410.
    let r = share(&h, &brand, Some(1_000)).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let short = r.body["token"].as_str().unwrap().to_owned();
    assert_eq!(page(&h, &short).await.status, 200);
    h.clock.advance(chrono::Duration::seconds(2));
    assert_invalid(&page(&h, &short).await, 410, &brand);
    let en = h
        .get(&format!("/share/quota/{short}?lang=en"), Auth::None)
        .await;
    assert_eq!(en.status, 410);
    assert!(en.text.contains("Invalid link"), "{}", en.text);
    h.server.stop().await.unwrap();
}

async fn checkout(h: &Harness, brand: &str, metric: &str, units: u64) -> Resp {
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

async fn history(h: &Harness, brand: &str) -> Vec<Value> {
    let r = h
        .get(
            &format!("/api/v1/usage-billing/topups?brandId={brand}"),
            Auth::Admin,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body["topups"].as_array().unwrap().clone()
}

fn no_redirect() -> reqwest::Client {
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
    let res = client.post(format!("{url}/confirm")).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 303);
    assert_eq!(
        res.headers()["location"].to_str().unwrap(),
        "/analytics?topup=success"
    );
    let done = history(&h, &brand).await;
    assert_eq!(done.len(), 1);
    assert_eq!(done[0]["status"], "completed");
    assert_eq!(done[0]["units"], 50);
    let m = h.metric(&brand, "ai_generations").await;
    assert_eq!(m["limit"], 550);
    assert_eq!(m["topupUnits"], 50);

    // A second press changes nothing.
    let res = client.post(format!("{url}/confirm")).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 303);
    assert_eq!(h.metric(&brand, "ai_generations").await["limit"], 550);
    // ... and cancelling a paid checkout is a conflict.
    let res = client.post(format!("{url}/cancel")).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 409);

    // Cancel: redirected to cancelUrl, the top-up is cancelled (not failed), the allowance
    // does not move.
    let r = checkout(&h, &brand, "ai_generations", 30).await;
    let url2 = r.body["checkoutUrl"].as_str().unwrap().to_owned();
    let res = client.post(format!("{url2}/cancel")).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 303);
    assert_eq!(
        res.headers()["location"].to_str().unwrap(),
        "/analytics?topup=cancel"
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
    let res = client
        .post(format!("{}/checkout/simulated/cs_sim_nope/confirm", h.base))
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
fn stripe_signature(body: &[u8], secret: &str, t: i64) -> String {
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

async fn webhook(h: &Harness, body: &[u8], sig: Option<&str>) -> Resp {
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

/// The cockpit, the share page it issues and the monitoring page render from this store.
pub(crate) async fn the_pages_render_from_the_store(store: &str) {
    use crate::common::html::{Browser, attr, metric_card, text};
    let h = Harness::start(store).await;
    let (brand, _) = h.brand("starter").await;
    assert_eq!(h.record(&brand, "ai_generations", 120).await.status, 200);
    let b = Browser::admin(&h);
    let r = b.get(&format!("/analytics?brandId={brand}&lang=en")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let card = metric_card(&r.text, "ai_generations");
    assert_eq!(text(card, "metric-used").unwrap(), "120");
    assert_eq!(text(card, "metric-percent").unwrap(), "24%");
    let r = b
        .post_form(
            "/analytics/share",
            &[("brandId", brand.as_str()), ("lang", "fr")],
            &[],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let url = attr(&r.text, "share-url", "value").unwrap();
    let path = url.strip_prefix("http://localhost:3000").unwrap();
    let p = Browser::anonymous(&h).get(path).await;
    assert_eq!(p.status, 200, "{}", p.text);
    let card = metric_card(&p.text, "ai_generations");
    assert_eq!(text(card, "metric-used").unwrap(), "120");
    assert!(!p.text.contains("<form"));
    let m = b.get("/monitoring").await;
    let kind = store.split(':').next().unwrap();
    let kind = if kind.starts_with("postgres") {
        "postgres"
    } else if kind.starts_with("redis") {
        "redis"
    } else {
        kind
    };
    assert_eq!(attr(&m.text, "store-health", "data-store").unwrap(), kind);
    assert_eq!(attr(&m.text, "store-health", "data-ok").unwrap(), "true");
    h.server.stop().await.unwrap();
}
