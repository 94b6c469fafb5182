//! Signed webhooks (`QUOTA_WEBHOOK_URL`, `QUOTA_WEBHOOK_SECRET`).
//!
//! # The signature scheme
//!
//! Each POST carries a JSON body and three headers:
//!
//! - `X-Quota-Timestamp`: Unix time in seconds when the request was signed;
//! - `X-Quota-Signature`: `v1=<hex>`, where `<hex>` is the lower-case hex HMAC-SHA256, keyed
//!   with the shared secret, of the bytes `<timestamp>.<raw body>`; during a key rotation
//!   several `v1=` entries may appear, separated by commas;
//! - `X-Quota-Delivery`: the outbox message id, stable across retries: drop a delivery whose
//!   id you have already processed.
//!
//! A receiver recomputes the HMAC over the raw body (before any JSON parsing), compares in
//! constant time ([`verify_signature`] does both) and refuses timestamps older or newer than
//! a tolerance (5 minutes is usual) to stop replays.

use std::time::Duration;

use async_trait::async_trait;
use hmac::{Hmac, Mac};
use serde_json::json;
use sha2::Sha256;

use super::{Delivery, Sink, WEBHOOK, check_response, http_client, is_http_url, redact_url};
use crate::error::{DeliveryError, NotifyError};

/// Signed webhook.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookConfig {
    /// Where to POST.
    pub url: String,
    /// The HMAC-SHA256 key.
    pub secret: String,
}

impl std::fmt::Debug for WebhookConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookConfig")
            .field("url", &redact_url(&self.url))
            .field("secret", &"<redacted>")
            .finish()
    }
}

impl WebhookConfig {
    /// Checks the settings (what [`crate::NotifyConfigBuilder::build`] runs): an HTTP URL and
    /// a key of at least 16 bytes.
    pub(crate) fn validate(&self) -> Result<(), NotifyError> {
        if !is_http_url(&self.url) {
            return Err(NotifyError::Config(
                "QUOTA_WEBHOOK_URL must start with http:// or https://".into(),
            ));
        }
        if self.secret.len() < 16 {
            return Err(NotifyError::Config(
                "QUOTA_WEBHOOK_SECRET must be at least 16 bytes".into(),
            ));
        }
        Ok(())
    }
}

type HmacSha256 = Hmac<Sha256>;

/// Header with the Unix timestamp (seconds).
pub const TIMESTAMP_HEADER: &str = "x-quota-timestamp";
/// Header with the `v1=` signatures.
pub const SIGNATURE_HEADER: &str = "x-quota-signature";
/// Header with the delivery (outbox message) id.
pub const DELIVERY_HEADER: &str = "x-quota-delivery";

/// `v1=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`.
pub fn sign(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    format!(
        "v1={}",
        hex::encode(mac(secret, timestamp, body).finalize().into_bytes())
    )
}

fn mac(secret: &[u8], timestamp: i64, body: &[u8]) -> HmacSha256 {
    // HMAC takes keys of any length: `new_from_slice` cannot fail for it.
    let Ok(mut m) = HmacSha256::new_from_slice(secret) else {
        unreachable!("HMAC accepts any key length")
    };
    m.update(timestamp.to_string().as_bytes());
    m.update(b".");
    m.update(body);
    m
}

/// Why a webhook request is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignatureError {
    /// The timestamp header is not an integer.
    #[error("malformed timestamp")]
    BadTimestamp,
    /// The timestamp is outside the tolerance.
    #[error("timestamp outside the tolerance")]
    Stale,
    /// No `v1=` signature matches.
    #[error("no valid v1 signature")]
    Mismatch,
}

