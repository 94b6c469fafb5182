//! Top-up payments: the checkout provider (Stripe when `STRIPE_SECRET_KEY` is set, the
//! simulated local page otherwise) and the webhook secret (`STRIPE_WEBHOOK_SECRET`, or a
//! generated one in dev mode).

use std::sync::Arc;

use quota_payments::{PaymentProvider, SimulatedProvider, StripeProvider, WebhookSecret};

use crate::config::ServeConfig;

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

fn generate_secret() -> Result<String, String> {
    let mut bytes = [0u8; 24];
    getrandom::fill(&mut bytes)
        .map_err(|e| format!("no randomness for the webhook secret: {e}"))?;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    Ok(format!("whsec_dev_{hex}"))
}

/// Builds the payment state from the configuration.
pub fn build(config: &ServeConfig) -> Result<PaymentState, String> {
    let simulated = Arc::new(SimulatedProvider::new());
    let provider: Arc<dyn PaymentProvider> = match &config.stripe {
        Some(stripe) => Arc::new(
            StripeProvider::new(stripe.clone()).map_err(|e| format!("Stripe checkout: {e}"))?,
        ),
        None => simulated.clone(),
    };
    let (spec, generated_secret) = match &config.webhook_secret {
        Some(s) => (s.clone(), None),
        None => {
            let s = generate_secret()?;
            (s.clone(), Some(s))
        }
    };
    let webhook = WebhookSecret::parse(&spec)
        .ok_or("STRIPE_WEBHOOK_SECRET holds no secret (comma-separated list)")?;
    Ok(PaymentState {
        provider,
        simulated,
        webhook: Arc::new(webhook),
        generated_secret,
    })
}
