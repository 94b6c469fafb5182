//! What keeps the money path safe over HTTP: redirects stay on the public origin, the
//! simulated checkout is off unless asked for and is settled by its creator from this site
//! only, a checkout's units are bounded, a brand's open checkouts are capped and expire (in
//! the store: a late Stripe payment does not complete them either), the history is paged, and
//! every refusal is problem+json.

use quota_core::Clock;
use serde_json::json;

use super::topups::{WEBHOOK_SECRET, history, no_redirect, stripe_signature, webhook};
use crate::common::{Auth, Harness, Resp};

async fn checkout_with(
    h: &Harness,
    brand: &str,
    units: u64,
    ok: &str,
    ko: &str,
    auth: Auth<'_>,
) -> Resp {
    h.post(
        "/api/v1/usage-billing/topups/checkout",
        json!({ "brandId": brand, "metric": "ai_generations", "units": units,
                "successUrl": ok, "cancelUrl": ko }),
        auth,
    )
    .await
}

pub(crate) async fn checkout_redirects_stay_on_the_public_origin(store: &str) {
    let h = Harness::start(store).await;
    let (brand, _) = h.brand("starter").await;
    let base = h.base.clone();
    let host = base.trim_start_matches("http://").to_owned();
    let (ip, port) = host.rsplit_once(':').unwrap();
    let other_port = format!("http://{ip}:{}/x", port.parse::<u16>().unwrap() ^ 1);
    let bad = [
        "https://evil.example/x".to_owned(),
        "//evil.example".to_owned(),
        "//evil.example/analytics".to_owned(),
        "/\\evil.example".to_owned(),
        "\\\\evil.example".to_owned(),
        "http://evil.example/".to_owned(),
        format!("https://{host}/x"),
        other_port,
        format!("http://{host}@evil.example/x"),
        format!("http://user:pw@{host}/x"),
        format!("http://{host}.evil.example/x"),
        "javascript:alert(1)".to_owned(),
        "analytics".to_owned(),
        "/x\r\nSet-Cookie: a=b".to_owned(),
    ];
    for target in &bad {
        for (ok, ko, field) in [
            (target.as_str(), "/ko", "successUrl"),
            ("/ok", target.as_str(), "cancelUrl"),
        ] {
            let r = checkout_with(&h, &brand, 5, ok, ko, Auth::Admin).await;
            let p = r.assert_problem(422);
            assert_eq!(p["field"], field, "{target}: {}", r.text);
        }
    }
    assert!(
        history(&h, &brand).await.is_empty(),
        "a refused checkout stores nothing"
    );

    // Paths and URLs on the public origin (any case, explicit default port) are accepted
    // and handed on absolute.
    for (ok, want) in [
        (
            "/analytics?topup=success".to_owned(),
            format!("{base}/analytics?topup=success"),
        ),
        (
            format!("{}/Back", base.to_uppercase()),
            format!("{base}/Back"),
        ),
    ] {
        let r = checkout_with(&h, &brand, 5, &ok, "/ko", Auth::Admin).await;
        assert_eq!(r.status, 201, "{ok}: {}", r.text);
        let url = r.body["checkoutUrl"].as_str().unwrap();
        let res = no_redirect()
            .post(format!("{url}/confirm"))
            .bearer_auth(&h.admin)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), 303);
        assert_eq!(res.headers()["location"].to_str().unwrap(), want);
    }
    h.server.stop().await.unwrap();
}

async fn history_page(h: &Harness, brand: &str, q: &str) -> Resp {
    h.get(
        &format!("/api/v1/usage-billing/topups?brandId={brand}{q}"),
        Auth::Admin,
    )
    .await
}

/// A confirm or cancel with these headers on `url`.
async fn settle(url: &str, action: &str, headers: &[(&str, &str)]) -> Resp {
    let mut rb = no_redirect().post(format!("{url}/{action}"));
    for (k, v) in headers {
        rb = rb.header(*k, *v);
    }
    let res = rb.send().await.unwrap();
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    let text = res.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(serde_json::Value::Null);
    Resp {
        status,
        headers,
        text,
        body,
    }
}