/// Checks a request: the timestamp within `tolerance` of `now` (Unix seconds), and one of the
/// `v1=` signatures equal, in constant time, to the HMAC of `timestamp.body`.
pub fn verify_signature(
    secret: &[u8],
    timestamp_header: &str,
    signature_header: &str,
    body: &[u8],
    now: i64,
    tolerance: Duration,
) -> Result<(), SignatureError> {
    let ts: i64 = timestamp_header
        .trim()
        .parse()
        .map_err(|_| SignatureError::BadTimestamp)?;
    let tolerance = i64::try_from(tolerance.as_secs()).unwrap_or(i64::MAX);
    if now.abs_diff(ts) > tolerance.unsigned_abs() {
        return Err(SignatureError::Stale);
    }
    let ok = signature_header
        .split(',')
        .filter_map(|part| part.trim().strip_prefix("v1="))
        .filter_map(|h| hex::decode(h).ok())
        .any(|sig| mac(secret, ts, body).verify_slice(&sig).is_ok());
    if ok {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

/// The JSON body of a webhook delivery.
pub fn webhook_body(d: &Delivery<'_>) -> serde_json::Value {
    json!({
        "id": d.id,
        "type": d.alert.kind,
        "attempt": d.attempt,
        "alert": d.alert,
        "text": d.alert.title(d.lang),
        "event": d.event,
    })
}

/// POSTs signed alerts to a webhook.
#[derive(Debug)]
pub struct WebhookSink {
    config: WebhookConfig,
    client: reqwest::Client,
}

impl WebhookSink {
    /// A sink for `config`, each request cut off after `timeout`.
    pub fn new(config: WebhookConfig, timeout: Duration) -> Result<Self, NotifyError> {
        Ok(WebhookSink {
            config,
            client: http_client(timeout)?,
        })
    }

    /// A sink posting with the caller's client (its TLS, proxy and pool settings); set a
    /// timeout on it: the dispatcher cuts each delivery off at its own timeout anyway.
    pub fn with_client(config: WebhookConfig, client: reqwest::Client) -> Self {
        WebhookSink { config, client }
    }
}

#[async_trait]
impl Sink for WebhookSink {
    fn name(&self) -> &str {
        WEBHOOK
    }

    async fn deliver(&self, d: &Delivery<'_>) -> Result<(), DeliveryError> {
        let body = serde_json::to_vec(&webhook_body(d))
            .map_err(|e| DeliveryError::permanent(format!("webhook: cannot encode: {e}")))?;
        let ts = chrono::Utc::now().timestamp();
        let signature = sign(self.config.secret.as_bytes(), ts, &body);
        let resp = self
            .client
            .post(&self.config.url)
            .header("content-type", "application/json")
            .header(TIMESTAMP_HEADER, ts.to_string())
            .header(SIGNATURE_HEADER, signature)
            .header(DELIVERY_HEADER, d.id)
            .body(body)
            .send()
            .await;
        check_response(WEBHOOK, resp).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"whsec_0123456789abcdef";

    #[test]
    fn known_vector() {
        // Computed independently: printf '1700000000.{"a":1}' | openssl dgst -sha256 -hmac whsec_0123456789abcdef
        let sig = sign(SECRET, 1_700_000_000, br#"{"a":1}"#);
        assert_eq!(
            sig,
            "v1=9f5e37cdc7ea587c7c02062d93283cad000d66a831b2a1676418696db47ed6c2"
        );
    }

    #[test]
    fn verifies_good_and_refuses_bad_signatures() {
        let body = br#"{"a":1}"#;
        let t = 1_700_000_000;
        let tol = Duration::from_secs(300);
        let good = sign(SECRET, t, body);
        assert_eq!(
            verify_signature(SECRET, "1700000000", &good, body, t + 10, tol),
            Ok(())
        );
        let rotated = format!("v1=00ff, {good}");
        assert_eq!(
            verify_signature(SECRET, "1700000000", &rotated, body, t, tol),
            Ok(())
        );
        assert_eq!(
            verify_signature(SECRET, "1700000000", &good, br#"{"a":2}"#, t, tol),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify_signature(b"other-secret-xxxxxxxx", "1700000000", &good, body, t, tol),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify_signature(SECRET, "1700000000", &good, body, t + 301, tol),
            Err(SignatureError::Stale)
        );
        assert_eq!(
            verify_signature(SECRET, "1700000001", &good, body, t, tol),
            Err(SignatureError::Mismatch),
            "the timestamp is signed"
        );
        assert_eq!(
            verify_signature(SECRET, "soon", &good, body, t, tol),
            Err(SignatureError::BadTimestamp)
        );
        assert_eq!(
            verify_signature(SECRET, "1700000000", "v1=zz", body, t, tol),
            Err(SignatureError::Mismatch)
        );
    }
}
