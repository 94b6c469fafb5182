//! Stripe Checkout: one `POST /v1/checkout/sessions` per top-up, form-encoded, with the
//! top-up in `metadata` and `client_reference_id` so the webhook can find it again.

use std::time::Duration;

use async_trait::async_trait;
use serde::Deserialize;

use crate::provider::{CheckoutRequest, CheckoutSession, PaymentError, PaymentProvider};

/// Default API base.
pub const STRIPE_API_BASE: &str = "https://api.stripe.com";

/// How Stripe is reached.
#[derive(Clone)]
pub struct StripeConfig {
    secret_key: String,
    api_base: String,
    timeout: Duration,
}

impl std::fmt::Debug for StripeConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StripeConfig")
            .field("secret_key", &"<redacted>")
            .field("api_base", &self.api_base)
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl StripeConfig {
    /// A configuration with `secret_key` against the real API, 10 s timeout.
    pub fn new(secret_key: impl Into<String>) -> Self {
        StripeConfig {
            secret_key: secret_key.into(),
            api_base: STRIPE_API_BASE.to_owned(),
            timeout: Duration::from_secs(10),
        }
    }

    /// From `STRIPE_SECRET_KEY` (required) and `STRIPE_API_BASE` (optional).
    pub fn from_env() -> Result<Self, PaymentError> {
        let key = std::env::var("STRIPE_SECRET_KEY")
            .ok()
            .filter(|k| !k.trim().is_empty())
            .ok_or_else(|| PaymentError::Config("STRIPE_SECRET_KEY is not set".into()))?;
        let mut config = StripeConfig::new(key.trim());
        if let Some(base) = std::env::var("STRIPE_API_BASE")
            .ok()
            .filter(|b| !b.trim().is_empty())
        {
            config = config.api_base(base.trim());
        }
        Ok(config)
    }

    /// Points the client elsewhere (a local fake in tests). A trailing `/` is dropped.
    pub fn api_base(mut self, base: &str) -> Self {
        base.trim_end_matches('/').clone_into(&mut self.api_base);
        self
    }

    /// Request timeout.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The API base in use.
    pub fn get_api_base(&self) -> &str {
        &self.api_base
    }

    /// The secret key (for other Stripe calls of the application; keep it out of logs).
    pub fn secret_key(&self) -> &str {
        &self.secret_key
    }

    /// The request timeout.
    pub fn get_timeout(&self) -> Duration {
        self.timeout
    }
}

/// A [`PaymentProvider`] creating Stripe Checkout Sessions.
#[derive(Debug, Clone)]
pub struct StripeProvider {
    client: reqwest::Client,
    config: StripeConfig,
    sessions_url: String,
}

/// The TLS settings of the provider's own HTTP client: rustls on the ring provider, passed
/// explicitly (nothing is installed process-wide), certificates checked against the
/// platform's roots.
fn tls_config() -> Result<rustls::ClientConfig, PaymentError> {
    use rustls_platform_verifier::BuilderVerifierExt as _;
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .and_then(|b| b.with_platform_verifier())
        .map(|b| b.with_no_client_auth())
        .map_err(|e| PaymentError::Config(format!("cannot set up TLS: {e}")))
}

impl StripeProvider {
    /// A provider with its own HTTP client.
    pub fn new(config: StripeConfig) -> Result<Self, PaymentError> {
        let client = reqwest::Client::builder()
            .tls_backend_preconfigured(tls_config()?)
            .timeout(config.timeout)
            .build()
            .map_err(|e| PaymentError::Config(format!("HTTP client: {e}")))?;
        Self::with_client(config, client)
    }

