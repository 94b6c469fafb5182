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
