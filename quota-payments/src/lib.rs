//! Top-up payments for Usage Quota Guardian: a [`PaymentProvider`] opens a checkout for a
//! pending top-up ([`SimulatedProvider`]: a local page; [`StripeProvider`]: Stripe Checkout),
//! and the payment comes back either from the simulated page ([`settle_simulated`]) or from
//! a Stripe webhook whose `Stripe-Signature` is verified ([`complete_from_webhook`]). Either
//! way the top-up completes once, however often it is confirmed or delivered.
//!
//! ```
//! use std::sync::Arc;
//! use quota_core::{Catalog, MemoryStore, QuotaGuard, Subscription};
//! use quota_payments::{
//!     PendingCheckouts, RedirectPolicy, SimulatedProvider, StartCheckout, settle_simulated,
//!     start_checkout,
//! };
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let guard = QuotaGuard::new(Catalog::demo(), Arc::new(MemoryStore::new()));
//! guard.subscribe(Subscription::new("brand_dashboard", "free", chrono::Utc::now())).await?;
//! let provider = SimulatedProvider::new();
//! let redirects = RedirectPolicy::new("https://quota.example.com")?;
//! let pending = PendingCheckouts::default();
//!
//! let req = StartCheckout::new("brand_dashboard", "ai_generations", 50,
//!     "/analytics?topup=success", "/analytics?topup=cancel");
//! let started = start_checkout(&guard, &provider, &redirects, &pending, &req).await?;
//! assert!(started.session.checkout_url.starts_with("/checkout/simulated/"));
//!
//! // The buyer presses "Pay" on the simulated page.
//! let (redirect, topup) =
//!     settle_simulated(&guard, &provider, &pending, &started.session.session_id, true).await?;
//! assert_eq!(redirect.redirect_url, "https://quota.example.com/analytics?topup=success");
//! assert_eq!(topup.status, quota_core::topup::TopUpStatus::Completed);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```
#![forbid(unsafe_code)]

pub mod checkout;
pub mod complete;
pub mod pending;
pub mod provider;
pub mod redirect;
pub mod simulated;
pub mod stripe;
pub mod webhook;

pub use checkout::{
    CheckoutError, SimulatedCheckoutError, StartCheckout, StartedCheckout, settle_simulated,
    start_checkout,
};
pub use complete::{CompleteError, WebhookOutcome, complete_from_webhook};
pub use pending::PendingCheckouts;
pub use provider::{CheckoutRequest, CheckoutSession, PaymentError, PaymentProvider};
pub use redirect::{RedirectError, RedirectPolicy};
pub use simulated::{
    SIMULATED_CHECKOUT_PATH, SimulatedError, SimulatedProvider, SimulatedRedirect,
    SimulatedSession, SimulatedState,
};
pub use stripe::{STRIPE_API_BASE, StripeConfig, StripeProvider};
pub use webhook::{
    CheckoutEventKind, DEFAULT_TOLERANCE, SIGNATURE_HEADER, StripeEvent, WebhookError,
    WebhookSecret, sign_payload, v1_signature,
};
