//! Slack incoming webhook: one JSON POST with a `text` fallback and blocks (title, figures,
//! a button to the cockpit).

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::json;

use super::{Delivery, SLACK, Sink, check_response, http_client, is_http_url, redact_url};
use crate::alert::Lang;
use crate::error::{DeliveryError, NotifyError};

/// Slack incoming webhook.
#[derive(Clone, PartialEq, Eq)]
pub struct SlackConfig {
    /// The webhook URL (it is a secret: never logged).
    pub webhook_url: String,
}

impl fmt::Debug for SlackConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SlackConfig")
            .field("webhook_url", &redact_url(&self.webhook_url))
            .finish()
    }
}

impl SlackConfig {
    /// Checks the settings (what [`crate::NotifyConfigBuilder::build`] runs).
    pub(crate) fn validate(&self) -> Result<(), NotifyError> {
        if !is_http_url(&self.webhook_url) {
            return Err(NotifyError::Config(
                "SLACK_WEBHOOK_URL must start with http:// or https://".into(),
            ));
        }
        Ok(())
    }
}

/// Posts alerts to a Slack incoming webhook (`SLACK_WEBHOOK_URL`).
#[derive(Debug)]
pub struct SlackSink {
    config: SlackConfig,
    client: reqwest::Client,
}

impl SlackSink {
    /// A sink posting to `config.webhook_url`, each request cut off after `timeout`.
    pub fn new(config: SlackConfig, timeout: Duration) -> Result<Self, NotifyError> {
        Ok(SlackSink {
            config,
            client: http_client(timeout)?,
        })
    }

    /// A sink posting with the caller's client (its TLS, proxy and pool settings); set a
    /// timeout on it: the dispatcher cuts each delivery off at its own timeout anyway.
    pub fn with_client(config: SlackConfig, client: reqwest::Client) -> Self {
        SlackSink { config, client }
    }
}

/// The Slack message for a delivery.
pub fn slack_payload(d: &Delivery<'_>) -> serde_json::Value {
    let a = d.alert;
    let (brand, metric, usage, severity, open) = match d.lang {
        Lang::En => ("Brand", "Metric", "Usage", "Severity", "Open the cockpit"),
        Lang::Fr => (
            "Marque",
            "Métrique",
            "Consommation",
            "Sévérité",
            "Ouvrir le cockpit",
        ),
    };
    let title = a.title(d.lang);
    json!({
        "text": format!("{title} {}", a.cockpit_url),
        "blocks": [
            { "type": "section", "text": { "type": "mrkdwn", "text": format!("*{title}*") } },
            { "type": "section", "fields": [
                { "type": "mrkdwn", "text": format!("*{brand}*\n{}", a.brand) },
                { "type": "mrkdwn", "text": format!("*{metric}*\n{}", a.metric) },
                { "type": "mrkdwn", "text": format!("*{usage}*\n{} / {} ({} %)", a.used, a.limit, a.percent) },
                { "type": "mrkdwn", "text": format!("*{severity}*\n{}", a.severity_label(d.lang)) },
            ] },
            { "type": "actions", "elements": [
                { "type": "button", "text": { "type": "plain_text", "text": open }, "url": a.cockpit_url },
            ] },
        ],
    })
}

#[async_trait]
impl Sink for SlackSink {
    fn name(&self) -> &str {
        SLACK
    }

    async fn deliver(&self, d: &Delivery<'_>) -> Result<(), DeliveryError> {
        let resp = self
            .client
            .post(&self.config.webhook_url)
            .json(&slack_payload(d))
            .send()
            .await;
        check_response(SLACK, resp).await
    }
}
