//! Top-ups (`UsageTopUp`): extra units bought for one metric, valid until the period ends.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::period::PeriodKey;

/// Lifecycle of a top-up: `Pending` -> `Completed` | `Failed` | `Expired`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum TopUpStatus {
    /// Checkout started, not paid yet.
    Pending,
    /// Paid: its units count in the allowance of its period.
    Completed,
    /// The payment failed (declined card, provider error).
    Failed,
    /// Not paid before its period ended.
    Expired,
    /// The buyer cancelled the checkout before paying.
    Cancelled,
}

impl TopUpStatus {
    /// `pending`, `completed`, `failed` or `expired`.
    pub fn as_str(&self) -> &'static str {
        match self {
            TopUpStatus::Pending => "pending",
            TopUpStatus::Completed => "completed",
            TopUpStatus::Failed => "failed",
            TopUpStatus::Expired => "expired",
            TopUpStatus::Cancelled => "cancelled",
        }
    }

    /// Parses the `as_str` form.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "pending" => TopUpStatus::Pending,
            "completed" => TopUpStatus::Completed,
            "failed" => TopUpStatus::Failed,
            "expired" => TopUpStatus::Expired,
            "cancelled" => TopUpStatus::Cancelled,
            _ => return None,
        })
    }

    /// Whether a top-up may move from `self` to `to`. Completing twice is allowed (and a
    /// no-op) so that payment webhooks can be delivered any number of times.
    pub fn can_become(self, to: TopUpStatus) -> bool {
        matches!(
            (self, to),
            (TopUpStatus::Pending, _) | (TopUpStatus::Completed, TopUpStatus::Completed)
        )
    }
}

impl fmt::Display for TopUpStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A top-up of `units` extra units of `metric` for `brand`, for the period `period`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct UsageTopUp {
    /// Unique id.
    pub id: String,
    /// The brand.
    pub brand: String,
    /// The metric (a counter whose policy charges overage).
    pub metric: String,
    /// Extra units.
    pub units: u64,
    /// Current status.
    pub status: TopUpStatus,
    /// The period whose allowance it raises.
    pub period: PeriodKey,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it was completed, failed or expired.
    pub settled_at: Option<DateTime<Utc>>,
    /// End of validity (the period's end unless said otherwise).
    pub expires_at: DateTime<Utc>,
}

impl UsageTopUp {
    /// A pending top-up.
    pub fn pending(
        id: impl Into<String>,
        brand: impl Into<String>,
        metric: impl Into<String>,
        units: u64,
        period: PeriodKey,
        created_at: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Self {
        UsageTopUp {
            id: id.into(),
            brand: brand.into(),
            metric: metric.into(),
            units,
            status: TopUpStatus::Pending,
            period,
            created_at,
            settled_at: None,
            expires_at,
        }
    }

    /// The status as seen at `now`: a pending top-up past its expiry reads `Expired`.
    pub fn status_at(&self, now: DateTime<Utc>) -> TopUpStatus {
        match self.status {
            TopUpStatus::Pending if now >= self.expires_at => TopUpStatus::Expired,
            s => s,
        }
    }
}

/// The result of a top-up status change in a store.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TopUpTransition {
    /// The top-up after the change.
    pub topup: UsageTopUp,
    /// Whether this call changed it (false when it already had the target status).
    pub changed: bool,
}

impl TopUpTransition {
    /// Builds a transition result.
    pub fn new(topup: UsageTopUp, changed: bool) -> Self {
        TopUpTransition { topup, changed }
    }
}
