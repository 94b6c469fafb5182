//! The cockpit pages over HTTP, on the in-memory store: login and the admin cookie, every
//! element of the contract in French and English, the runbook's cases as the cockpit shows
//! them (92 % under strain, blocked gauge, top-up with its toast and history, share link,
//! month-end reset), escaping, cross-origin refusals and the monitoring page.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

mod common;

use std::time::Duration;

use common::html::{Browser, attr, count, metric_card, outer, text, texts};
use common::{Auth, Harness};
use quota_notify::testing::{HttpReceiver, wait_quiet};
use quota_notify::{NotifyConfig, RetryPolicy};
use serde_json::json;

const STORE: &str = "memory";

fn location(r: &common::Resp) -> String {
    r.header("location")
        .unwrap_or_else(|| panic!("no Location ({}): {}", r.status, r.text))
}

/// How many elements with this test id a page of a demo-catalog brand shows: one per metric
/// (3), one per counter metric for the curve and projection (2: the seats gauge has none),
/// one per timeline event, else one.
fn expected_count(id: &str, events: usize) -> usize {
    match id {
        "metric-card" | "metric-used" | "metric-limit" | "metric-percent" | "metric-badge"
        | "metric-remaining" | "metric-topups" => 3,
        "usage-chart" | "chart-actual" | "chart-projection" | "chart-limit"
        | "projection-status" | "projection-end" | "projection-days" => 2,
        "timeline-item" | "severity-badge" => events,
        _ => 1,
    }
}

/// Events in a brand's timeline, as the API reads them.
async fn timeline_len(h: &Harness, brand: &str) -> usize {
    h.summary(brand).await["timeline"].as_array().unwrap().len()
}

#[tokio::test]
async fn without_credentials_the_admin_pages_send_to_the_login_form() {
    let h = Harness::start(STORE).await;
    let b = Browser::anonymous(&h);
    let r = b.get("/analytics?brandId=brand_dashboard&lang=en").await;
    assert_eq!(r.status, 303, "{}", r.text);
    assert_eq!(
        location(&r),
        "/login?next=%2Fanalytics%3FbrandId%3Dbrand_dashboard%26lang%3Den"
    );
    let r = b.get("/monitoring").await;
    assert_eq!(r.status, 303);
    assert_eq!(location(&r), "/login?next=%2Fmonitoring");
    // A stale or forged cookie is no better than none.
    let mut stale = Browser::anonymous(&h);
    stale.cookie = Some("quota_admin=not.a.jwt".into());
    let r = stale.get("/analytics").await;
    assert_eq!(r.status, 303);
    assert!(location(&r).starts_with("/login?next="));
    // Nor does a POST get through.
    let r = b
        .post_form(
            "/analytics/share",
            &[("brandId", "brand_dashboard"), ("lang", "fr")],
            &[],
        )
        .await;
    assert_eq!(r.status, 303);
    assert!(location(&r).starts_with("/login?next="));

    // The form, in the language of the page asked for.
    let r = b.get("/login?next=%2Fanalytics%3Flang%3Den").await;
    assert_eq!(r.status, 200);
    assert!(r.text.contains("<html lang=\"en\">"));
    assert!(r.text.contains("Admin token"), "{}", r.text);
    let r = b.get("/login?next=%2Fanalytics").await;
    assert!(
        r.text
            .contains("<label for=\"token\">Jeton administrateur</label>")
    );
    assert!(r.text.contains("name=\"token\""));
    assert!(r.text.contains("name=\"next\" value=\"/analytics\""));
    h.server.stop().await.unwrap();
}

