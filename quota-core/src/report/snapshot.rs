//! The snapshot: everything the cockpit shows for one brand, and all a share link exposes.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::projection::{CurvePoint, Projection};
use super::recommendation::Recommendation;
use super::timeline::TimelineEvent;
use crate::period::{BillingPeriod, PeriodKey};
use crate::threshold::Severity;
use crate::topup::UsageTopUp;
use crate::{MetricKind, Money};

/// Events kept in a snapshot's timeline.
pub const SNAPSHOT_TIMELINE_LEN: usize = 50;
/// Newest top-ups a snapshot reads (those of the current period are shown).
pub const SNAPSHOT_TOPUPS: usize = 50;

/// The "current plan" card.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct PlanCard {
    /// Plan id.
    pub id: String,
    /// Plan name.
    pub name: String,
    /// Monthly price.
    pub price: Money,
    /// Overage charged so far this period, all metrics.
    pub overage_so_far: Money,
    /// Overage projected for the whole period, all metrics.
    pub estimated_overage: Money,
    /// Price + estimated overage.
    pub estimated_total: Money,
}

/// One metric of the snapshot.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct MetricSnapshot {
    /// Metric key.
    pub metric: String,
    /// Display name.
    pub name: String,
    /// The display name in other languages, by language tag (from the catalog's `names`).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub names: std::collections::BTreeMap<String, String>,
    /// Counter or gauge.
    pub kind: MetricKind,
    /// Usage this period (counter) or level (gauge).
    pub used: u64,
    /// Units included by the plan (`None` = unlimited).
    pub included: Option<u64>,
    /// Completed top-up units of the period.
    pub topup_units: u64,
    /// Allowance = included + top-ups (`None` = unlimited).
    pub limit: Option<u64>,
    /// Units left.
    pub remaining: Option<u64>,
    /// Usage in percent of the allowance.
    pub percent: Option<u64>,
    /// Severity of the highest reached threshold.
    pub badge: Option<Severity>,
    /// Whether the metric is blocked at its limit (a hard limit reached).
    pub blocked: bool,
    /// Overage units so far.
    pub overage_units: u64,
    /// Overage charge so far.
    pub overage_charge: Money,
    /// Whether top-ups can be bought for it.
    pub accepts_topups: bool,
    /// Month-end projection (counters only).
    pub projection: Option<Projection>,
    /// Cumulative usage per elapsed day (counters only).
    pub curve: Vec<CurvePoint>,
}

/// A brand's snapshot.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Snapshot {
    /// The brand.
    pub brand_id: String,
    /// When it was computed.
    pub generated_at: DateTime<Utc>,
    /// The current period.
    pub period: BillingPeriod,
    /// Its key.
    pub period_key: PeriodKey,
    /// Days in the period.
    pub period_days: u16,
    /// The plan card.
    pub plan: PlanCard,
    /// Metrics, in catalog order.
    pub metrics: Vec<MetricSnapshot>,
    /// The plan recommendation.
    pub recommendation: Option<Recommendation>,
    /// This period's events, newest first.
    pub timeline: Vec<TimelineEvent>,
    /// Whether the period has no event ("Consommation stable").
    pub stable: bool,
    /// This period's top-ups, newest first.
    pub topups: Vec<UsageTopUp>,
}

impl MetricSnapshot {
    /// The display name in `lang`: its translation when the catalog has one, else `name`.
    pub fn name_in(&self, lang: &str) -> &str {
        self.names.get(lang).map_or(&self.name, String::as_str)
    }
}
