//! The answer to "may this brand use N more units of this metric?".

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::money::Money;
use crate::threshold::percent_of;

/// The verdict of a check or consume.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Verdict {
    /// Within the allowance.
    Allowed,
    /// Past the allowance on a soft limit (or inside a hard limit's grace): admitted, billed.
    AllowedWithOverage(Box<Overage>),
    /// Refused: the request would pass a hard limit or the spend cap.
    Denied(Box<Denial>),
}

/// What an admitted request past the allowance adds to the bill.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Overage {
    /// Units of this request past the allowance (and grace).
    pub overage_units: u64,
    /// What this request adds to the period's overage charge.
    pub charge: Money,
    /// All overage units of the period after this request.
    pub period_overage_units: u64,
    /// The period's overage charge after this request.
    pub period_charge: Money,
}

/// Why a request was refused, and what would admit it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Denial {
    /// Units that were asked for.
    pub requested: u64,
    /// The cheapest plan under which the request would fit.
    pub suggested_plan: Option<String>,
}

/// A decision with the usage figures a caller needs to answer its own client.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Decision {
    /// The verdict.
    #[serde(flatten)]
    pub verdict: Verdict,
    /// Usage after the decision (unchanged when denied or only checked).
    pub used: u64,
    /// The allowance: included units plus completed top-ups; `None` when unlimited.
    pub limit: Option<u64>,
    /// When the counter starts again from zero (`None` for gauges, which never reset).
    pub resets_at: Option<DateTime<Utc>>,
    /// Start of the period the counter belongs to (`None` for gauges): with `resets_at`, the
    /// window length a `RateLimit-Policy` header announces.
    pub period_start: Option<DateTime<Utc>>,
    /// Whether this answer replays an earlier consume with the same idempotency key.
    pub replayed: bool,
    /// Where the metric stands after the decision: requests admitted at no extra cost,
    /// admitted and billed as overage, or blocked (not one more unit fits). A denied request
    /// that was too large for what is left leaves the metric `within` or `overage`.
    #[serde(default = "within")]
    pub state: LimitState,
}

fn within() -> LimitState {
    LimitState::Within
}

impl Decision {
    /// Whether the request is (or would be) admitted.
    pub fn is_allowed(&self) -> bool {
        !matches!(self.verdict, Verdict::Denied(_))
    }

    /// Units left in the allowance (0 once past it); `None` when unlimited.
    pub fn remaining(&self) -> Option<u64> {
        self.limit.map(|l| l.saturating_sub(self.used))
    }

    /// Usage in whole percent of the allowance; `None` when unlimited.
    pub fn percent(&self) -> Option<u64> {
        self.limit.map(|l| percent_of(self.used, l))
    }
}

/// Where a metric's usage stands against its limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum LimitState {
    /// Requests are admitted at no extra cost (within the allowance or its free grace).
    Within,
    /// The allowance is used up; requests are admitted and billed as overage.
    Overage,
    /// Not one more unit is admitted: hard limit, spend cap or gauge limit reached.
    Blocked,
}

impl LimitState {
    /// The state of `used` units against an `allowance` (included + top-ups; `None` =
    /// unlimited) and a `ceiling` (the most admitted, top-ups included; `None` = no bound
    /// but the domain's), for a metric whose policy `charges` overage or not.
    pub fn of(used: u64, allowance: Option<u64>, ceiling: Option<u64>, charges: bool) -> Self {
        let ceiling = ceiling.unwrap_or(crate::domain::MAX_UNITS);
        if used >= ceiling {
            LimitState::Blocked
        } else if charges && allowance.is_some_and(|a| used >= a) {
            LimitState::Overage
        } else {
            LimitState::Within
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::Currency;

    #[test]
    fn the_json_shape_is_flat_and_round_trips() {
        let eur = |minor| Money::new(minor, Currency::EUR);
        let cases = [
            (Verdict::Allowed, r#""outcome":"allowed""#),
            (
                Verdict::AllowedWithOverage(Box::new(Overage {
                    overage_units: 2,
                    charge: eur(20),
                    period_overage_units: 7,
                    period_charge: eur(70),
                })),
                r#""outcome":"allowed_with_overage","overageUnits":2"#,
            ),
            (
                Verdict::Denied(Box::new(Denial {
                    requested: 3,
                    suggested_plan: Some("pro".into()),
                })),
                r#""outcome":"denied","requested":3,"suggestedPlan":"pro""#,
            ),
        ];
        for (verdict, expected) in cases {
            let d = Decision {
                verdict,
                used: 5,
                limit: Some(10),
                resets_at: None,
                period_start: None,
                replayed: false,
                state: LimitState::Within,
            };
            let json = serde_json::to_string(&d).unwrap();
            assert!(json.contains(expected), "{json}");
            assert!(json.contains(r#""used":5,"limit":10"#), "{json}");
            assert_eq!(serde_json::from_str::<Decision>(&json).unwrap(), d);
        }
    }
}