#[tokio::test]
async fn login_sets_the_cookie_and_the_cookie_opens_the_cockpit() {
    let h = Harness::start(STORE).await;
    let b = Browser::anonymous(&h);
    let r = b
        .post_form(
            "/login",
            &[("token", &h.admin), ("next", "/analytics?lang=en")],
            &[],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.text);
    assert_eq!(location(&r), "/analytics?lang=en");
    let cookie = r.header("set-cookie").unwrap();
    let value = cookie.split(';').next().unwrap().to_owned();
    assert_eq!(value, format!("quota_admin={}", h.admin));
    for part in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(cookie.contains(part), "{part} missing: {cookie}");
    }
    let max_age: u64 = cookie
        .split("Max-Age=")
        .nth(1)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(
        (86_000..=86_400).contains(&max_age),
        "Max-Age {max_age} is not the token's lifetime"
    );

    let mut logged = Browser::anonymous(&h);
    logged.cookie = Some(value);
    let r = logged.get("/analytics?lang=en").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.text.contains("Quota cockpit"));
    assert_eq!(r.header("cache-control").as_deref(), Some("no-store"));
    let csp = r.header("content-security-policy").unwrap();
    assert!(csp.contains("default-src 'none'") && csp.contains("script-src 'nonce-"));
    assert!(!csp.contains("unsafe-eval") && !csp.contains("script-src 'unsafe-inline'"));

    // Only local paths are followed after login.
    for next in ["//evil.example/x", "https://evil.example/", "analytics"] {
        let r = b
            .post_form("/login", &[("token", &h.admin), ("next", next)], &[])
            .await;
        assert_eq!(location(&r), "/analytics", "{next}");
    }

    // A bad token: 401 and the form again with a clear message; a brand key: 403.
    let r = b
        .post_form("/login", &[("token", "nope"), ("next", "/analytics")], &[])
        .await;
    assert_eq!(r.status, 401);
    assert!(r.header("set-cookie").is_none());
    assert!(r.text.contains("Jeton refusé"), "{}", r.text);
    assert_eq!(count(&r.text, "login-form"), 1);
    let key = h.server.public_key("brand_dashboard");
    let r = b
        .post_form(
            "/login",
            &[("token", &key), ("next", "/analytics"), ("lang", "en")],
            &[],
        )
        .await;
    assert_eq!(r.status, 403);
    assert!(r.text.contains("not an admin token"), "{}", r.text);

    // The API's credentials work on the pages as well.
    let r = h.get("/analytics", Auth::Admin).await;
    assert_eq!(r.status, 200);
    let r = h.get("/analytics", Auth::Key(&key)).await;
    assert_eq!(r.status, 403);
    let r = h.get("/monitoring", Auth::Bearer("bad.token.here")).await;
    assert_eq!(r.status, 401);
    h.server.stop().await.unwrap();
}

/// The cockpit's test ids that are always there.
const COCKPIT_IDS: [&str; 27] = [
    "plan-card",
    "plan-name",
    "plan-price",
    "overage-estimate",
    "metric-card",
    "metric-used",
    "metric-limit",
    "metric-percent",
    "metric-badge",
    "metric-remaining",
    "metric-topups",
    "usage-chart",
    "chart-actual",
    "chart-projection",
    "chart-limit",
    "projection-status",
    "projection-end",
    "projection-days",
    "timeline",
    "timeline-item",
    "severity-badge",
    "recommendation-card",
    "cta-compare",
    "cta-expert",
    "topup-form",
    "topup-button",
    "topup-history",
];