pub(crate) async fn the_simulated_checkout_is_settled_by_its_creator_from_this_site_only(
    store: &str,
) {
    let h = Harness::start(store).await;
    let (brand, key) = h.brand("starter").await;
    let (_, other_key) = h.brand("starter").await;
    let r = checkout_with(&h, &brand, 7, "/ok", "/ko", Auth::Key(&key)).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let url = r.body["checkoutUrl"].as_str().unwrap().to_owned();
    let bearer = format!("Bearer {}", h.admin);
    // The cockpit's cookie holds a sign-in session, as `POST /login` opens it.
    let state = &h.server.state;
    let (session, _) = state.sessions.open(&state.secrets, u64::MAX).unwrap();
    let cookie = format!("quota_admin={session}");
    let origin = h.base.clone();
    for (what, headers, status) in [
        ("no credentials", vec![], 401),
        (
            "a forged token",
            vec![("authorization", "Bearer nope.nope.nope")],
            401,
        ),
        (
            "another brand's key",
            vec![("x-api-key", other_key.as_str())],
            403,
        ),
        (
            "a cross-site browser",
            vec![
                ("x-api-key", key.as_str()),
                ("sec-fetch-site", "cross-site"),
            ],
            403,
        ),
        (
            "another Origin",
            vec![
                ("x-api-key", key.as_str()),
                ("origin", "http://evil.example"),
            ],
            403,
        ),
        (
            "the admin cookie, cross-origin",
            vec![
                ("cookie", cookie.as_str()),
                ("origin", "http://evil.example"),
            ],
            403,
        ),
    ] {
        for action in ["confirm", "cancel"] {
            let r = settle(&url, action, &headers).await;
            r.assert_problem(status);
            assert!(r.text.len() > 10, "{what}");
        }
        let t = history(&h, &brand).await;
        assert_eq!(t[0]["status"], "pending", "{what}: {t:?}");
        assert_eq!(
            h.metric(&brand, "ai_generations").await["topupUnits"],
            0,
            "{what}"
        );
    }
    // The creator's key, from this site: paid.
    let r = settle(
        &url,
        "confirm",
        &[("x-api-key", key.as_str()), ("origin", origin.as_str())],
    )
    .await;
    assert_eq!(r.status, 303, "{}", r.text);
    assert_eq!(h.metric(&brand, "ai_generations").await["topupUnits"], 7);

    // An admin (bearer, or the cockpit's cookie from a same-origin page) settles any.
    for headers in [
        vec![("authorization", bearer.as_str())],
        vec![
            ("cookie", cookie.as_str()),
            ("sec-fetch-site", "same-origin"),
        ],
    ] {
        let r = checkout_with(&h, &brand, 1, "/ok", "/ko", Auth::Key(&key)).await;
        let url = r.body["checkoutUrl"].as_str().unwrap().to_owned();
        let r = settle(&url, "cancel", &headers).await;
        assert_eq!(r.status, 303, "{}", r.text);
    }
    // An admin's checkout is not the brand's to settle.
    let r = checkout_with(&h, &brand, 1, "/ok", "/ko", Auth::Admin).await;
    let url = r.body["checkoutUrl"].as_str().unwrap().to_owned();
    settle(&url, "confirm", &[("x-api-key", key.as_str())])
        .await
        .assert_problem(403);
    h.server.stop().await.unwrap();
}

