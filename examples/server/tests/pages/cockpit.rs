//! The cockpit's contract in French and English and the runbook's cases as it shows them:
//! 92 % under strain, the blocked gauge, month-end reset.

use serde_json::{Value, json};

use crate::STORE;
use crate::common::html::{
    Browser, attr, count, expected_count, metric_card, outer, text, texts, timeline_len,
};
use crate::common::{Auth, Harness};

/// The cockpit's test ids that are always there.
const COCKPIT_IDS: [&str; 35] = [
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
    "chart-limit-label",
    "chart-band",
    "chart-today",
    "chart-x-axis",
    "chart-y-axis",
    "chart-legend",
    "chart-figure",
    "projection-band",
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
    let h = Harness::start_with(STORE, |c| {
        c.expert_url = Some("mailto:experts@example.com".into());
    })
    .await;
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
    let summary = h.summary("brand_dashboard").await;
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
            crate::common::html::strip(inner)
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
        assert_eq!(
            attr(p, "cta-expert", "href").unwrap(),
            "mailto:experts@example.com?subject=Usage+Quota+Guardian+%E2%80%94+brand_dashboard"
        );
        // The numbers behind the advice, as the summary has them.
        let reco = &summary["recommendation"];
        let money = |v: &Value| {
            let minor = v["amountMinor"].as_i64().unwrap();
            if lang == "fr" {
                format!("{},{:02} €", minor / 100, minor % 100)
            } else {
                format!("€{}.{:02}", minor / 100, minor % 100)
            }
        };
        let on = if lang == "fr" {
            "Total prévu avec"
        } else {
            "Projected total on"
        };
        let colon = if lang == "fr" { " : " } else { ": " };
        assert_eq!(
            text(p, "recommendation-current-total").unwrap(),
            format!("{on} Starter{colon}{}", money(&reco["current"]["total"]))
        );
        let recommended = &reco["recommended"];
        assert_eq!(
            text(p, "recommended-plan").unwrap(),
            recommended["name"].as_str().unwrap()
        );
        let per = if lang == "fr" { "/ mois" } else { "/ month" };
        assert_eq!(
            text(p, "recommended-price").unwrap(),
            format!("{} {per}", money(&recommended["price"]))
        );
        if recommended["plan"] != reco["current"]["plan"] {
            assert_eq!(
                text(p, "recommendation-recommended-total").unwrap(),
                format!(
                    "{on} {}{colon}{}",
                    recommended["name"].as_str().unwrap(),
                    money(&recommended["total"])
                )
            );
        } else {
            assert_eq!(count(p, "recommendation-recommended-total"), 0);
        }
        assert_eq!(
            count(p, "recommendation-risk"),
            usize::from(!reco["risk"].is_null())
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
        // Its axes, allowance and legend in the page's language; the band's figures as text.
        let (legend, days, allowance) = if lang == "fr" {
            (
                "Consommation réelle Projection (médiane) Intervalle à 80 % Allocation Aujourd'hui",
                "jours de la période",
                "Allocation 500",
            )
        } else {
            (
                "Actual usage Projection (median) 80% band Allowance Today",
                "days of the period",
                "Allowance 500",
            )
        };
        assert_eq!(text(ai, "chart-legend").unwrap(), legend);
        assert!(text(ai, "chart-x-axis").unwrap().ends_with(days));
        assert_eq!(text(ai, "chart-limit-label").unwrap(), allowance);
        let band = text(ai, "projection-band").unwrap();
        let label = attr(ai, "usage-chart", "aria-label").unwrap();
        let figures: Vec<&str> = band.rsplit(' ').step_by(2).take(2).collect();
        assert_eq!(figures.len(), 2, "{band}");
        for f in figures {
            assert!(label.contains(f), "{label} lacks {f} of {band}");
        }
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
async fn talk_to_an_expert_needs_an_address_and_only_takes_pages_or_mail() {
    let h = Harness::start(STORE).await;
    let b = Browser::admin(&h);
    for lang in ["fr", "en"] {
        let r = b.get(&format!("/analytics?lang={lang}")).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(
            count(&r.text, "cta-expert"),
            0,
            "[{lang}] shown without QUOTA_EXPERT_URL"
        );
        assert_eq!(count(&r.text, "cta-compare"), 1);
    }
    h.server.stop().await.unwrap();
    let page = Harness::start_with(STORE, |c| {
        c.expert_url = Some("https://example.com/contact".into());
    })
    .await;
    let r = Browser::admin(&page).get("/analytics?lang=en").await;
    assert_eq!(
        attr(&r.text, "cta-expert", "href").unwrap(),
        "https://example.com/contact"
    );
    page.server.stop().await.unwrap();
    let mut cfg = quota_server::ServeConfig::for_tests();
    cfg.expert_url = Some("javascript:alert(1)".into());
    let Err(err) = quota_server::spawn(cfg).await else {
        panic!("a javascript: expert URL was accepted");
    };
    assert!(err.to_string().contains("QUOTA_EXPERT_URL"), "{err}");
}

#[tokio::test]
async fn a_brand_reset_to_92_percent_is_under_strain_with_its_percent() {
    let h = Harness::start(STORE).await;
    let (brand, _) = h.brand("starter").await;
    // Without a top-up the allowance stays 500: the median month-end total (460 and a
    // little more) is above 90 % of it.
    let r = h
        .post(
            "/api/v1/usage-billing/reset",
            json!({ "brandId": brand, "metric": "ai_generations", "target": 92 }),
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
        assert_eq!(text(card, "metric-limit").unwrap(), "500");
        assert_eq!(
            attr(card, "metric-badge", "data-severity").unwrap(),
            "critical"
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
    assert!(r.text.contains("(overage charged: "), "{}", r.text);
    let r = b.get("/plans?lang=fr").await;
    assert!(r.text.contains("(dépassement facturé : "), "{}", r.text);
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
        assert!(points.split(' ').all(|p| p.ends_with(",170.0")), "{points}");
    }
    h.server.stop().await.unwrap();
}
