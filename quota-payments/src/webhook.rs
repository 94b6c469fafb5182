//! Stripe webhooks: `Stripe-Signature` verification and the checkout events we act on.
//!
//! The documented scheme: the header is `t=<unix seconds>,v1=<hex>[,v1=<hex>...]` (other
//! schemes such as `v0` are ignored); each `v1` is HMAC-SHA256, keyed with the endpoint's
//! signing secret, over `"<t>.<raw body>"`. The event is accepted when one `v1` matches one
//! of our secrets and `t` is within the tolerance (300 s by default) of now.

use std::time::Duration;

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// The header carrying the signature.
pub const SIGNATURE_HEADER: &str = "Stripe-Signature";

/// Default tolerance between the signature's timestamp and now.
pub const DEFAULT_TOLERANCE: Duration = Duration::from_secs(300);

/// Longest header accepted.
const MAX_HEADER_LEN: usize = 4096;

/// A webhook is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WebhookError {
    /// No `Stripe-Signature` header.
    #[error("missing Stripe-Signature header")]
    MissingHeader,
    /// The header does not parse.
    #[error("malformed Stripe-Signature header: {0}")]
    MalformedHeader(&'static str),
    /// The header has no `v1` signature.
    #[error("Stripe-Signature has no v1 signature")]
    NoSignature,
    /// The timestamp is too far from now (a replay of an old delivery, or a skewed clock).
    #[error(
        "Stripe-Signature timestamp is {age_secs} s away from now (tolerance {tolerance_secs} s)"
    )]
    Stale {
        /// Seconds between the timestamp and now (negative: in the future).
        age_secs: i64,
        /// The tolerance, seconds.
        tolerance_secs: u64,
    },
    /// No `v1` matches any of our secrets.
    #[error("no Stripe-Signature v1 matches the webhook secret")]
    SignatureMismatch,
    /// The body is not a Stripe event.
    #[error("webhook body is not a Stripe event: {0}")]
    InvalidPayload(String),
}

/// The endpoint's signing secrets (several while rolling a secret) and the tolerance.
#[derive(Clone)]
pub struct WebhookSecret {
    macs: Vec<HmacSha256>,
    tolerance: Duration,
}

impl std::fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookSecret")
            .field("secrets", &self.macs.len())
            .field("tolerance", &self.tolerance)
            .finish()
    }
}

impl WebhookSecret {
    /// One signing secret (`whsec_...`, used as bytes as Stripe does), 300 s tolerance.
    pub fn new(secret: &str) -> Self {
        WebhookSecret {
            macs: Vec::new(),
            tolerance: DEFAULT_TOLERANCE,
        }
        .also(secret)
    }

    /// From `STRIPE_WEBHOOK_SECRET`: one secret or several separated by commas.
    pub fn from_env() -> Option<Self> {
        let raw = std::env::var("STRIPE_WEBHOOK_SECRET").ok()?;
        Self::parse(&raw)
    }

    /// One secret or several separated by commas; `None` when there is none.
    pub fn parse(list: &str) -> Option<Self> {
        let mut secrets = list.split(',').map(str::trim).filter(|s| !s.is_empty());
        let first = WebhookSecret::new(secrets.next()?);
        Some(secrets.fold(first, WebhookSecret::also))
    }

    /// Also accepts `secret` (the previous one, while rolling).
    pub fn also(mut self, secret: &str) -> Self {
        // HMAC takes keys of any length: the error arm cannot happen.
        if let Ok(mac) = HmacSha256::new_from_slice(secret.as_bytes()) {
            self.macs.push(mac);
        }
        self
    }

    /// Sets the tolerance.
    pub fn tolerance(mut self, tolerance: Duration) -> Self {
        self.tolerance = tolerance;
        self
    }

    /// Verifies `header` over `payload` at `now`.
    pub fn verify(
        &self,
        payload: &[u8],
        header: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<(), WebhookError> {
        let header = header.ok_or(WebhookError::MissingHeader)?;
        let parsed = SignatureHeader::parse(header)?;
        if parsed.v1.is_empty() {
            return Err(WebhookError::NoSignature);
        }
        let age = now.timestamp().saturating_sub(parsed.timestamp);
        let tolerance = i64::try_from(self.tolerance.as_secs()).unwrap_or(i64::MAX);
        if age.unsigned_abs() > tolerance.unsigned_abs() {
            return Err(WebhookError::Stale {
                age_secs: age,
                tolerance_secs: self.tolerance.as_secs(),
            });
        }
        let prefix = format!("{}.", parsed.timestamp_raw);
        for mac in &self.macs {
            let mut mac = mac.clone();
            mac.update(prefix.as_bytes());
            mac.update(payload);
            for sig in &parsed.v1 {
                // verify_slice compares in constant time.
                if mac.clone().verify_slice(sig).is_ok() {
                    return Ok(());
                }
            }
        }
        Err(WebhookError::SignatureMismatch)
    }
}

struct SignatureHeader<'a> {
    timestamp: i64,
    timestamp_raw: &'a str,
    v1: Vec<Vec<u8>>,
}

