//! Projections: where usage will stand at the end of the period, from daily buckets.
//!
//! Two paces are measured: the linear pace (usage so far / elapsed time) and the recent pace
//! (usage of the last 7 days / their length). Once a week of history exists the projection
//! uses their mean, so a brand that speeds up is flagged before the linear pace notices;
//! before that it uses the linear pace. Estimates are floating point; money is not: the
//! projected overage cost is computed from whole projected units.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::overage::overage_units;
use crate::period::BillingPeriod;
use crate::{Limit, Money};

/// Days of history the recent pace looks at.
pub const RECENT_WINDOW_DAYS: f64 = 7.0;
/// Exhaustion within this many days (and before the period ends) is "immediate".
pub const IMMEDIATE_HORIZON_DAYS: f64 = 3.0;
/// Projected usage above this share of the allowance is "under strain".
pub const STRAIN_RATIO: f64 = 0.9;

/// The status badge of a projection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ProjectionStatus {
    /// Nothing to worry about.
    Stable,
    /// Projected usage above 90 % of the allowance ("Sous tension").
    UnderStrain,
    /// At or over the allowance, or running out within a few days ("Action immédiate").
    ImmediateAction,
}

impl ProjectionStatus {
    /// The cockpit label in French (`fr...`) or English.
    pub fn label(&self, lang: &str) -> &'static str {
        let fr = lang.starts_with("fr");
        match (self, fr) {
            (ProjectionStatus::Stable, true) => "Stable",
            (ProjectionStatus::Stable, false) => "Stable",
            (ProjectionStatus::UnderStrain, true) => "Sous tension",
            (ProjectionStatus::UnderStrain, false) => "Under strain",
            (ProjectionStatus::ImmediateAction, true) => "Action immédiate",
            (ProjectionStatus::ImmediateAction, false) => "Immediate action",
        }
    }
}

/// A month-end projection of one counter.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Projection {
    /// Units per day since the period started.
    pub linear_pace: f64,
    /// Units per day over the last 7 days (or the elapsed part of the period if shorter).
    pub recent_pace: f64,
    /// The pace the projection uses.
    pub pace: f64,
    /// Projected usage at the end of the period (whole units, rounded).
    pub projected_used: u64,
    /// Projected usage / allowance (`None` when unlimited).
    pub projected_ratio: Option<f64>,
    /// Days until the allowance runs out at the pace; 0 when already out; `None` when it will
    /// not run out (no pace or unlimited).
    pub days_until_exhaustion: Option<f64>,
    /// Overage cost projected for the period.
    pub projected_overage_cost: Money,
    /// Status badge.
    pub status: ProjectionStatus,
}

/// Inputs of a projection.
#[derive(Clone, Copy, Debug)]
pub struct ProjectionInput<'a> {
    /// The period.
    pub period: BillingPeriod,
    /// The time of the projection.
    pub now: DateTime<Utc>,
    /// Units per day of the period, index 0 = first day.
    pub daily: &'a [u64],
    /// Current usage (normally the sum of `daily`).
    pub used: u64,
    /// The allowance (included + top-ups), `None` = unlimited.
    pub allowance: Option<u64>,
    /// The limit (for grace and overage policy).
    pub limit: &'a Limit,
    /// Catalog currency.
    pub currency: crate::money::Currency,
}

#[allow(clippy::cast_precision_loss)]
fn f(x: u64) -> f64 {
    x as f64
}

#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
fn to_units(x: f64) -> u64 {
    if x.is_nan() || x <= 0.0 {
        0
    } else if x >= 1.8e19 {
        u64::MAX
    } else {
        x.round() as u64
    }
}

/// Projects a counter to the end of its period.
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use quota_core::period::{BillingAnchor, BillingPeriod};
/// use quota_core::report::{ProjectionInput, ProjectionStatus, project};
/// use quota_core::{Currency, Limit};
/// let period = BillingPeriod::containing(BillingAnchor::default(), Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap());
/// let now = Utc.with_ymd_and_hms(2026, 11, 11, 0, 0, 0).unwrap(); // 10 days in, 30-day month
/// let daily = [10u64; 10];
/// let p = project(&ProjectionInput { period, now, daily: &daily, used: 100, allowance: Some(310),
///     limit: &Limit::block(310), currency: Currency::EUR });
/// assert_eq!(p.projected_used, 300);
/// assert_eq!(p.status, ProjectionStatus::UnderStrain); // 300 / 310 > 90 %
/// ```
pub fn project(input: &ProjectionInput<'_>) -> Projection {
    let period = input.period;
    let elapsed = period.elapsed_days(input.now);
    let remaining = period.remaining_days(input.now);
    let used = f(input.used);

    // A few minutes into a period the linear pace explodes; count at least one hour.
    let linear_pace = used / elapsed.max(1.0 / 24.0);

    let today = period.day_index(input.now);
    let window = elapsed.min(RECENT_WINDOW_DAYS);
    let first_day = elapsed - window;
    let recent_units: f64 = input
        .daily
        .iter()
        .enumerate()
        .filter(|(d, _)| *d <= usize::from(today))
        .map(|(d, units)| {
            // Share of day d inside the window [first_day, elapsed).
            #[allow(clippy::cast_precision_loss)]
            let start = d as f64;
            let end = (start + 1.0).min(elapsed);
            let covered = (end - start.max(first_day)).max(0.0);
            let length = (end - start).max(f64::MIN_POSITIVE);
            f(*units) * (covered / length).min(1.0)
        })
        .sum();
    let recent_pace = recent_units / window.max(1.0 / 24.0);

    let pace = if elapsed >= RECENT_WINDOW_DAYS {
        (linear_pace + recent_pace) / 2.0
    } else {
        linear_pace
    };
    let projected_used = to_units(used + pace * remaining).max(input.used);

    let (projected_ratio, days_until_exhaustion, cost, status) = match input.allowance {
        None => (
            None,
            None,
            Money::zero(input.currency),
            ProjectionStatus::Stable,
        ),
        Some(allowance) => {
            let ratio = f(projected_used) / f(allowance.max(1));
            let exhaustion = if input.used >= allowance {
                Some(0.0)
            } else if pace > 0.0 {
                Some(f(allowance.saturating_sub(input.used)) / pace)
            } else {
                None
            };
            let free = input.limit.free_units(allowance);
            let over = overage_units(projected_used, free);
            let cost = input.limit.overage.charge(over, input.currency);
            let immediate = input.used >= allowance
                || exhaustion.is_some_and(|d| d < remaining && d <= IMMEDIATE_HORIZON_DAYS);
            let status = if immediate {
                ProjectionStatus::ImmediateAction
            } else if ratio > STRAIN_RATIO {
                ProjectionStatus::UnderStrain
            } else {
                ProjectionStatus::Stable
            };
            (Some(ratio), exhaustion, cost, status)
        }
    };
    Projection {
        linear_pace,
        recent_pace,
        pace,
        projected_used,
        projected_ratio,
        days_until_exhaustion,
        projected_overage_cost: cost,
        status,
    }
}

