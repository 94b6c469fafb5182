//! The timeline: append-only events of a brand, read newest first.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::period::PeriodKey;
use crate::threshold::Severity;

/// What happened.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum EventKind {
    /// Usage reached a threshold (fires once per brand, metric, period and threshold).
    #[serde(rename_all = "camelCase")]
    ThresholdCrossed {
        /// The threshold, in percent.
        threshold: u16,
        /// Usage when it fired.
        used: u64,
        /// Allowance when it fired.
        limit: u64,
    },
    /// Requests are refused: usage reached the metric's hard ceiling (hard limit, spend cap
    /// or a gauge at its limit), so not one more unit fits. Recorded once per period, at the
    /// first refusal.
    #[serde(rename_all = "camelCase")]
    Blocked {
        /// Usage at the denial.
        used: u64,
        /// Allowance at the denial.
        limit: u64,
    },
    /// A request was refused because it would not fit, while smaller ones still pass (e.g.
    /// 95 units asked with 88 left). Not a blocked state: recorded at most once per metric
    /// and hour of the period, so a client retrying in a loop cannot flood the timeline or
    /// the alert channels.
    #[serde(rename_all = "camelCase")]
    RequestRefused {
        /// Units asked for.
        requested: u64,
        /// Usage at the refusal.
        used: u64,
        /// Allowance at the refusal.
        limit: u64,
    },
    /// A top-up was paid.
    #[serde(rename_all = "camelCase")]
    TopUpCompleted {
        /// Top-up id.
        topup_id: String,
        /// Units added.
        units: u64,
    },
    /// The brand changed plan.
    #[serde(rename_all = "camelCase")]
    PlanChanged {
        /// Previous plan id.
        from: String,
        /// New plan id.
        to: String,
    },
    /// The brand's usage of the period was reset (support tooling).
    #[serde(rename_all = "camelCase")]
    PeriodReset {
        /// Who or what reset it.
        reason: String,
        /// The usage the reset left in the counter (a support reset's target; `0` for a reset
        /// to zero). The projection reads it as a level, not as pace. Absent in events
        /// written without it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        level: Option<u64>,
    },
    /// Usage went back under a threshold that had fired (after a top-up, upgrade or refund).
    #[serde(rename_all = "camelCase")]
    AlertResolved {
        /// The threshold, in percent.
        threshold: u16,
        /// Usage now.
        used: u64,
        /// Allowance now.
        limit: u64,
    },
}

impl EventKind {
    /// Short machine name (`threshold_crossed`, ...).
    pub fn name(&self) -> &'static str {
        match self {
            EventKind::ThresholdCrossed { .. } => "threshold_crossed",
            EventKind::Blocked { .. } => "blocked",
            EventKind::RequestRefused { .. } => "request_refused",
            EventKind::TopUpCompleted { .. } => "topup_completed",
            EventKind::PlanChanged { .. } => "plan_changed",
            EventKind::PeriodReset { .. } => "period_reset",
            EventKind::AlertResolved { .. } => "alert_resolved",
        }
    }
}

/// One timeline event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct TimelineEvent {
    /// The brand.
    pub brand: String,
    /// When.
    pub at: DateTime<Utc>,
    /// The billing period it belongs to.
    pub period: PeriodKey,
    /// The metric concerned, if any.
    pub metric: Option<String>,
    /// Severity badge.
    pub severity: Severity,
    /// What happened.
    #[serde(flatten)]
    pub kind: EventKind,
    /// The store's sequence number of the event, increasing per brand in append order: it
    /// orders events of the same instant. `0` until the event is stored.
    #[serde(default)]
    pub seq: u64,
}

impl TimelineEvent {
    /// Builds an event.
    pub fn new(
        brand: impl Into<String>,
        at: DateTime<Utc>,
        period: PeriodKey,
        metric: Option<String>,
        severity: Severity,
        kind: EventKind,
    ) -> Self {
        TimelineEvent {
            brand: brand.into(),
            at,
            period,
            metric,
            severity,
            kind,
            seq: 0,
        }
    }

    /// The event with the store's sequence number.
    #[must_use]
    pub fn with_seq(mut self, seq: u64) -> Self {
        self.seq = seq;
        self
    }

    /// The timeline's order, newest first: later time first, then higher sequence first.
    pub fn newest_first(a: &TimelineEvent, b: &TimelineEvent) -> std::cmp::Ordering {
        b.at.cmp(&a.at).then(b.seq.cmp(&a.seq))
    }
}

/// Label shown when a period has no event: "Consommation stable" / "Stable usage".
pub fn stable_label(lang: &str) -> &'static str {
    if lang.starts_with("fr") {
        "Consommation stable"
    } else {
        "Stable usage"
    }
}