impl<'a> SignatureHeader<'a> {
    fn parse(header: &'a str) -> Result<Self, WebhookError> {
        if header.len() > MAX_HEADER_LEN {
            return Err(WebhookError::MalformedHeader("too long"));
        }
        let mut timestamp = None;
        let mut v1 = Vec::new();
        for item in header.split(',') {
            let (k, v) = item
                .trim()
                .split_once('=')
                .ok_or(WebhookError::MalformedHeader("expected key=value items"))?;
            match k {
                "t" => {
                    if timestamp.is_some() {
                        return Err(WebhookError::MalformedHeader("several timestamps"));
                    }
                    let t: i64 = v
                        .parse()
                        .map_err(|_| WebhookError::MalformedHeader("t is not an integer"))?;
                    timestamp = Some((t, v));
                }
                // A v1 that is not 64 hex digits cannot match; it is skipped, not fatal,
                // so one bad entry does not hide a good one.
                "v1" => {
                    if let Ok(sig) = hex::decode(v)
                        && sig.len() == 32
                    {
                        v1.push(sig);
                    }
                }
                _ => {}
            }
        }
        let (timestamp, timestamp_raw) =
            timestamp.ok_or(WebhookError::MalformedHeader("no timestamp (t=)"))?;
        Ok(SignatureHeader {
            timestamp,
            timestamp_raw,
            v1,
        })
    }
}

/// Builds a `Stripe-Signature` header for `payload` at `timestamp` with `secret`, following
/// the documented scheme: what Stripe sends, for tests and local simulations.
pub fn sign_payload(payload: &[u8], secret: &str, timestamp: i64) -> String {
    format!(
        "t={timestamp},v1={}",
        v1_signature(payload, secret, timestamp)
    )
}

/// The hex `v1` signature of `payload` at `timestamp` with `secret`.
pub fn v1_signature(payload: &[u8], secret: &str, timestamp: i64) -> String {
    // HMAC takes keys of any length: the else arm cannot happen.
    let Ok(mut mac) = HmacSha256::new_from_slice(secret.as_bytes()) else {
        return String::new();
    };
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(payload);
    hex::encode(mac.finalize().into_bytes())
}

/// What a checkout event is about.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CheckoutEventKind {
    /// `checkout.session.completed` with `payment_status` `paid` or `no_payment_required`.
    Paid,
    /// `checkout.session.completed` not paid yet (delayed methods), nothing to do yet.
    AwaitingPayment,
    /// `checkout.session.async_payment_succeeded`.
    AsyncPaid,
    /// `checkout.session.expired` or `checkout.session.async_payment_failed`.
    Failed,
    /// Any other event type.
    Other(String),
}

/// A parsed Stripe event, reduced to what top-ups need.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct StripeEvent {
    /// `evt_...`.
    pub id: String,
    /// The event's type, reduced.
    pub kind: CheckoutEventKind,
    /// The checkout session id (`cs_...`), when the object is a session.
    pub session_id: Option<String>,
    /// The top-up id: `metadata.topup_id`, else `client_reference_id`.
    pub topup_id: Option<String>,
}

#[derive(Deserialize)]
struct RawEvent {
    #[serde(default)]
    id: String,
    #[serde(rename = "type")]
    kind: String,
    data: RawData,
}

#[derive(Deserialize)]
struct RawData {
    object: RawObject,
}

#[derive(Deserialize)]
struct RawObject {
    id: Option<String>,
    object: Option<String>,
    client_reference_id: Option<String>,
    payment_status: Option<String>,
    #[serde(default)]
    metadata: Option<std::collections::HashMap<String, String>>,
}

impl StripeEvent {
    /// Parses an event body (after its signature was checked).
    pub fn parse(payload: &[u8]) -> Result<Self, WebhookError> {
        let raw: RawEvent = serde_json::from_slice(payload)
            .map_err(|e| WebhookError::InvalidPayload(e.to_string()))?;
        let obj = raw.data.object;
        let is_session = obj.object.as_deref() == Some("checkout.session");
        let kind = match raw.kind.as_str() {
            "checkout.session.completed" if is_session => match obj.payment_status.as_deref() {
                Some("paid" | "no_payment_required") => CheckoutEventKind::Paid,
                _ => CheckoutEventKind::AwaitingPayment,
            },
            "checkout.session.async_payment_succeeded" if is_session => {
                CheckoutEventKind::AsyncPaid
            }
            "checkout.session.expired" | "checkout.session.async_payment_failed" if is_session => {
                CheckoutEventKind::Failed
            }
            other => CheckoutEventKind::Other(other.chars().take(100).collect()),
        };
        let topup_id = obj
            .metadata
            .and_then(|mut m| m.remove("topup_id"))
            .or(obj.client_reference_id)
            .filter(|id| !id.is_empty());
        Ok(StripeEvent {
            id: raw.id,
            kind,
            session_id: obj.id.filter(|_| is_session),
            topup_id,
        })
    }
}