pub(crate) async fn checkout_units_are_bounded_and_open_checkouts_capped_until_they_expire(
    store: &str,
) {
    let h = Harness::start_with(store, |c| {
        c.max_pending_checkouts = 3;
        c.webhook_secret = Some(WEBHOOK_SECRET.into());
    })
    .await;
    let (brand, key) = h.brand("starter").await;
    // The demo catalog's bound: 10^6 units per checkout.
    let r = checkout_with(&h, &brand, 1_000_001, "/ok", "/ko", Auth::Admin).await;
    r.assert_problem(422);
    checkout_with(&h, &brand, 1_000_000_000, "/ok", "/ko", Auth::Key(&key))
        .await
        .assert_problem(422);
    assert!(history(&h, &brand).await.is_empty());

    let mut started = Vec::new();
    for _ in 0..3 {
        let r = checkout_with(&h, &brand, 10, "/ok", "/ko", Auth::Key(&key)).await;
        assert_eq!(r.status, 201, "{}", r.text);
        started.push(r.body.clone());
    }
    let r = checkout_with(&h, &brand, 10, "/ok", "/ko", Auth::Admin).await;
    let p = r.assert_problem(429);
    assert_eq!(p["maxPending"], 3);
    assert_eq!(
        history(&h, &brand).await.len(),
        3,
        "the refused checkout stored nothing"
    );
    // Another brand is not held back.
    let (other, _) = h.brand("starter").await;
    assert_eq!(
        checkout_with(&h, &other, 10, "/ok", "/ko", Auth::Admin)
            .await
            .status,
        201
    );

    // An hour later (the checkout lifetime) the three have expired: the page cannot pay them,
    // the store does not complete them for a late Stripe event either, and the slots are free.
    h.clock.advance(chrono::Duration::hours(1));
    let url = started[0]["checkoutUrl"].as_str().unwrap();
    settle(url, "confirm", &[("x-api-key", key.as_str())])
        .await
        .assert_problem(410);
    let topup = started[1]["topupId"].as_str().unwrap();
    let event = serde_json::to_vec(&json!({
        "id": "evt_late", "object": "event", "type": "checkout.session.completed",
        "data": { "object": { "id": "cs_late", "object": "checkout.session",
            "payment_status": "paid", "client_reference_id": topup } },
    }))
    .unwrap();
    let sig = stripe_signature(&event, WEBHOOK_SECRET, h.clock.now().timestamp());
    webhook(&h, &event, Some(&sig)).await.assert_problem(409);
    assert_eq!(h.metric(&brand, "ai_generations").await["topupUnits"], 0);
    let t = history(&h, &brand).await;
    assert!(t.iter().all(|t| t["status"] == "expired"), "{t:?}");
    let page = h.send(h.http.get(url), Auth::None).await;
    assert!(
        page.text.contains("data-testid=\"checkout-expired\""),
        "{}",
        page.text
    );
    for _ in 0..3 {
        let r = checkout_with(&h, &brand, 10, "/ok", "/ko", Auth::Key(&key)).await;
        assert_eq!(r.status, 201, "{}", r.text);
    }

    // The history, a page at a time, newest first.
    let all = history(&h, &brand).await;
    assert_eq!(all.len(), 6);
    let p1 = history_page(&h, &brand, "&limit=4").await;
    assert_eq!(p1.body["topups"].as_array().unwrap()[..], all[..4]);
    assert_eq!(p1.body["nextOffset"], 4);
    let p2 = history_page(&h, &brand, "&limit=4&offset=4").await;
    assert_eq!(p2.body["topups"].as_array().unwrap()[..], all[4..]);
    assert!(p2.body.get("nextOffset").is_none(), "{}", p2.text);
    for q in ["&limit=0", "&limit=201", "&offset=10001", "&limit=x"] {
        history_page(&h, &brand, q).await.assert_problem(400);
    }
    h.server.stop().await.unwrap();
}

pub(crate) async fn without_a_checkout_provider_topups_are_off(store: &str) {
    let h = Harness::start_with(store, |c| {
        c.checkout = quota_server::config::CheckoutMode::Auto;
    })
    .await;
    let (brand, key) = h.brand("starter").await;
    for auth in [Auth::Admin, Auth::Key(&key)] {
        let r = checkout_with(&h, &brand, 10, "/ok", "/ko", auth).await;
        let p = r.assert_problem(503);
        assert!(
            p["detail"].as_str().unwrap().contains("--dev"),
            "{}",
            r.text
        );
    }
    assert!(history(&h, &brand).await.is_empty());
    let page = h.get("/checkout/simulated/sim_x", Auth::None).await;
    page.assert_problem(404);
    settle(
        &format!("{}/checkout/simulated/sim_x", h.base),
        "confirm",
        &[],
    )
    .await
    .assert_problem(404);
    h.server.stop().await.unwrap();
}
