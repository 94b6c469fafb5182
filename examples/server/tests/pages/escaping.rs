//! Every value that reaches a page from the catalog, the store or the query is escaped.

use crate::STORE;
use crate::common::Harness;
use crate::common::html::{Browser, attr, location, metric_card, outer, text};

#[tokio::test]
async fn every_dynamic_value_is_escaped() {
    let demo = quota_core::Catalog::PLAN_DEFINITIONS
        .replace(
            "name = \"Starter\"",
            "name = \"Starter <script>alert(1)</script>\"",
        )
        .replace(
            "name = \"AI generations\"",
            "name = \"AI <img src=x onerror=alert(2)>\"",
        );
    let path = std::env::temp_dir().join(format!("{}.toml", crate::common::unique("plans")));
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

/// A plan name and a metric name with every markup character, as they must read once escaped.
const RAW: &str = "<script>\"'&</script>";
const ESCAPED: &str = "&lt;script&gt;&quot;'&amp;&lt;/script&gt;";

/// The plan name, the metric name (heading, chart label and title, top-up option) on one page
/// of the snapshot: escaped, and never raw.
fn assert_names_escaped(page: &str, what: &str) {
    assert!(!page.contains(RAW), "{what}: raw names");
    assert!(
        !page.contains("\"'&"),
        "{what}: a raw quote ends an attribute"
    );
    assert!(!page.contains("<script>"), "{what}: an injected script");
    assert_eq!(
        text(page, "plan-name").unwrap(),
        format!("Starter {ESCAPED}"),
        "{what}"
    );
    let card = metric_card(page, "ai_generations");
    assert!(
        card.contains(&format!(">AI {ESCAPED}</h3>")),
        "{what}: {card}"
    );
    let label = attr(card, "usage-chart", "aria-label").unwrap();
    assert!(label.contains(&format!("AI {ESCAPED}")), "{what}: {label}");
    let chart = outer(card, "usage-chart").unwrap();
    assert!(chart.contains(&format!("<title>{label}</title>")), "{what}");
}

#[tokio::test]
async fn markup_characters_in_names_are_escaped_on_the_cockpit_and_the_share_page() {
    let toml_raw = RAW.replace('"', "\\\"");
    let demo = quota_core::Catalog::PLAN_DEFINITIONS
        .replace(
            "name = \"Starter\"",
            &format!("name = \"Starter {toml_raw}\""),
        )
        .replace(
            "name = \"AI generations\"",
            &format!("name = \"AI {toml_raw}\""),
        );
    let path = std::env::temp_dir().join(format!("{}.toml", crate::common::unique("plans")));
    std::fs::write(&path, demo).unwrap();
    let file = path.clone();
    let h = Harness::start_with(STORE, move |c| c.plans = Some(file)).await;
    let (brand, _) = h.brand("starter").await;
    assert_eq!(h.record(&brand, "ai_generations", 120).await.status, 200);
    let b = Browser::admin(&h);
    for lang in ["fr", "en"] {
        let r = b
            .get(&format!("/analytics?brandId={brand}&lang={lang}"))
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_names_escaped(&r.text, &format!("cockpit [{lang}]"));
        let options = outer(&r.text, "topup-metric").unwrap();
        assert!(
            options.contains(&format!(">AI {ESCAPED}</option>")),
            "{options}"
        );
    }
    let r = b
        .post_form(
            "/analytics/share",
            &[("brandId", brand.as_str()), ("lang", "en")],
            &[],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.text);
    let r = b.get(&location(&r)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_names_escaped(&r.text, "cockpit with its share link");
    let url = attr(&r.text, "share-url", "value").unwrap();
    let share = url.strip_prefix(h.base.as_str()).unwrap();
    let anyone = Browser::anonymous(&h);
    for lang in ["fr", "en"] {
        let p = anyone.get(&format!("{share}?lang={lang}")).await;
        assert_eq!(p.status, 200, "{}", p.text);
        assert_names_escaped(&p.text, &format!("share page [{lang}]"));
    }
    let _ = std::fs::remove_file(path);
    h.server.stop().await.unwrap();
}