#[tokio::test]
async fn every_contract_element_is_there_with_the_runbook_labels_in_french_and_english() {
    let h = Harness::start(STORE).await;
    // 460 of 500 late in the month: the counter runs out within days.
    assert_eq!(
        h.record("brand_dashboard", "ai_generations", 420)
            .await
            .status,
        200
    );
    let b = Browser::admin(&h);
    let cases = [
        (
            "fr",
            [
                "Plan actuel",
                "Estimation des dépassements",
                "Plan recommandé",
                "Comparer les plans",
                "Parler à un expert",
                "Acheter des crédits",
                "Partager",
            ],
            "29,00 €",
        ),
        (
            "en",
            [
                "Current plan",
                "Estimated overage",
                "Recommended plan",
                "Compare plans",
                "Talk to an expert",
                "Buy credits",
                "Share",
            ],
            "€29.00",
        ),
    ];
    let events = timeline_len(&h, "brand_dashboard").await;
    assert!(events > 0, "the seed and the 420 generations leave events");
    for (lang, labels, price) in cases {
        let r = b.get(&format!("/analytics?lang={lang}")).await;
        assert_eq!(r.status, 200, "{}", r.text);
        let p = &r.text;
        assert!(p.contains(&format!("<html lang=\"{lang}\">")));
        assert!(p.contains("<meta name=\"viewport\" content=\"width=device-width"));
        for id in COCKPIT_IDS
            .iter()
            .chain(&["lang-fr", "lang-en", "share-form", "share-button"])
        {
            assert_eq!(count(p, id), expected_count(id, events), "[{lang}] {id}");
        }
        for label in labels {
            assert!(
                p.contains(&format!(">{label}<")),
                "[{lang}] {label:?} missing"
            );
        }
        let heading = |id: &str| {
            let card = outer(p, id).unwrap();
            let h2 = card.split("<h2").nth(1).unwrap();
            let inner = &h2[h2.find('>').unwrap() + 1..h2.find("</h2>").unwrap()];
            common::html::strip(inner)
        };
        assert!(
            heading("plan-card").ends_with(labels[0]),
            "{}",
            heading("plan-card")
        );
        assert!(heading("recommendation-card").ends_with(labels[2]));
        assert_eq!(text(p, "cta-compare").unwrap(), labels[3]);
        assert_eq!(text(p, "cta-expert").unwrap(), labels[4]);
        assert_eq!(text(p, "topup-button").unwrap(), labels[5]);
        assert_eq!(text(p, "share-button").unwrap(), labels[6]);
        assert_eq!(text(p, "plan-name").unwrap(), "Starter");
        assert_eq!(text(p, "plan-price").unwrap(), price);
        assert!(
            attr(p, "cta-expert", "href")
                .unwrap()
                .starts_with("mailto:")
        );
        assert_eq!(
            attr(p, "cta-compare", "href").unwrap(),
            format!("/plans?lang={lang}")
        );
        assert_eq!(attr(p, "topup-form", "action").unwrap(), "/analytics/topup");
        assert_eq!(attr(p, "share-form", "action").unwrap(), "/analytics/share");
        // The language links keep the other parameters.
        let other = if lang == "fr" { "en" } else { "fr" };
        assert_eq!(
            attr(p, &format!("lang-{other}"), "href").unwrap(),
            format!("/analytics?lang={other}")
        );
        // The counter's card: numbers, chart, projection; the gauge has no chart.
        let ai = metric_card(p, "ai_generations");
        assert_eq!(text(ai, "metric-used").unwrap(), "460");
        assert_eq!(text(ai, "metric-limit").unwrap(), "500");
        assert_eq!(text(ai, "metric-remaining").unwrap(), "40");
        assert_eq!(text(ai, "metric-topups").unwrap(), "0");
        let pct = if lang == "fr" { "92 %" } else { "92%" };
        assert_eq!(text(ai, "metric-percent").unwrap(), pct);
        let svg = outer(ai, "usage-chart").unwrap();
        assert!(svg.contains("role=\"img\"") && svg.contains("aria-label=\""));
        assert!(
            outer(svg, "chart-projection")
                .unwrap()
                .contains("stroke-dasharray")
        );
        assert!(text(ai, "projection-days").is_some());
        let team = metric_card(p, "team_members");
        assert_eq!(count(team, "usage-chart"), 0);
        assert_eq!(count(team, "projection-status"), 0);
        // Timeline newest first, with severity badges that carry text.
        let items = texts(p, "timeline-item");
        assert!(!items.is_empty());
        for sev in texts(p, "severity-badge") {
            assert!(!sev.is_empty());
        }
        let times: Vec<String> = p
            .split("data-testid=\"timeline-item\"")
            .skip(1)
            .map(|s| {
                s.split("datetime=\"")
                    .nth(1)
                    .unwrap()
                    .split('"')
                    .next()
                    .unwrap()
                    .to_owned()
            })
            .collect();
        let mut sorted = times.clone();
        sorted.sort();
        sorted.reverse();
        assert_eq!(times, sorted, "timeline not newest first");
    }
    h.server.stop().await.unwrap();
}

