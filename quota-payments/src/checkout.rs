//! Starting a top-up checkout and settling a simulated one: the glue between
//! [`QuotaGuard`]'s top-ups and a [`PaymentProvider`].

use quota_core::topup::UsageTopUp;
use quota_core::{OveragePolicy, QuotaError, QuotaGuard, Store};

use crate::pending::PendingCheckouts;
use crate::provider::{CheckoutRequest, CheckoutSession, PaymentError, PaymentProvider};
use crate::redirect::{RedirectError, RedirectPolicy};
use crate::simulated::{SimulatedError, SimulatedProvider, SimulatedRedirect, SimulatedState};

/// A checkout to start: `{brandId, metric, units, successUrl, cancelUrl}`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct StartCheckout {
    /// The brand.
    #[serde(rename = "brandId")]
    pub brand: String,
    /// The metric (its policy must charge overage).
    pub metric: String,
    /// Extra units.
    pub units: u64,
    /// Where to go once paid (a path starting with `/`, or an absolute URL on the public
    /// origin: see [`RedirectPolicy`]).
    pub success_url: String,
    /// Where to go when the buyer gives up.
    pub cancel_url: String,
    /// Who asks (`admin`, `brand:<id>`): the simulated page settles the checkout for that
    /// caller only.
    #[serde(skip)]
    pub requested_by: String,
}

impl StartCheckout {
    /// A checkout request.
    pub fn new(
        brand: impl Into<String>,
        metric: impl Into<String>,
        units: u64,
        success_url: impl Into<String>,
        cancel_url: impl Into<String>,
    ) -> Self {
        StartCheckout {
            brand: brand.into(),
            metric: metric.into(),
            units,
            success_url: success_url.into(),
            cancel_url: cancel_url.into(),
            requested_by: String::new(),
        }
    }

    /// Says who asks.
    #[must_use]
    pub fn requested_by(mut self, who: impl Into<String>) -> Self {
        self.requested_by = who.into();
        self
    }
}

/// A started checkout: the pending top-up and where to pay it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct StartedCheckout {
    /// The pending top-up.
    pub topup: UsageTopUp,
    /// The provider's session (`{sessionId, checkoutUrl}`).
    pub session: CheckoutSession,
    /// What the buyer pays.
    pub amount: quota_core::Money,
}

/// A checkout cannot start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CheckoutError {
    /// The metric's policy does not charge overage on the brand's plan (409).
    #[error(
        "metric {metric:?} does not accept top-ups on plan {plan:?}: its overage policy is not `charge`"
    )]
    TopUpNotAllowed {
        /// The metric.
        metric: String,
        /// The plan.
        plan: String,
    },
    /// The request is invalid: units, unknown brand or metric (4xx).
    #[error("invalid checkout: {0}")]
    Invalid(String),
    /// `successUrl` or `cancelUrl` leaves the public origin (422).
    #[error("invalid checkout: {0}")]
    Redirect(#[from] RedirectError),
    /// The brand already has the most open checkouts (429).
    #[error(
        "brand {brand:?} already has {max} open checkouts: pay, cancel or let one expire first"
    )]
    TooManyPending {
        /// The brand.
        brand: String,
        /// The cap.
        max: usize,
    },
    /// The provider failed; the top-up was marked failed (502).
    #[error(transparent)]
    Provider(#[from] PaymentError),
    /// The core or its store failed (500/503).
    #[error(transparent)]
    Quota(QuotaError),
}

impl CheckoutError {
    /// The HTTP status a server answers: 409 not allowed (the brand's plan decides, so it is
    /// a conflict with the brand's state), 400 invalid, 422 a redirect off the public
    /// origin, 429 too many open checkouts, 502 provider, 503 store unavailable, 500
    /// otherwise.
    pub fn http_status(&self) -> u16 {
        match self {
            CheckoutError::TopUpNotAllowed { .. } => 409,
            CheckoutError::Invalid(_) => 400,
            CheckoutError::Redirect(_) => 422,
            CheckoutError::TooManyPending { .. } => 429,
            CheckoutError::Provider(_) => 502,
            CheckoutError::Quota(QuotaError::Store(e)) if e.is_unavailable() => 503,
            CheckoutError::Quota(_) => 500,
        }
    }
}

impl From<QuotaError> for CheckoutError {
    fn from(e: QuotaError) -> Self {
        match e {
            QuotaError::TopUpNotAllowed { metric, plan } => {
                CheckoutError::TopUpNotAllowed { metric, plan }
            }
            QuotaError::UnknownBrand(_)
            | QuotaError::UnknownMetric(_)
            | QuotaError::InvalidArgument(_) => CheckoutError::Invalid(e.to_string()),
            other => CheckoutError::Quota(other),
        }
    }
}