/// A point of the usage curve: cumulative units at the end of a day of the period.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct CurvePoint {
    /// Day of the period (1 = end of the first day).
    pub day: u16,
    /// Cumulative units.
    pub units: u64,
}

/// The cumulative usage curve from daily buckets (one point per elapsed day, starting with
/// day 0 at 0 units).
pub fn cumulative_curve(daily: &[u64], days_elapsed: u16) -> Vec<CurvePoint> {
    let mut points = Vec::with_capacity(usize::from(days_elapsed).saturating_add(1));
    points.push(CurvePoint { day: 0, units: 0 });
    let mut total = 0u64;
    for day in 0..days_elapsed {
        total = total.saturating_add(daily.get(usize::from(day)).copied().unwrap_or(0));
        points.push(CurvePoint {
            day: day.saturating_add(1),
            units: total,
        });
    }
    points
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone};

    use super::*;
    use crate::money::Currency;
    use crate::period::BillingAnchor;

    fn nov() -> BillingPeriod {
        BillingPeriod::containing(
            BillingAnchor::default(),
            Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap(),
        )
    }

    fn run(daily: &[u64], days: i64, allowance: u64, limit: &Limit) -> Projection {
        let period = nov();
        project(&ProjectionInput {
            period,
            now: period.start + Duration::days(days),
            daily,
            used: daily.iter().sum(),
            allowance: Some(allowance),
            limit,
            currency: Currency::EUR,
        })
    }

    #[test]
    fn a_recent_acceleration_raises_the_projection() {
        let mut daily = vec![1u64; 20];
        daily.extend([20u64; 7]);
        let p = run(&daily, 27, 1000, &Limit::block(1000));
        assert!(p.recent_pace > p.linear_pace);
        assert!((p.recent_pace - 20.0).abs() < 1e-9);
        assert!(p.projected_used > 160 + 3 * 5);
    }

    #[test]
    fn at_the_limit_is_immediate_action() {
        let p = run(&[50, 50], 2, 100, &Limit::block(100));
        assert_eq!(p.status, ProjectionStatus::ImmediateAction);
        assert_eq!(p.days_until_exhaustion, Some(0.0));
    }

    #[test]
    fn running_out_in_two_days_is_immediate_action() {
        // 10 days at 10/day, allowance 120 -> out in 2 days.
        let p = run(&[10; 10], 10, 120, &Limit::block(120));
        assert_eq!(p.status, ProjectionStatus::ImmediateAction);
        assert!((p.days_until_exhaustion.unwrap() - 2.0).abs() < 1e-9);
    }

    #[test]
    fn no_usage_is_stable() {
        let p = run(&[], 10, 100, &Limit::block(100));
        assert_eq!(p.status, ProjectionStatus::Stable);
        assert_eq!(p.projected_used, 0);
        assert_eq!(p.days_until_exhaustion, None);
    }

    #[test]
    fn projected_overage_is_priced() {
        let limit = Limit::with_policy(
            100,
            crate::overage::OveragePolicy::Charge {
                unit_price: 5,
                per_units: std::num::NonZeroU64::new(1).unwrap(),
                cap: None,
            },
        );
        // 10/day over 30 days -> 300, 200 over at 5 -> 1000.
        let p = run(&[10; 15], 15, 100, &limit);
        assert_eq!(p.projected_used, 300);
        assert_eq!(p.projected_overage_cost.amount_minor, 1000);
    }

    #[test]
    fn curve_is_cumulative() {
        let c = cumulative_curve(&[1, 2, 3], 4);
        let units: Vec<u64> = c.iter().map(|p| p.units).collect();
        assert_eq!(units, [0, 1, 3, 6, 6]);
    }
}
