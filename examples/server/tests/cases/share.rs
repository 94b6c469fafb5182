//! Share links over HTTP: the read-only page and the refusal of every bad token; the pages
//! rendered from the store.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use quota_core::Clock;
use quota_share::token::sign;
use quota_share::{ShareClaims, ShareKey};
use serde_json::{Value, json};

use crate::common::{Auth, Harness, Resp};

const OLD_SECRET: &str = "previous-share-key-secret-0123456789abcdef";
const NEW_SECRET: &str = "current-share-key-secret-0123456789abcdefgh";

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
    assert_eq!(r.body["url"], format!("{}/share/quota/{token}", h.base));
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

/// The cockpit, the share page it issues and the monitoring page render from this store.
pub(crate) async fn the_pages_render_from_the_store(store: &str) {
    use crate::common::html::{Browser, attr, location, metric_card, text};
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
    assert_eq!(r.status, 303, "{}", r.text);
    let r = b.get(&location(&r)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let url = attr(&r.text, "share-url", "value").unwrap();
    let path = url.strip_prefix(h.base.as_str()).unwrap();
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