    /// A provider calling Stripe with the caller's client (its TLS, proxy and pool
    /// settings; `config.timeout` is not applied to it: set one on the client).
    pub fn with_client(
        config: StripeConfig,
        client: reqwest::Client,
    ) -> Result<Self, PaymentError> {
        if config.secret_key.is_empty() {
            return Err(PaymentError::Config(
                "the Stripe secret key is empty".into(),
            ));
        }
        if !(config.api_base.starts_with("https://") || config.api_base.starts_with("http://")) {
            return Err(PaymentError::Config(format!(
                "STRIPE_API_BASE must be an http(s) URL, got {:?}",
                config.api_base
            )));
        }
        let sessions_url = format!("{}/v1/checkout/sessions", config.api_base);
        Ok(StripeProvider {
            client,
            config,
            sessions_url,
        })
    }

    fn form(request: &CheckoutRequest) -> Result<Vec<(&'static str, String)>, PaymentError> {
        let amount = request.amount.amount_minor;
        if amount <= 0 {
            return Err(PaymentError::InvalidRequest(format!(
                "amount must be positive, got {amount}"
            )));
        }
        let mut form = vec![
            ("mode", "payment".into()),
            ("success_url", request.success_url.clone()),
            ("cancel_url", request.cancel_url.clone()),
            ("client_reference_id", request.topup_id.clone()),
            ("line_items[0][quantity]", "1".into()),
            (
                "line_items[0][price_data][currency]",
                request.amount.currency.as_str().to_ascii_lowercase(),
            ),
            ("line_items[0][price_data][unit_amount]", amount.to_string()),
            (
                "line_items[0][price_data][product_data][name]",
                format!("{} x {} top-up", request.units, request.metric),
            ),
            ("metadata[brand]", request.brand.clone()),
            ("metadata[metric]", request.metric.clone()),
            ("metadata[units]", request.units.to_string()),
            ("metadata[topup_id]", request.topup_id.clone()),
            (
                "payment_intent_data[metadata][topup_id]",
                request.topup_id.clone(),
            ),
        ];
        // The session closes when the pending top-up expires: a payment after that would
        // find a top-up the store no longer completes.
        if let Some(at) = request.expires_at {
            form.push(("expires_at", at.timestamp().to_string()));
        }
        Ok(form)
    }
}

#[derive(Deserialize)]
struct SessionBody {
    id: String,
    url: Option<String>,
}

#[derive(Deserialize)]
struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Deserialize)]
struct ErrorDetail {
    message: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
}

#[async_trait]
impl PaymentProvider for StripeProvider {
    fn name(&self) -> &'static str {
        "stripe"
    }

    async fn create_checkout(
        &self,
        request: &CheckoutRequest,
    ) -> Result<CheckoutSession, PaymentError> {
        let form = Self::form(request)?;
        let response = self
            .client
            .post(&self.sessions_url)
            .bearer_auth(&self.config.secret_key)
            // A retried creation for the same top-up returns the same session.
            .header("Idempotency-Key", format!("checkout-{}", request.topup_id))
            .form(&form)
            .send()
            .await
            .map_err(|e| PaymentError::Unreachable {
                message: format!("POST {}: {e}", self.sessions_url),
                source: Some(Box::new(e)),
            })?;
        let status = response.status();
        let body = response
            .bytes()
            .await
            .map_err(|e| PaymentError::Unreachable {
                message: format!("reading the Stripe answer: {e}"),
                source: Some(Box::new(e)),
            })?;
        if !status.is_success() {
            let message = serde_json::from_slice::<ErrorBody>(&body).map_or_else(
                |_| String::from_utf8_lossy(&body).chars().take(200).collect(),
                |e| {
                    format!(
                        "{}: {}",
                        e.error.kind.as_deref().unwrap_or("error"),
                        e.error.message.as_deref().unwrap_or("no message")
                    )
                },
            );
            return Err(PaymentError::Rejected {
                status: status.as_u16(),
                message,
            });
        }
        let session: SessionBody = serde_json::from_slice(&body)
            .map_err(|e| PaymentError::BadResponse(format!("checkout session: {e}")))?;
        let url = session
            .url
            .ok_or_else(|| PaymentError::BadResponse("checkout session has no url".into()))?;
        Ok(CheckoutSession::new(session.id, url))
    }
}
