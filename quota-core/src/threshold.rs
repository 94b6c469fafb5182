//! Alert thresholds (percent of the allowance) and their severities, with edge detection.

use serde::{Deserialize, Serialize};

use crate::{CatalogError, LimitState};

/// How serious an event is. Ordered from least to most severe.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Severity {
    /// For information (50 % by default).
    Info,
    /// Worth a look (75 %).
    Warning,
    /// Act soon (90 %).
    Critical,
    /// The allowance is used up and usage goes on, billed as overage (a charged metric).
    Overage,
    /// Requests are refused: a hard limit, a spend cap or a gauge at its limit is reached.
    Blocked,
}

impl Severity {
    /// `info`, `warning`, `critical`, `overage` or `blocked`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
            Severity::Overage => "overage",
            Severity::Blocked => "blocked",
        }
    }

    /// The severity this one may claim for a metric in `state`: a threshold configured as
    /// `blocked` (100 % by default) reads `overage` while requests are still admitted and
    /// billed, and `critical` while they are admitted within a free grace; `blocked` only
    /// when requests are refused. Lower severities are kept as they are.
    ///
    /// ```
    /// use quota_core::LimitState;
    /// use quota_core::threshold::Severity;
    /// assert_eq!(Severity::Blocked.honest(LimitState::Overage), Severity::Overage);
    /// assert_eq!(Severity::Blocked.honest(LimitState::Blocked), Severity::Blocked);
    /// assert_eq!(Severity::Warning.honest(LimitState::Blocked), Severity::Warning);
    /// ```
    pub fn honest(self, state: LimitState) -> Severity {
        match (self, state) {
            (Severity::Blocked | Severity::Overage, LimitState::Blocked) => Severity::Blocked,
            (Severity::Blocked | Severity::Overage, LimitState::Overage) => Severity::Overage,
            (Severity::Blocked | Severity::Overage, LimitState::Within) => Severity::Critical,
            (s, _) => s,
        }
    }
}

/// A threshold: when usage reaches `percent` % of the allowance, an alert of `severity` fires.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Threshold {
    /// Percent of the allowance, 1 to 1000.
    pub percent: u16,
    /// Severity of the alert.
    pub severity: Severity,
}

impl Threshold {
    /// Builds a threshold.
    pub const fn new(percent: u16, severity: Severity) -> Self {
        Threshold { percent, severity }
    }
}

/// The default thresholds: 50 % info, 75 % warning, 90 % critical, 100 % blocked.
pub const DEFAULT_THRESHOLDS: [Threshold; 4] = [
    Threshold::new(50, Severity::Info),
    Threshold::new(75, Severity::Warning),
    Threshold::new(90, Severity::Critical),
    Threshold::new(100, Severity::Blocked),
];

/// Checks a threshold list: 1 to 16 entries, percents in 1..=1000, strictly increasing.
pub fn validate_thresholds(list: &[Threshold]) -> Result<(), String> {
    if list.is_empty() || list.len() > 16 {
        return Err("a threshold list needs 1 to 16 entries".into());
    }
    let mut previous = 0u16;
    for t in list {
        if t.percent == 0 || t.percent > 1000 {
            return Err(format!("threshold {} % is outside 1..=1000", t.percent));
        }
        if t.percent <= previous {
            return Err("thresholds must be strictly increasing".into());
        }
        previous = t.percent;
    }
    Ok(())
}

pub(crate) fn invalid_thresholds(plan: &str, metric: &str, reason: String) -> CatalogError {
    CatalogError::InvalidLimit {
        plan: plan.to_owned(),
        metric: metric.to_owned(),
        reason,
    }
}

/// Whether `used` units reach `percent` % of `allowance`. Nothing is reached at zero usage.
#[inline]
pub fn reached(used: u64, allowance: u64, percent: u16) -> bool {
    // Both products fit in u128 (at most 2^64 * 2^16): no overflow to handle.
    used > 0
        && u128::from(used).wrapping_mul(100)
            >= u128::from(percent).wrapping_mul(u128::from(allowance))
}

/// Usage in whole percent of the allowance (floor); an allowance of 0 counts as 1 unit.
pub fn percent_of(used: u64, allowance: u64) -> u64 {
    let pct = u128::from(used)
        .saturating_mul(100)
        .checked_div(u128::from(allowance.max(1)))
        .unwrap_or(0);
    u64::try_from(pct).unwrap_or(u64::MAX)
}

/// The thresholds that going from `before` to `after` units crosses upwards (edge trigger).
pub fn crossed_upwards(
    thresholds: &[Threshold],
    before: u64,
    after: u64,
    allowance: u64,
) -> impl Iterator<Item = Threshold> + '_ {
    thresholds.iter().copied().filter(move |t| {
        !reached(before, allowance, t.percent) && reached(after, allowance, t.percent)
    })
}

/// The severity badge for a usage level: the severity of the highest reached threshold.
pub fn badge(thresholds: &[Threshold], used: u64, allowance: u64) -> Option<Severity> {
    thresholds
        .iter()
        .rev()
        .find(|t| reached(used, allowance, t.percent))
        .map(|t| t.severity)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crossing_is_edge_triggered() {
        let t = DEFAULT_THRESHOLDS;
        let crossed: Vec<u16> = crossed_upwards(&t, 49, 91, 100)
            .map(|t| t.percent)
            .collect();
        assert_eq!(crossed, vec![50, 75, 90]);
        assert_eq!(crossed_upwards(&t, 91, 95, 100).count(), 0);
        assert_eq!(crossed_upwards(&t, 99, 100, 100).count(), 1);
    }

    #[test]
    fn percent_math_does_not_overflow() {
        assert_eq!(percent_of(u64::MAX, 1), u64::MAX);
        assert!(reached(u64::MAX, u64::MAX, 100));
        assert!(!reached(0, 0, 50));
        assert!(reached(1, 0, 100));
    }

    #[test]
    fn badge_is_the_highest_reached_severity() {
        assert_eq!(badge(&DEFAULT_THRESHOLDS, 10, 100), None);
        assert_eq!(
            badge(&DEFAULT_THRESHOLDS, 92, 100),
            Some(Severity::Critical)
        );
        assert_eq!(
            badge(&DEFAULT_THRESHOLDS, 100, 100),
            Some(Severity::Blocked)
        );
    }

    #[test]
    fn validation_refuses_unordered_or_out_of_range_lists() {
        assert!(validate_thresholds(&DEFAULT_THRESHOLDS).is_ok());
        assert!(validate_thresholds(&[]).is_err());
        assert!(validate_thresholds(&[Threshold::new(0, Severity::Info)]).is_err());
        assert!(
            validate_thresholds(&[
                Threshold::new(80, Severity::Info),
                Threshold::new(50, Severity::Info)
            ])
            .is_err()
        );
    }
}
