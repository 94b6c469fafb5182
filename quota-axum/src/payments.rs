//! Top-up payments: the checkout provider and the webhook secret the top-up routes use.

use std::sync::Arc;

use quota_payments::{PaymentProvider, SimulatedProvider, WebhookSecret};

/// What the top-up routes need.
#[derive(Debug, Clone)]
pub struct PaymentState {
    /// The provider that opens checkouts.
    pub provider: Arc<dyn PaymentProvider>,
    /// The simulated provider (its page is served even when Stripe is on, for old sessions).
    pub simulated: Arc<SimulatedProvider>,
    /// Verifies `Stripe-Signature`.
    pub webhook: Arc<WebhookSecret>,
    /// The generated webhook secret in dev mode (printed in the banner).
    pub generated_secret: Option<String>,
}

impl PaymentState {
    /// The simulated checkout, with a webhook secret generated for this process.
    pub fn simulated() -> Result<Self, crate::SetupError> {
        let simulated = Arc::new(SimulatedProvider::new());
        let secret = generate_webhook_secret()?;
        let webhook = WebhookSecret::parse(&secret)
            .ok_or_else(|| crate::SetupError::Random("empty webhook secret".into()))?;
        Ok(PaymentState {
            provider: simulated.clone(),
            simulated,
            webhook: Arc::new(webhook),
            generated_secret: Some(secret),
        })
    }
}

/// A random `whsec_dev_<48 hex>` webhook secret.
pub fn generate_webhook_secret() -> Result<String, crate::SetupError> {
    let mut bytes = [0u8; 24];
    getrandom::fill(&mut bytes).map_err(|e| crate::SetupError::Random(e.to_string()))?;
    Ok(format!("whsec_dev_{}", hex::encode(bytes)))
}
