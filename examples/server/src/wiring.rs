//! Wiring from the configuration: share links (keyring, issuer, revocations in the store the
//! server runs on) and top-up payments (Stripe or the simulated checkout, webhook secret).

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use quota_axum::payments::PaymentState;
use quota_axum::share::ShareState;
use quota_core::{Clock, StoreError};
use quota_payments::{
    PaymentProvider, PendingCheckouts, RedirectPolicy, SimulatedProvider, StripeProvider,
    WebhookSecret,
};
use quota_postgres::PostgresStore;
use quota_share::{MemoryRevocations, ShareIssuer, ShareKeyring, ShareRevocations};

use crate::backend::OpenedStore;
use crate::config::{CheckoutMode, ServeConfig};

/// Share-link revocations in the Postgres store (`share_link_revocations`): they survive a
/// restart and are seen by every server instance.
#[derive(Debug, Clone)]
pub struct PostgresRevocations {
    store: Arc<PostgresStore>,
    clock: Arc<dyn Clock>,
}

impl PostgresRevocations {
    /// Revocations in `store`, stamped with `clock`.
    pub fn new(store: Arc<PostgresStore>, clock: Arc<dyn Clock>) -> Self {
        PostgresRevocations { store, clock }
    }
}

#[async_trait]
impl ShareRevocations for PostgresRevocations {
    async fn revoke(&self, id: &str, until: DateTime<Utc>) -> Result<(), StoreError> {
        // `DELETE /share/{id}` only knows the link id: the brand column gets "" (it only
        // serves per-brand listings, which the server does not offer).
        self.store
            .revoke_share_link(id, "", self.clock.now(), Some(until))
            .await
            .map(|_| ())
    }

    async fn is_revoked(&self, id: &str) -> Result<bool, StoreError> {
        self.store.is_share_link_revoked(id).await
    }
}

/// Share-link revocations kept in Redis (every instance on the same Redis sees them).
#[derive(Debug)]
pub struct RedisRevocations {
    store: Arc<quota_redis::RedisStore>,
    clock: Arc<dyn Clock>,
}

impl RedisRevocations {
    /// Revocations in `store`, timed with `clock`.
    pub fn new(store: Arc<quota_redis::RedisStore>, clock: Arc<dyn Clock>) -> Self {
        RedisRevocations { store, clock }
    }
}

#[async_trait]
impl ShareRevocations for RedisRevocations {
    async fn revoke(&self, id: &str, until: DateTime<Utc>) -> Result<(), StoreError> {
        self.store
            .revoke_share_link(id, until, self.clock.now())
            .await
    }

    async fn is_revoked(&self, id: &str) -> Result<bool, StoreError> {
        self.store.is_share_link_revoked(id).await
    }
}

/// Builds the share state from the configuration.
pub fn share(
    config: &ServeConfig,
    opened: &OpenedStore,
    clock: Arc<dyn Clock>,
) -> Result<ShareState, String> {
    let (spec, generated_keys) = match &config.share_keys {
        Some(s) => (s.clone(), None),
        None => {
            let s = quota_axum::share::generate_key_spec().map_err(|e| e.to_string())?;
            (s.clone(), Some(s))
        }
    };
    let keyring = ShareKeyring::parse(&spec).map_err(|e| format!("QUOTA_SHARE_KEYS: {e}"))?;
    let issuer = ShareIssuer::new(
        Arc::new(keyring),
        config.share_ttl,
        config.frontend_url.as_deref().unwrap_or_default(),
        Arc::clone(&clock),
    )
    .map_err(|e| format!("share links: {e}"))?;
    let (revocations, revocations_in): (Arc<dyn ShareRevocations>, &'static str) =
        match (&opened.postgres, &opened.redis) {
            (Some(pg), _) => (
                Arc::new(PostgresRevocations::new(Arc::clone(pg), clock)),
                "postgres",
            ),
            (None, Some(redis)) => (
                Arc::new(RedisRevocations::new(Arc::clone(redis), clock)),
                "redis",
            ),
            (None, None) => (Arc::new(MemoryRevocations::new()), "memory"),
        };
    Ok(ShareState {
        issuer: Arc::new(issuer),
        revocations,
        revocations_in,
        generated_keys,
    })
}

/// Builds the payment state from the configuration: the checkout `--checkout` names (Stripe
/// by default when `STRIPE_SECRET_KEY` is set, else none), redirects on `public_url`, the
/// open-checkout cap and lifetime, the webhook secret. The simulated checkout (nobody pays)
/// is never chosen implicitly, and is refused next to a Stripe key.
pub fn payments(
    config: &ServeConfig,
    public_url: &str,
    clock: Arc<dyn Clock>,
) -> Result<PaymentState, String> {
    let stripe = || -> Result<Arc<dyn PaymentProvider>, String> {
        let stripe = config.stripe.clone().ok_or(
            "--checkout stripe needs STRIPE_SECRET_KEY (and STRIPE_WEBHOOK_SECRET for the webhook)",
        )?;
        Ok(Arc::new(
            StripeProvider::new(stripe).map_err(|e| format!("Stripe checkout: {e}"))?,
        ))
    };
    let (provider, simulated): (Option<Arc<dyn PaymentProvider>>, _) = match config.checkout {
        CheckoutMode::Simulated if config.stripe.is_some() => {
            return Err("--checkout simulated (or --dev) with STRIPE_SECRET_KEY set: a server that takes real payments never offers the simulated checkout (nobody pays on it); unset one of them".into());
        }
        CheckoutMode::Simulated => {
            let sim = Arc::new(SimulatedProvider::new().with_clock(clock));
            (Some(sim.clone() as Arc<dyn PaymentProvider>), Some(sim))
        }
        CheckoutMode::Stripe => (Some(stripe()?), None),
        CheckoutMode::Auto if config.stripe.is_some() => (Some(stripe()?), None),
        CheckoutMode::Auto | CheckoutMode::Off => (None, None),
    };
    let redirects =
        RedirectPolicy::new(public_url).map_err(|e| format!("checkout redirects: {e}"))?;
    let pending = PendingCheckouts::new(config.max_pending_checkouts, config.checkout_ttl)
        .map_err(|e| format!("checkouts: {e}"))?;
    let (spec, generated_secret) = match &config.webhook_secret {
        Some(s) => (s.clone(), None),
        None => {
            let s = quota_axum::payments::generate_webhook_secret().map_err(|e| e.to_string())?;
            (s.clone(), Some(s))
        }
    };
    let webhook = WebhookSecret::parse(&spec)
        .ok_or("STRIPE_WEBHOOK_SECRET holds no secret (comma-separated list)")?;
    Ok(PaymentState {
        provider,
        simulated,
        redirects,
        pending: Arc::new(pending),
        webhook: Arc::new(webhook),
        generated_secret,
    })
}
