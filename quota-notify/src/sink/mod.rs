//! Where alerts go. A [`Sink`] delivers one message; the [`crate::Dispatcher`] handles
//! claiming, retries and dead letters, so a sink only says "done" or why not.

use std::fmt;

use async_trait::async_trait;
use quota_core::report::TimelineEvent;

use crate::alert::{Alert, Lang};
use crate::error::{DeliveryError, NotifyError};

pub mod email;
pub mod slack;
pub mod webhook;

pub use email::EmailSink;
pub use slack::SlackSink;
pub use webhook::WebhookSink;

/// Name of the Slack sink.
pub const SLACK: &str = "slack";
/// Name of the email sink.
pub const EMAIL: &str = "email";
/// Name of the signed-webhook sink.
pub const WEBHOOK: &str = "webhook";

/// One message to deliver.
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub struct Delivery<'a> {
    /// The outbox message id: unique per (event, sink), stable across retries, so a receiver
    /// can drop duplicates.
    pub id: &'a str,
    /// Attempt number, 1 for the first.
    pub attempt: u32,
    /// The alert, ready to render.
    pub alert: &'a Alert,
    /// The event it comes from.
    pub event: &'a TimelineEvent,
    /// Language of the texts.
    pub lang: Lang,
}

/// A delivery channel.
#[async_trait]
pub trait Sink: Send + Sync + fmt::Debug {
    /// The name the outbox messages of this sink carry (`slack`, `email`, `webhook`, ...).
    fn name(&self) -> &str;

    /// Delivers one message. Must give up within the dispatcher's delivery timeout (it is
    /// also cut off there).
    async fn deliver(&self, delivery: &Delivery<'_>) -> Result<(), DeliveryError>;
}

/// The TLS settings of the sinks' own HTTP clients: rustls on the ring provider, passed
/// explicitly (nothing is installed process-wide, so an application keeps its own default
/// provider), certificates checked against the platform's roots.
pub(crate) fn tls_config() -> Result<rustls::ClientConfig, NotifyError> {
    use rustls_platform_verifier::BuilderVerifierExt as _;
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .and_then(|b| b.with_platform_verifier())
        .map(|b| b.with_no_client_auth())
        .map_err(|e| NotifyError::Config(format!("cannot set up TLS: {e}")))
}

/// A reqwest client (http, or https through rustls) with a total timeout. Sinks that take a
/// caller's client (`with_client`) skip it.
pub(crate) fn http_client(timeout: std::time::Duration) -> Result<reqwest::Client, NotifyError> {
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls_config()?)
        .timeout(timeout)
        .connect_timeout(timeout)
        .user_agent(concat!("quota-notify/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| NotifyError::Config(format!("cannot build the HTTP client: {e}")))
}

/// Maps a transport error of reqwest: always retryable (connection refused, reset, timeout).
pub(crate) fn http_error(sink: &str, e: &reqwest::Error) -> DeliveryError {
    let what = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "cannot connect"
    } else {
        "request failed"
    };
    DeliveryError::retryable(format!("{sink}: {what}: {e}"))
}

/// Sends a POST and classifies the answer.
pub(crate) async fn check_response(
    sink: &str,
    resp: Result<reqwest::Response, reqwest::Error>,
) -> Result<(), DeliveryError> {
    let resp = resp.map_err(|e| http_error(sink, &e))?;
    let status = resp.status();
    if status.is_success() {
        return Ok(());
    }
    let body = resp.text().await.unwrap_or_default();
    Err(DeliveryError::from_http_status(
        sink,
        status.as_u16(),
        &body,
    ))
}

/// Whether `s` is an `http://` or `https://` URL.
pub(crate) fn is_http_url(s: &str) -> bool {
    s.starts_with("http://") || s.starts_with("https://")
}

/// Scheme and host only, for `Debug` output: webhook URLs carry their secret in the path.
pub(crate) fn redact_url(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let host = rest.split(['/', '?']).next().unwrap_or("");
            let host = host.rsplit('@').next().unwrap_or(host);
            format!("{scheme}://{host}/…")
        }
        None => "<redacted>".into(),
    }
}