/// Starts a top-up (pending, expiring after the checkout's lifetime) and opens its
/// checkout. `successUrl` and `cancelUrl` must stay on the public origin (`redirects`; they
/// are handed to the provider absolute); the brand must have a free slot in `pending`. The
/// price is the metric's overage price for `units` (started blocks of `per_units`, without
/// the period's spend cap). If the provider fails, the top-up is marked failed so no pending
/// top-up is left behind.
pub async fn start_checkout<S: Store + ?Sized>(
    guard: &QuotaGuard<S>,
    provider: &dyn PaymentProvider,
    redirects: &RedirectPolicy,
    pending: &PendingCheckouts,
    request: &StartCheckout,
) -> Result<StartedCheckout, CheckoutError> {
    let success_url = redirects.resolve("successUrl", &request.success_url)?;
    let cancel_url = redirects.resolve("cancelUrl", &request.cancel_url)?;
    let slot = pending
        .reserve(&request.brand, guard.clock().now())
        .map_err(|cap| CheckoutError::TooManyPending {
            brand: request.brand.clone(),
            max: cap.max,
        })?;
    let started = open(
        guard,
        provider,
        request,
        &success_url,
        &cancel_url,
        pending.ttl_chrono(),
    )
    .await;
    match &started {
        Ok(s) => pending.attach(&request.brand, slot, &s.topup.id, s.topup.expires_at),
        Err(_) => pending.release(&request.brand, slot),
    }
    started
}

async fn open<S: Store + ?Sized>(
    guard: &QuotaGuard<S>,
    provider: &dyn PaymentProvider,
    request: &StartCheckout,
    success_url: &str,
    cancel_url: &str,
    ttl: chrono::Duration,
) -> Result<StartedCheckout, CheckoutError> {
    let topup = guard
        .start_topup_expiring(&request.brand, &request.metric, request.units, Some(ttl))
        .await?;
    let amount = match price(guard, &topup).await {
        Ok(a) => a,
        Err(e) => {
            let _ = guard.fail_topup(&topup.id).await;
            return Err(e);
        }
    };
    let checkout = CheckoutRequest::new(
        &topup.brand,
        &topup.metric,
        topup.units,
        &topup.id,
        amount,
        success_url,
        cancel_url,
    )
    .expiring(topup.expires_at)
    .requested_by(&request.requested_by);
    match provider.create_checkout(&checkout).await {
        Ok(session) => Ok(StartedCheckout {
            topup,
            session,
            amount,
        }),
        Err(e) => {
            if let Err(fail) = guard.fail_topup(&topup.id).await {
                tracing::warn!(topup = %topup.id, error = %fail, "could not mark top-up failed");
            }
            Err(e.into())
        }
    }
}

async fn price<S: Store + ?Sized>(
    guard: &QuotaGuard<S>,
    topup: &UsageTopUp,
) -> Result<quota_core::Money, CheckoutError> {
    let sub = guard.subscription(&topup.brand).await?;
    let catalog = guard.catalog();
    let policy = catalog
        .plan(&sub.plan)
        .and_then(|p| p.limit(&topup.metric))
        .map(|l| l.overage);
    match policy {
        Some(OveragePolicy::Charge {
            unit_price,
            per_units,
            ..
        }) => {
            let uncapped = OveragePolicy::Charge {
                unit_price,
                per_units,
                cap: None,
            };
            Ok(uncapped.charge(topup.units, catalog.currency()))
        }
        _ => Err(CheckoutError::TopUpNotAllowed {
            metric: topup.metric.clone(),
            plan: sub.plan,
        }),
    }
}

/// The simulated page was confirmed or cancelled.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SimulatedCheckoutError {
    /// Unknown (404), expired (410) or already settled the other way (409).
    #[error(transparent)]
    Session(#[from] SimulatedError),
    /// Completing or failing the top-up failed.
    #[error(transparent)]
    Quota(#[from] QuotaError),
}

/// Confirms (`paid = true`) or cancels a simulated checkout and completes or cancels its
/// top-up, freeing its slot in `pending`; returns where to redirect. A second confirm
/// changes nothing (the core completes a top-up once). Who may settle it is the caller's
/// check (the session says who started it).
pub async fn settle_simulated<S: Store + ?Sized>(
    guard: &QuotaGuard<S>,
    provider: &SimulatedProvider,
    pending: &PendingCheckouts,
    session_id: &str,
    paid: bool,
) -> Result<(SimulatedRedirect, UsageTopUp), SimulatedCheckoutError> {
    let redirect = if paid {
        provider.confirm(session_id)?
    } else {
        provider.cancel(session_id)?
    };
    let topup = match redirect.state {
        SimulatedState::Confirmed => guard.complete_topup(&redirect.topup_id).await?,
        // Cancelling twice is a transition error in the core; a repeated cancel only reads.
        _ if redirect.replayed => guard.topup(&redirect.topup_id).await?,
        _ => guard.cancel_topup(&redirect.topup_id).await?,
    };
    pending.settled(&topup.brand, &topup.id);
    Ok((redirect, topup))
}
