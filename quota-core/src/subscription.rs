//! Subscriptions: which plan a brand is on, when its periods start, and its own overrides.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::period::BillingAnchor;
use crate::plan::Limit;

/// A brand's subscription.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Subscription {
    /// The brand (customer) id.
    pub brand: String,
    /// The plan id.
    pub plan: String,
    /// Day of the month periods start on.
    #[serde(default)]
    pub anchor: BillingAnchor,
    /// Per-metric limits that replace the plan's for this brand only.
    #[serde(default)]
    pub overrides: BTreeMap<String, Limit>,
    /// When the subscription was created or last changed plan.
    pub since: DateTime<Utc>,
}

impl Subscription {
    /// A subscription to `plan` on calendar months, starting `since`.
    pub fn new(brand: impl Into<String>, plan: impl Into<String>, since: DateTime<Utc>) -> Self {
        Subscription {
            brand: brand.into(),
            plan: plan.into(),
            anchor: BillingAnchor::default(),
            overrides: BTreeMap::new(),
            since,
        }
    }

    /// Sets the billing anchor.
    #[must_use]
    pub fn with_anchor(mut self, anchor: BillingAnchor) -> Self {
        self.anchor = anchor;
        self
    }

    /// Overrides the limit of one metric for this brand.
    #[must_use]
    pub fn with_override(mut self, metric: impl Into<String>, limit: Limit) -> Self {
        self.overrides.insert(metric.into(), limit);
        self
    }
}