#[tokio::test]
async fn a_brand_reset_to_92_percent_is_under_strain_with_its_percent() {
    let h = Harness::start(STORE).await;
    let (brand, _) = h.brand("starter").await;
    let r = h
        .post(
            "/api/v1/usage-billing/reset",
            json!({ "brandId": brand, "metric": "ai_generations", "target": 92, "topup": 25 }),
            Auth::Admin,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let m = h.metric(&brand, "ai_generations").await;
    let percent = m["percent"].as_u64().unwrap();
    assert_eq!(m["projection"]["status"], "under_strain");
    let b = Browser::admin(&h);
    for (lang, label, pct) in [
        ("fr", "Sous tension", format!("{percent} %")),
        ("en", "Under strain", format!("{percent}%")),
    ] {
        let r = b
            .get(&format!("/analytics?brandId={brand}&lang={lang}"))
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        let card = metric_card(&r.text, "ai_generations");
        assert_eq!(text(card, "projection-status").unwrap(), label);
        assert_eq!(
            attr(card, "projection-status", "data-status").unwrap(),
            "under_strain"
        );
        assert_eq!(text(card, "metric-percent").unwrap(), pct);
        assert_eq!(text(card, "metric-used").unwrap(), "460");
        assert_eq!(text(card, "metric-limit").unwrap(), "525");
        assert_eq!(text(card, "metric-topups").unwrap(), "25");
        assert_eq!(
            attr(card, "metric-badge", "data-severity").unwrap(),
            "warning"
        );
        assert!(text(card, "projection-end").unwrap().contains('%'));
    }
    h.server.stop().await.unwrap();
}

#[tokio::test]
async fn a_blocked_gauge_shows_the_red_blocked_badge_and_an_upgrade() {
    let h = Harness::start(STORE).await;
    // The seeded brand has every seat taken (runbook section 6, "Upgrade bloqué").
    let r = h
        .post(
            "/api/v1/usage-billing/check-quota",
            json!({ "brandId": "brand_dashboard", "metric": "team_members" }),
            Auth::Admin,
        )
        .await;
    assert_eq!(r.body["allowed"], false, "{}", r.text);
    let b = Browser::admin(&h);
    for (lang, label) in [("fr", "Bloqué"), ("en", "Blocked")] {
        let r = b.get(&format!("/analytics?lang={lang}")).await;
        let card = metric_card(&r.text, "team_members");
        assert_eq!(text(card, "metric-badge").unwrap(), label);
        assert_eq!(
            attr(card, "metric-badge", "data-severity").unwrap(),
            "blocked"
        );
        assert!(
            attr(card, "metric-badge", "class")
                .unwrap()
                .contains("b-blocked")
        );
        assert_eq!(
            attr(card, "cta-upgrade", "href").unwrap(),
            format!("/plans?lang={lang}")
        );
        // The counters are not blocked.
        assert_eq!(
            count(metric_card(&r.text, "ai_generations"), "cta-upgrade"),
            0
        );
    }
    // "Compare plans" opens the catalog.
    let r = b.get("/plans?lang=en").await;
    assert_eq!(r.status, 200);
    assert_eq!(count(&r.text, "plan-row"), 4);
    assert!(r.text.contains("€99.00"), "{}", r.text);
    h.server.stop().await.unwrap();
}

#[tokio::test]
async fn a_topup_goes_through_the_simulated_checkout_and_comes_back_with_a_toast() {
    let h = Harness::start(STORE).await;
    let (brand, _) = h.brand("starter").await;
    let b = Browser::admin(&h);
    let buy = |units: &'static str, metric: &'static str| {
        let brand = brand.clone();
        let b = &b;
        async move {
            b.post_form(
                "/analytics/topup",
                &[
                    ("brandId", brand.as_str()),
                    ("metric", metric),
                    ("units", units),
                    ("lang", "fr"),
                ],
                &[],
            )
            .await
        }
    };
    let r = buy("30", "ai_generations").await;
    assert_eq!(r.status, 303, "{}", r.text);
    let checkout = location(&r);
    assert!(
        checkout.starts_with(&format!("{}/checkout/simulated/", h.base)),
        "{checkout}"
    );
    let page = b.get(&checkout).await;
    assert_eq!(page.status, 200);
    assert!(page.text.contains("/confirm"));
    let r = b.post_form(&format!("{checkout}/confirm"), &[], &[]).await;
    assert_eq!(r.status, 303, "{}", r.text);
    let back = location(&r);
    assert_eq!(
        back,
        format!("{}/analytics?brandId={brand}&lang=fr&topup=success", h.base)
    );
    let r = b.get(&back).await;
    assert_eq!(r.status, 200);
    assert_eq!(
        text(&r.text, "toast").unwrap(),
        "Paiement confirmé : crédits ajoutés"
    );
    assert_eq!(attr(&r.text, "toast", "role").unwrap(), "status");
    assert_eq!(texts(&r.text, "topup-row").len(), 1);
    let row = text(&r.text, "topup-row").unwrap();
    assert!(row.contains("30") && row.contains("Payé"), "{row}");
    assert_eq!(
        attr(&r.text, "topup-row", "data-status").unwrap(),
        "completed"
    );
    let card = metric_card(&r.text, "ai_generations");
    assert_eq!(text(card, "metric-topups").unwrap(), "30");
    assert_eq!(text(card, "metric-limit").unwrap(), "530");
    let en = b
        .get(&format!("/analytics?brandId={brand}&lang=en&topup=success"))
        .await;
    assert_eq!(
        text(&en.text, "toast").unwrap(),
        "Payment confirmed: credits added"
    );
    assert!(text(&en.text, "topup-row").unwrap().contains("Paid"));

    // Cancelled: the toast says so, the history shows it first as cancelled (not failed).
    let r = buy("5", "ai_generations").await;
    let checkout = location(&r);
    let r = b.post_form(&format!("{checkout}/cancel"), &[], &[]).await;
    let back = location(&r);
    assert!(back.ends_with("&topup=cancel"), "{back}");
    let r = b.get(&back).await;
    assert_eq!(text(&r.text, "toast").unwrap(), "Paiement annulé");
    let rows = texts(&r.text, "topup-row");
    assert_eq!(rows.len(), 2);
    assert!(rows[0].contains("Annulé"), "{rows:?}");
    let en = b
        .get(&format!("/analytics?brandId={brand}&lang=en&topup=cancel"))
        .await;
    assert_eq!(text(&en.text, "toast").unwrap(), "Payment cancelled");

    // Refusals re-render the cockpit with the error, and start nothing.
    let r = buy("0", "ai_generations").await;
    assert_eq!(r.status, 400);
    assert!(
        text(&r.text, "error").unwrap().contains("unités"),
        "{}",
        r.text
    );
    assert_eq!(count(&r.text, "plan-card"), 1);
    let r = buy("10", "renders_2d").await;
    assert_eq!(r.status, 409, "{}", r.text);
    assert!(text(&r.text, "error").unwrap().contains("renders_2d"));
    let history = h
        .get(
            &format!("/api/v1/usage-billing/topups?brandId={brand}"),
            Auth::Admin,
        )
        .await;
    assert_eq!(history.body["topups"].as_array().unwrap().len(), 2);
    h.server.stop().await.unwrap();
}

#[tokio::test]
async fn a_share_link_from_the_cockpit_opens_a_read_only_page() {
    let h = Harness::start(STORE).await;
    let (brand, _) = h.brand("starter").await;
    assert_eq!(h.record(&brand, "ai_generations", 120).await.status, 200);
    let b = Browser::admin(&h);
    let r = b
        .post_form(
            "/analytics/share",
            &[("brandId", brand.as_str()), ("lang", "en")],
            &[],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let url = attr(&r.text, "share-url", "value").unwrap();
    assert!(outer(&r.text, "share-url").unwrap().contains(" readonly"));
    assert_eq!(text(&r.text, "copy-button").unwrap(), "Copy");
    assert_eq!(
        attr(&r.text, "copy-button", "data-copied").unwrap(),
        "Copied"
    );
    // The issuer's base is --frontend-url (the test default).
    let path = url
        .strip_prefix("http://localhost:3000")
        .unwrap_or_else(|| panic!("{url}"));
    assert!(path.starts_with("/share/quota/"), "{path}");

    let anyone = Browser::anonymous(&h);
    let events = timeline_len(&h, &brand).await;
    for (lang, title) in [("fr", "Consommation des quotas"), ("en", "Quota usage")] {
        let p = anyone.get(&format!("{path}?lang={lang}")).await;
        assert_eq!(p.status, 200, "{}", p.text);
        assert!(p.text.contains(title));
        for id in [
            "plan-card",
            "metric-card",
            "usage-chart",
            "projection-status",
            "timeline",
            "recommendation-card",
        ] {
            assert_eq!(
                count(&p.text, id),
                expected_count(id, events),
                "{id} on the share page"
            );
        }
        assert_eq!(
            text(metric_card(&p.text, "ai_generations"), "metric-used").unwrap(),
            "120"
        );
        for forbidden in [
            "<form",
            "<button",
            "topup-form",
            "share-form",
            "cta-compare",
            "cta-upgrade",
            "<script",
        ] {
            assert!(!p.text.contains(forbidden), "{forbidden} on the share page");
        }
        assert_eq!(p.header("referrer-policy").as_deref(), Some("no-referrer"));
    }
    for garbage in ["garbage", "a.b.c", "eyJhbGciOiJub25lIn0.e30."] {
        let p = anyone.get(&format!("/share/quota/{garbage}")).await;
        assert_eq!(p.status, 404);
        assert!(
            text(&p.text, "invalid-link")
                .unwrap()
                .contains("Lien invalide")
        );
        assert!(!p.text.contains(&brand));
    }
    let p = anyone.get("/share/quota/garbage?lang=en").await;
    assert!(
        text(&p.text, "invalid-link")
            .unwrap()
            .contains("Invalid link")
    );
    h.server.stop().await.unwrap();
}

#[tokio::test]
async fn after_the_period_end_the_cockpit_reads_stable_usage_from_zero() {
    let h = Harness::start_with(STORE, |c| c.dev_clock = true).await;
    let (brand, _) = h.brand("starter").await;
    assert_eq!(h.record(&brand, "ai_generations", 470).await.status, 200);
    let b = Browser::admin(&h);
    let before = b.get(&format!("/analytics?brandId={brand}")).await;
    assert_eq!(count(&before.text, "timeline-stable"), 0);
    let events = timeline_len(&h, &brand).await;
    assert!(events > 0, "crossing 50, 75 and 90 % leaves events");
    assert_eq!(count(&before.text, "timeline-item"), events);

    // 30 November 12:00 + 2 days: the December period.
    let r = h
        .post(
            "/api/v1/admin/clock/advance",
            json!({ "days": 2 }),
            Auth::Admin,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    for (lang, label) in [("fr", "Consommation stable"), ("en", "Stable usage")] {
        let r = b
            .get(&format!("/analytics?brandId={brand}&lang={lang}"))
            .await;
        assert_eq!(text(&r.text, "timeline-stable").unwrap(), label);
        assert_eq!(count(&r.text, "timeline-item"), 0);
        let card = metric_card(&r.text, "ai_generations");
        assert_eq!(text(card, "metric-used").unwrap(), "0");
        assert_eq!(text(card, "projection-status").unwrap(), "Stable");
        // The curve starts again from 0.
        let points = attr(card, "chart-actual", "points").unwrap();
        assert!(points.split(' ').all(|p| p.ends_with(",114.0")), "{points}");
    }
    h.server.stop().await.unwrap();
}

#[tokio::test]
async fn every_dynamic_value_is_escaped() {
    let demo = quota_core::PLAN_DEFINITIONS
        .replace(
            "name = \"Starter\"",
            "name = \"Starter <script>alert(1)</script>\"",
        )
        .replace(
            "name = \"AI generations\"",
            "name = \"AI <img src=x onerror=alert(2)>\"",
        );
    let path = std::env::temp_dir().join(format!("{}.toml", common::unique("plans")));
    std::fs::write(&path, demo).unwrap();
    let file = path.clone();
    let h = Harness::start_with(STORE, move |c| c.plans = Some(file)).await;
    let b = Browser::admin(&h);
    for page in ["/analytics", "/analytics?lang=en", "/plans"] {
        let r = b.get(page).await;
        assert_eq!(r.status, 200, "{page}: {}", r.text);
        assert!(
            !r.text.contains("<script>alert(1)"),
            "{page} runs the plan name"
        );
        assert!(
            !r.text.contains("<img src=x"),
            "{page} runs the metric name"
        );
        assert!(
            r.text.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
            "{page}"
        );
        assert!(
            r.text.contains("&lt;img src=x onerror=alert(2)&gt;"),
            "{page}"
        );
    }
    let r = b.get("/analytics").await;
    assert_eq!(
        text(&r.text, "plan-name").unwrap(),
        "Starter &lt;script&gt;alert(1)&lt;/script&gt;"
    );
    // Ids from the query never come back raw.
    let r = b
        .get("/analytics?brandId=%3Cscript%3Ex%3C%2Fscript%3E")
        .await;
    assert_eq!(r.status, 400);
    assert!(!r.text.contains("<script>x"), "{}", r.text);
    let r = b
        .get("/analytics?brandId=brand_dashboard&x=%22%3E%3Cscript%3E")
        .await;
    assert_eq!(r.status, 200);
    assert!(
        !r.text.contains("\"><script>"),
        "lang links echo the query raw"
    );
    let r = b.get("/analytics?brandId=brand_nobody").await;
    assert_eq!(r.status, 404);
    let _ = std::fs::remove_file(path);
    h.server.stop().await.unwrap();
}

#[tokio::test]
async fn a_cross_origin_post_is_refused_and_changes_nothing() {
    let h = Harness::start(STORE).await;
    let b = Browser::admin(&h);
    let form = [
        ("brandId", "brand_dashboard"),
        ("metric", "ai_generations"),
        ("units", "10"),
        ("lang", "fr"),
    ];
    for headers in [
        vec![("origin", "http://evil.example")],
        vec![("origin", "null")],
        vec![("sec-fetch-site", "cross-site")],
        vec![
            ("sec-fetch-site", "same-site"),
            ("origin", "http://sub.example"),
        ],
    ] {
        for path in ["/analytics/topup", "/analytics/share", "/login"] {
            let r = b.post_form(path, &form, &headers).await;
            assert_eq!(r.status, 403, "{path} {headers:?}: {}", r.text);
            assert!(r.header("set-cookie").is_none());
        }
    }
    let history = h
        .get(
            "/api/v1/usage-billing/topups?brandId=brand_dashboard",
            Auth::Admin,
        )
        .await;
    assert_eq!(history.body["topups"].as_array().unwrap().len(), 0);
    // The same form from this origin goes through.
    let own = format!("http://{}", h.server.addr);
    let r = b
        .post_form("/analytics/topup", &form, &[("origin", own.as_str())])
        .await;
    assert_eq!(r.status, 303, "{}", r.text);
    let r = b
        .post_form(
            "/analytics/share",
            &form,
            &[("origin", "null"), ("sec-fetch-site", "same-origin")],
        )
        .await;
    assert_eq!(
        r.status, 200,
        "a same-origin post with a no-referrer Origin"
    );
    h.server.stop().await.unwrap();
}

#[tokio::test]
async fn monitoring_shows_store_and_alert_channel_health() {
    let h = Harness::start(STORE).await;
    let b = Browser::admin(&h);
    for (lang, none) in [
        ("fr", "aucun canal configuré"),
        ("en", "no channel configured"),
    ] {
        let r = b.get(&format!("/monitoring?lang={lang}")).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.header("cache-control").as_deref(), Some("no-store"));
        assert_eq!(attr(&r.text, "store-health", "data-ok").unwrap(), "true");
        assert_eq!(
            attr(&r.text, "store-health", "data-store").unwrap(),
            "memory"
        );
        assert!(text(&r.text, "store-health").unwrap().contains("memory"));
        assert_eq!(text(&r.text, "no-sink").unwrap(), none);
        for href in [
            "href=\"/metrics\"",
            "href=\"/healthz\"",
            "href=\"/analytics?lang=",
        ] {
            assert!(r.text.contains(href), "{href} missing");
        }
    }
    h.server.stop().await.unwrap();

    // A Slack channel that is down: the alerts wait in the outbox and the page counts them:
    // the seeded brand's seats (one alert, at 100 %) and this brand's 92 %.
    // Its port is bound but not listening: connections are refused.
    let down = HttpReceiver::reserve();
    let cfg = NotifyConfig::builder()
        .slack(down.url("/slack"))
        .min_threshold(90)
        .poll_interval(Duration::from_millis(50))
        .retry(RetryPolicy::new(
            8,
            Duration::from_secs(600),
            Duration::from_secs(600),
        ))
        .build()
        .unwrap();
    let h = Harness::start_with(STORE, |c| c.notify = Some(cfg)).await;
    let (brand, _) = h.brand("starter").await;
    assert_eq!(h.record(&brand, "ai_generations", 460).await.status, 200);
    // Each of the two fails once, then waits 300 to 600 s (on the stopped fake clock).
    let alerts = h.server.state.alerts.as_ref().unwrap();
    wait_quiet(&alerts.delivery, &alerts.listener, Duration::from_secs(30)).await;
    assert_eq!(alerts.delivery.stats().retried(), 2);
    let r = Browser::admin(&h).get("/monitoring?lang=en").await;
    assert_eq!(attr(&r.text, "sink-row", "data-sink").unwrap(), "slack");
    assert_eq!(
        text(&r.text, "sink-row").unwrap(),
        "slack 2 0",
        "channel, pending, dead letters"
    );
    h.server.stop().await.unwrap();
}
