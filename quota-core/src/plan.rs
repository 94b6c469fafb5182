//! Plans and their per-metric limits.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::money::Money;
use crate::overage::OveragePolicy;
use crate::threshold::Threshold;

/// The limit of one metric in one plan.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Limit {
    /// Units included per period (or the maximum level of a gauge); `None` means unlimited.
    pub included: Option<u64>,
    /// What happens past the allowance.
    pub overage: OveragePolicy,
    /// Free tolerance past the allowance, in percent of `included` (0 to 100).
    pub grace_percent: u8,
    /// Thresholds for this metric, overriding the plan's and the catalog's.
    pub thresholds: Option<Vec<Threshold>>,
}

impl Limit {
    /// A hard limit of `included` units.
    pub fn block(included: u64) -> Self {
        Limit {
            included: Some(included),
            overage: OveragePolicy::Block,
            grace_percent: 0,
            thresholds: None,
        }
    }

    /// No limit at all.
    pub fn unlimited() -> Self {
        Limit {
            included: None,
            overage: OveragePolicy::Block,
            grace_percent: 0,
            thresholds: None,
        }
    }

    /// `included` units, then `policy`.
    pub fn with_policy(included: u64, policy: OveragePolicy) -> Self {
        Limit {
            included: Some(included),
            overage: policy,
            grace_percent: 0,
            thresholds: None,
        }
    }

    /// Sets the grace percent (clamped to 100).
    #[must_use]
    pub fn grace(mut self, percent: u8) -> Self {
        self.grace_percent = percent.min(100);
        self
    }

    /// Free tolerance units past the allowance: `included * grace% / 100`, floored.
    pub fn grace_units(&self) -> u64 {
        let included = u128::from(self.included.unwrap_or(0));
        let scaled = included.saturating_mul(u128::from(self.grace_percent));
        u64::try_from(scaled.checked_div(100).unwrap_or(0)).unwrap_or(u64::MAX)
    }

    /// Units past the allowance that are free (the grace) before any charge or denial.
    pub fn free_units(&self, allowance: u64) -> u64 {
        allowance.saturating_add(self.grace_units())
    }

    /// The most usage this limit admits in one period, top-ups excluded; `None` = no bound.
    ///
    /// Stores add the period's completed top-ups to this ceiling atomically.
    pub fn ceiling_without_topups(&self) -> Option<u64> {
        let included = self.included?;
        let billable = self.overage.max_billable_units()?;
        Some(
            included
                .saturating_add(self.grace_units())
                .saturating_add(billable),
        )
    }

    /// Whether top-up units can be bought for this limit (a charged, bounded metric).
    pub fn accepts_topups(&self) -> bool {
        self.included.is_some() && self.overage.charges()
    }
}

/// A plan of the catalog.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Plan {
    /// Stable id (`free`, `pro`, ...).
    pub id: String,
    /// Display name.
    pub name: String,
    /// Monthly price.
    pub price: Money,
    /// Limit per metric key; every catalog metric has one.
    pub limits: BTreeMap<String, Limit>,
    /// Thresholds for this plan, overriding the catalog's.
    pub thresholds: Option<Vec<Threshold>>,
}

impl Plan {
    /// A plan without limits yet; add one per catalog metric with [`Plan::with_limit`].
    pub fn new(id: impl Into<String>, name: impl Into<String>, price: Money) -> Self {
        Plan {
            id: id.into(),
            name: name.into(),
            price,
            limits: BTreeMap::new(),
            thresholds: None,
        }
    }

    /// Sets the limit of `metric`.
    #[must_use]
    pub fn with_limit(mut self, metric: impl Into<String>, limit: Limit) -> Self {
        self.limits.insert(metric.into(), limit);
        self
    }

    /// Sets the plan's own thresholds.
    #[must_use]
    pub fn with_thresholds(mut self, thresholds: Vec<Threshold>) -> Self {
        self.thresholds = Some(thresholds);
        self
    }

    /// The limit of `metric`, if the plan knows it.
    pub fn limit(&self, metric: &str) -> Option<&Limit> {
        self.limits.get(metric)
    }
}
