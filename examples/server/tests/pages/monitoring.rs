//! The monitoring page: store health and alert-channel backlogs.

use std::time::Duration;

use quota_notify::testing::{HttpReceiver, wait_quiet};
use quota_notify::{NotifyConfig, RetryPolicy};

use crate::STORE;
use crate::common::Harness;
use crate::common::html::{Browser, attr, text};

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
