//! The checkout provider contract: turn a pending top-up into a payment page.

use std::fmt;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use quota_core::Money;

/// What to sell: `units` extra units of `metric` for `brand`, paid `amount`, for the
/// pending top-up `topup_id`; where to send the buyer afterwards.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct CheckoutRequest {
    /// The brand.
    pub brand: String,
    /// The metric.
    pub metric: String,
    /// Extra units.
    pub units: u64,
    /// The pending top-up this payment completes.
    pub topup_id: String,
    /// The total price (minor units).
    pub amount: Money,
    /// Where to go once paid.
    pub success_url: String,
    /// Where to go when the buyer gives up.
    pub cancel_url: String,
    /// When the checkout closes (the pending top-up's expiry); open-ended when `None`.
    pub expires_at: Option<DateTime<Utc>>,
    /// Who started it (`admin`, `brand:<id>`): the simulated page settles it for that
    /// caller only. Empty when not said.
    pub requested_by: String,
}

impl CheckoutRequest {
    /// A checkout request.
    pub fn new(
        brand: impl Into<String>,
        metric: impl Into<String>,
        units: u64,
        topup_id: impl Into<String>,
        amount: Money,
        success_url: impl Into<String>,
        cancel_url: impl Into<String>,
    ) -> Self {
        CheckoutRequest {
            brand: brand.into(),
            metric: metric.into(),
            units,
            topup_id: topup_id.into(),
            amount,
            success_url: success_url.into(),
            cancel_url: cancel_url.into(),
            expires_at: None,
            requested_by: String::new(),
        }
    }

    /// Closes the checkout at `at`.
    #[must_use]
    pub fn expiring(mut self, at: DateTime<Utc>) -> Self {
        self.expires_at = Some(at);
        self
    }

    /// Says who started it.
    #[must_use]
    pub fn requested_by(mut self, who: impl Into<String>) -> Self {
        self.requested_by = who.into();
        self
    }
}

/// A payment page opened by a provider.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct CheckoutSession {
    /// The provider's session id.
    pub session_id: String,
    /// Where to send the buyer.
    pub checkout_url: String,
}

impl CheckoutSession {
    /// A session.
    pub fn new(session_id: impl Into<String>, checkout_url: impl Into<String>) -> Self {
        CheckoutSession {
            session_id: session_id.into(),
            checkout_url: checkout_url.into(),
        }
    }
}

/// A provider could not open a checkout.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PaymentError {
    /// The provider is misconfigured (missing secret key, bad base URL).
    #[error("payment provider configuration: {0}")]
    Config(String),
    /// The provider could not be reached or did not answer in time.
    #[error("payment provider unreachable: {message}")]
    Unreachable {
        /// What happened.
        message: String,
        /// The client error.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
    },
    /// The provider refused the request.
    #[error("payment provider refused the checkout ({status}): {message}")]
    Rejected {
        /// HTTP status.
        status: u16,
        /// The provider's message.
        message: String,
    },
    /// The provider answered something we cannot read.
    #[error("payment provider answered an unexpected body: {0}")]
    BadResponse(String),
    /// The request cannot be sold (zero amount, ...).
    #[error("invalid checkout request: {0}")]
    InvalidRequest(String),
    /// No randomness for a session id.
    #[error("no randomness for the session id: {0}")]
    Random(String),
}

/// Opens payment pages for top-ups. Object safe: the server holds an
/// `Arc<dyn PaymentProvider>` chosen at start-up (simulated or Stripe).
#[async_trait]
pub trait PaymentProvider: Send + Sync + fmt::Debug {
    /// A short name for logs and metrics (`simulated`, `stripe`).
    fn name(&self) -> &'static str;

    /// Opens a checkout for `request`.
    async fn create_checkout(
        &self,
        request: &CheckoutRequest,
    ) -> Result<CheckoutSession, PaymentError>;
}

/// `prefix` + 128 random bits in hex.
pub(crate) fn random_id(prefix: &str) -> Result<String, PaymentError> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| PaymentError::Random(e.to_string()))?;
    Ok(format!("{prefix}{}", hex::encode(bytes)))
}
