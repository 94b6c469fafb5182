//! Top-up payments: the checkout provider (none, Stripe or the development-only simulated
//! page), where checkouts may redirect, the per-brand cap of open checkouts, and the webhook
//! secret the top-up routes use.

use std::sync::Arc;

use quota_core::Clock;
use quota_payments::{
    PaymentProvider, PendingCheckouts, RedirectPolicy, SimulatedProvider, WebhookSecret,
};

/// What the top-up routes need.
#[derive(Debug, Clone)]
pub struct PaymentState {
    /// The provider that opens checkouts; `None`: top-ups are off (checkout answers 503).
    pub provider: Option<Arc<dyn PaymentProvider>>,
    /// The simulated provider, when it is the one (development only): its page and its
    /// confirm / cancel routes answer 404 otherwise.
    pub simulated: Option<Arc<SimulatedProvider>>,
    /// `successUrl` / `cancelUrl` must stay on this origin (the public URL's).
    pub redirects: RedirectPolicy,
    /// Open checkouts per brand, and how long one stays open.
    pub pending: Arc<PendingCheckouts>,
    /// Verifies `Stripe-Signature`.
    pub webhook: Arc<WebhookSecret>,
    /// The generated webhook secret in dev mode (printed in the banner).
    pub generated_secret: Option<String>,
}

impl PaymentState {
    /// No checkout provider (top-ups off), redirects on `public_url`'s origin, the default
    /// cap and lifetime, and a webhook secret generated for this process.
    pub fn disabled(public_url: &str) -> Result<Self, crate::SetupError> {
        let secret = generate_webhook_secret()?;
        let webhook = WebhookSecret::parse(&secret)
            .ok_or_else(|| crate::SetupError::Random("empty webhook secret".into()))?;
        Ok(PaymentState {
            provider: None,
            simulated: None,
            redirects: RedirectPolicy::new(public_url).map_err(crate::SetupError::Payments)?,
            pending: Arc::new(PendingCheckouts::default()),
            webhook: Arc::new(webhook),
            generated_secret: Some(secret),
        })
    }

    /// [`PaymentState::disabled`] with the simulated checkout on, its time from `clock`.
    /// Nobody pays on it: for development and tests only.
    pub fn simulated(public_url: &str, clock: Arc<dyn Clock>) -> Result<Self, crate::SetupError> {
        Ok(PaymentState::disabled(public_url)?.with_simulated(clock))
    }

    /// Turns the simulated checkout on.
    #[must_use]
    pub fn with_simulated(mut self, clock: Arc<dyn Clock>) -> Self {
        let simulated = Arc::new(SimulatedProvider::new().with_clock(clock));
        self.provider = Some(simulated.clone());
        self.simulated = Some(simulated);
        self
    }

    /// The provider's name for banners and pages: `stripe`, `simulated` or `off`.
    pub fn provider_name(&self) -> &'static str {
        self.provider.as_ref().map_or("off", |p| p.name())
    }
}

/// A random `whsec_dev_<48 hex>` webhook secret.
pub fn generate_webhook_secret() -> Result<String, crate::SetupError> {
    let mut bytes = [0u8; 24];
    getrandom::fill(&mut bytes).map_err(|e| crate::SetupError::Random(e.to_string()))?;
    Ok(format!("whsec_dev_{}", hex::encode(bytes)))
}
