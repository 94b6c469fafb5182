//! Completing top-ups from Stripe webhooks: verify, parse, then complete (or fail) the
//! top-up exactly once however often the event is delivered.

use chrono::{DateTime, Utc};
use quota_core::topup::{TopUpStatus, UsageTopUp};
use quota_core::{QuotaError, QuotaGuard, Store};

use crate::webhook::{CheckoutEventKind, StripeEvent, WebhookError, WebhookSecret};

/// What a verified webhook did.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum WebhookOutcome {
    /// The top-up was pending and is now completed: its units count at once.
    Completed(UsageTopUp),
    /// The top-up was already completed (a redelivery): nothing changed.
    AlreadyCompleted(UsageTopUp),
    /// The checkout expired or its payment failed: the pending top-up is now failed (or
    /// already was settled, unchanged).
    Failed(UsageTopUp),
    /// Nothing to do: another event type, a session not paid yet, or no top-up id.
    Ignored {
        /// Why, for the log.
        reason: String,
    },
}

/// A webhook could not be applied.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CompleteError {
    /// Signature, timestamp or body refused (400; nothing changed).
    #[error(transparent)]
    Webhook(#[from] WebhookError),
    /// The event names a top-up we do not know (400; nothing changed).
    #[error("webhook names unknown top-up {0:?}")]
    UnknownTopUp(String),
    /// The top-up cannot be completed (it failed earlier): 409.
    #[error("top-up {id:?} is {status} and cannot be completed")]
    NotCompletable {
        /// The top-up.
        id: String,
        /// Its status.
        status: TopUpStatus,
    },
    /// The core or its store failed (500/503: Stripe delivers again later).
    #[error(transparent)]
    Quota(QuotaError),
}

impl CompleteError {
    /// The HTTP status to answer: 400 for refused webhooks and unknown top-ups, 409 for a
    /// top-up that cannot be completed, 503 when the store is unavailable, 500 otherwise.
    pub fn http_status(&self) -> u16 {
        match self {
            CompleteError::Webhook(_) | CompleteError::UnknownTopUp(_) => 400,
            CompleteError::NotCompletable { .. } => 409,
            CompleteError::Quota(QuotaError::Store(e)) if e.is_unavailable() => 503,
            CompleteError::Quota(_) => 500,
        }
    }
}

impl From<QuotaError> for CompleteError {
    fn from(e: QuotaError) -> Self {
        match e {
            QuotaError::UnknownTopUp(id) => CompleteError::UnknownTopUp(id),
            QuotaError::TopUpTransition { id, from, .. } => {
                CompleteError::NotCompletable { id, status: from }
            }
            other => CompleteError::Quota(other),
        }
    }
}

/// Verifies a Stripe webhook (`payload` is the raw body, `header` the `Stripe-Signature`
/// value) at `now`, then completes or fails the top-up it names. A replay returns
/// [`WebhookOutcome::AlreadyCompleted`] and adds no unit (the core completes once).
pub async fn complete_from_webhook<S: Store + ?Sized>(
    guard: &QuotaGuard<S>,
    payload: &[u8],
    header: Option<&str>,
    secret: &WebhookSecret,
    now: DateTime<Utc>,
) -> Result<WebhookOutcome, CompleteError> {
    secret.verify(payload, header, now)?;
    let event = StripeEvent::parse(payload)?;
    let paid = match &event.kind {
        CheckoutEventKind::Paid | CheckoutEventKind::AsyncPaid => true,
        CheckoutEventKind::Failed => false,
        CheckoutEventKind::AwaitingPayment => {
            return Ok(WebhookOutcome::Ignored {
                reason: "checkout completed but not paid yet".into(),
            });
        }
        CheckoutEventKind::Other(kind) => {
            return Ok(WebhookOutcome::Ignored {
                reason: format!("event type {kind} is not handled"),
            });
        }
    };
    let Some(topup_id) = event.topup_id else {
        return Ok(WebhookOutcome::Ignored {
            reason: "checkout session carries no top-up id".into(),
        });
    };
    let before = guard.topup(&topup_id).await?;
    if paid {
        let topup = guard.complete_topup(&topup_id).await?;
        tracing::info!(topup = %topup.id, event = %event.id, "top-up completed by webhook");
        // Two deliveries racing may both have read `pending`; the core still adds the
        // units once, only the outcome label may say `Completed` twice.
        Ok(if before.status == TopUpStatus::Completed {
            WebhookOutcome::AlreadyCompleted(topup)
        } else {
            WebhookOutcome::Completed(topup)
        })
    } else if before.status == TopUpStatus::Pending {
        Ok(WebhookOutcome::Failed(guard.fail_topup(&topup_id).await?))
    } else {
        Ok(WebhookOutcome::Failed(before))
    }
}
