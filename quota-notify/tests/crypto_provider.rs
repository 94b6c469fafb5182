//! The sinks build their HTTPS clients without installing a process-wide rustls crypto
//! provider: an application that installs its own afterwards (and `expect`s it to succeed)
//! keeps working. Its own test binary: the process default is global.

use std::time::Duration;

use quota_notify::sink::slack::SlackConfig;
use quota_notify::sink::webhook::WebhookConfig;
use quota_notify::{SlackSink, WebhookSink};

#[test]
fn building_the_sinks_installs_no_crypto_provider() {
    assert!(rustls::crypto::CryptoProvider::get_default().is_none());
    let slack = SlackSink::new(
        SlackConfig {
            webhook_url: "https://hooks.slack.invalid/services/T/B/x".into(),
        },
        Duration::from_secs(5),
    );
    assert!(slack.is_ok(), "{slack:?}");
    let webhook = WebhookSink::new(
        WebhookConfig {
            url: "https://alerts.invalid/hook".into(),
            secret: "s3cret".into(),
        },
        Duration::from_secs(5),
    );
    assert!(webhook.is_ok(), "{webhook:?}");
    assert!(
        rustls::crypto::CryptoProvider::get_default().is_none(),
        "a sink installed a process-wide crypto provider"
    );
    // The application's own choice still goes through.
    assert!(
        rustls::crypto::ring::default_provider()
            .install_default()
            .is_ok()
    );
    // A caller's client is used as given.
    let client = reqwest::Client::new();
    let _ = SlackSink::with_client(
        SlackConfig {
            webhook_url: "https://hooks.slack.invalid/services/T/B/x".into(),
        },
        client,
    );
}
