//! Runbook section 3 over HTTP: alert delivery to Slack and email stand-ins.

use std::time::Duration;

use quota_core::Clock;
use quota_notify::testing::{HttpReceiver, SmtpSink, wait_idle, wait_quiet};
use quota_notify::{NotifyConfig, RetryPolicy};
use serde_json::Value;

use super::topups::{checkout, no_redirect};
use crate::common::Harness;
use quota_axum::state::Alerts;

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
        .bearer_auth(&h.admin)
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
        .outbox_records("slack", quota_core::outbox::OutboxStatus::Pending, 10)
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
        .outbox_records("slack", quota_core::outbox::OutboxStatus::Delivered, 10)
        .await
        .unwrap();
    assert_eq!(delivered.len(), 2);
    assert!(delivered.iter().all(|m| m.attempts == 2), "{delivered:?}");
    h.server.stop().await.unwrap();
}
