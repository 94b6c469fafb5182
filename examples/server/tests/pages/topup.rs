//! A top-up from the cockpit: the simulated checkout, the toast and the history, refusals.

use crate::STORE;
use crate::common::html::{Browser, attr, count, location, metric_card, text, texts};
use crate::common::{Auth, Harness};

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
    // The amount in the page's language: `3,20 €` in French, `€3.20` in English.
    let amount = text(&page.text, "checkout-amount").unwrap();
    if page.text.contains("Montant : ") {
        assert!(amount.ends_with(" €") && amount.contains(','), "{amount}");
    } else {
        assert!(page.text.contains("Amount: "), "{}", page.text);
        assert!(amount.starts_with('€') && amount.contains('.'), "{amount}");
    }
    // The same security headers as every page.
    let csp = page.header("content-security-policy").unwrap();
    for part in [
        "default-src 'none'",
        "script-src 'none'",
        "frame-ancestors 'none'",
        "form-action 'self'",
        "base-uri 'none'",
    ] {
        assert!(csp.contains(part), "{csp}");
    }
    assert_eq!(
        page.header("x-content-type-options").as_deref(),
        Some("nosniff")
    );
    assert_eq!(page.header("cache-control").as_deref(), Some("no-store"));
    assert!(
        page.header("content-type")
            .unwrap()
            .starts_with("text/html")
    );
    // Without the cookie, or from another site, the buttons do nothing.
    let r = Browser::anonymous(&h)
        .post_form(&format!("{checkout}/confirm"), &[], &[])
        .await;
    assert_eq!(r.status, 401, "{}", r.text);
    let r = b
        .post_form(
            &format!("{checkout}/confirm"),
            &[],
            &[("sec-fetch-site", "cross-site")],
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.text);
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
