//! A share link from the cockpit and the read-only page it opens; invalid links.

use crate::STORE;
use crate::common::Harness;
use crate::common::html::{
    Browser, attr, count, expected_count, location, metric_card, outer, text, timeline_len,
};

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
    // Post/redirect/get: the cockpit shows the link at an address a refresh can reload.
    assert_eq!(r.status, 303, "{}", r.text);
    let back = location(&r);
    assert!(
        back.starts_with(&format!("/analytics?brandId={brand}&lang=en&shared=")),
        "{back}"
    );
    let r = b.get(&back).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let url = attr(&r.text, "share-url", "value").unwrap();
    assert!(outer(&r.text, "share-url").unwrap().contains(" readonly"));
    // Reloading shows the same link; the language links leave the token out.
    let again = b.get(&back).await;
    assert_eq!(attr(&again.text, "share-url", "value").unwrap(), url);
    assert!(
        !attr(&again.text, "lang-fr", "href")
            .unwrap()
            .contains("shared")
    );
    // A token for another brand, a forged one or an oversized one shows no link.
    let token = back.rsplit("shared=").next().unwrap();
    for bad in [
        format!("/analytics?brandId=brand_dashboard&lang=en&shared={token}"),
        format!("/analytics?brandId={brand}&lang=en&shared={token}x"),
        format!(
            "/analytics?brandId={brand}&lang=en&shared={}",
            "a".repeat(5000)
        ),
    ] {
        let r = b.get(&bad).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(count(&r.text, "share-url"), 0, "{bad}");
    }
    assert_eq!(text(&r.text, "copy-button").unwrap(), "Copy");
    assert_eq!(
        attr(&r.text, "copy-button", "data-copied").unwrap(),
        "Copied"
    );
    // The issuer's base is the server's own address (no --frontend-url).
    let path = url
        .strip_prefix(h.base.as_str())
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
