//! Every value that reaches a page from the catalog, the store or the query is escaped.

use crate::STORE;
use crate::common::Harness;
use crate::common::html::{Browser, text};

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
