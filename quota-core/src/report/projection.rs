//! Projections: where usage will stand at the end of the period, from daily buckets.
//!
//! The forecaster ([`super::forecast`]) reads the period's daily usage (and the previous
//! period's, when the store still has it) and gives the rest of the period as a median and
//! an 80 % band; this module turns them into whole units, a status and a number of days
//! until the allowance runs out. Estimates are floating point; units and money are not: the
//! projected totals are whole units within [`MAX_UNITS`], and the projected overage cost is
//! computed from them.
//!
//! The rules, with "allowance" = included units plus the period's top-ups:
//!
//! - `projected_used` is the median end-of-period total, `projected_low` and
//!   `projected_high` its 10th and 90th percentiles: the real total should fall between
//!   them four times out of five. All three are at least the usage so far.
//! - **Under strain** ("Sous tension"): the median is above 90 % of the allowance
//!   ([`STRAIN_RATIO`]).
//! - **Immediate action** ("Action immédiate"): the allowance is used up, or the 90th
//!   percentile reaches it within [`IMMEDIATE_HORIZON_DAYS`] days and before the period
//!   ends: at least one chance in ten of running out within three days. It wins over
//!   "under strain".
//! - `days_until_exhaustion` follows the median: the days until the allowance is used up.
//!   For a metric that **blocks** at its limit, that is when requests start being refused;
//!   for a metric that **charges** overage, it is when the included units (and top-ups) are
//!   used up and billing starts (requests are only refused later, if a spend cap is
//!   reached).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::forecast::{History, Reset, TUNING, Z90, forecast};
use crate::domain::MAX_UNITS;
use crate::overage::overage_units;
use crate::period::BillingPeriod;
use crate::{Limit, Money};

/// Days of history the recent pace looks at.
pub const RECENT_WINDOW_DAYS: f64 = 7.0;
/// Exhaustion at the 90th percentile within this many days (and before the period ends) is
/// "immediate".
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
    /// Median projected usage above 90 % of the allowance ("Sous tension").
    UnderStrain,
    /// At or over the allowance, or at least one chance in ten (the 90th percentile) of
    /// running out within [`IMMEDIATE_HORIZON_DAYS`] days ("Action immédiate").
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
    /// The forecaster's median units per day over the rest of the period (spikes and
    /// resets left out, trend and weekdays taken into account).
    pub pace: f64,
    /// Median projected usage at the end of the period (whole units).
    pub projected_used: u64,
    /// Projected usage / allowance (`None` when unlimited).
    pub projected_ratio: Option<f64>,
    /// Days until the allowance runs out on the median projection; 0 when already out;
    /// `None` when it will not run out (no usage expected, or unlimited). Past the period
    /// end it extrapolates the last day's pace.
    pub days_until_exhaustion: Option<f64>,
    /// Overage cost projected for the period.
    pub projected_overage_cost: Money,
    /// Status badge.
    pub status: ProjectionStatus,
    /// 10th percentile of the usage at the end of the period (whole units).
    pub projected_low: u64,
    /// 90th percentile of the usage at the end of the period (whole units).
    pub projected_high: u64,
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
    /// Units per day of the previous period (empty when unknown): a prior early in the
    /// period.
    pub previous: &'a [u64],
    /// Current usage (normally the sum of `daily`).
    pub used: u64,
    /// The allowance (included + top-ups), `None` = unlimited.
    pub allowance: Option<u64>,
    /// The limit (for grace and overage policy).
    pub limit: &'a Limit,
    /// Catalog currency.
    pub currency: crate::money::Currency,
    /// The counter's latest reset in the period, if any: the usage it set is a level, not
    /// pace (see [`ResetPoint`]).
    pub reset: Option<ResetPoint>,
}

/// A reset of a counter during its period (a support reset to a target, or to zero), as the
/// brand's timeline records it. The store cleared the days before it and wrote `level` in
/// the bucket of its day: the projection counts those units as used, reads the pace only from
/// what came after, and right after the reset (nothing seen since) projects the level itself
/// plus what a previous period suggests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ResetPoint {
    /// When the counter was reset.
    pub at: DateTime<Utc>,
    /// The usage the reset left in the counter.
    pub level: u64,
}

#[allow(clippy::cast_precision_loss)]
fn f(x: u64) -> f64 {
    x as f64
}

/// Whole units of `x`, within `0..=MAX_UNITS`.
#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
fn to_units(x: f64) -> u64 {
    if x.is_nan() || x <= 0.0 {
        0
    } else if x >= f(MAX_UNITS) {
        MAX_UNITS
    } else {
        // Below 2^53: exact.
        x.round() as u64
    }
}

/// `used + extra` in whole units, within `used..=MAX_UNITS` (`used` itself capped).
fn total(used: u64, extra: f64) -> u64 {
    used.checked_add(to_units(extra))
        .unwrap_or(MAX_UNITS)
        .min(MAX_UNITS)
}

/// Projects a counter to the end of its period: the median, the 80 % band, the days until
/// the allowance runs out and the status (the rules: the header of `src/report/projection.rs`).
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use quota_core::period::{BillingAnchor, BillingPeriod};
/// use quota_core::report::{ProjectionInput, ProjectionStatus, project};
/// use quota_core::{Currency, Limit};
/// let period = BillingPeriod::containing(BillingAnchor::default(), Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap());
/// let now = Utc.with_ymd_and_hms(2026, 11, 11, 0, 0, 0).unwrap(); // 10 days in, 30-day month
/// let daily = [10u64; 10];
/// let p = project(&ProjectionInput { period, now, daily: &daily, previous: &[], used: 100,
///     allowance: Some(310), limit: &Limit::block(310), currency: Currency::EUR, reset: None });
/// assert_eq!(p.projected_used, 300);
/// assert!(p.projected_low < 300 && 300 < p.projected_high);
/// assert_eq!(p.status, ProjectionStatus::UnderStrain); // 300 / 310 > 90 %
/// ```
pub fn project(input: &ProjectionInput<'_>) -> Projection {
    let period = input.period;
    let elapsed = period.elapsed_days(input.now);
    let remaining = period.remaining_days(input.now);
    let used_units = input.used.min(MAX_UNITS);
    let used = f(used_units);

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

    let forecast = forecast(
        &History {
            daily: input.daily,
            previous: input.previous,
            period_days: period.length_days(),
            elapsed,
            used,
            // A reset before the period is not this period's; the forecaster checks the rest
            // (a time within the elapsed part, finite values).
            reset: input.reset.filter(|r| r.at >= period.start).map(|r| Reset {
                at: period.elapsed_days(r.at),
                level: f(r.level),
            }),
        },
        &TUNING,
    );
    let projected_used = total(used_units, forecast.remaining(0.0));
    let projected_low = total(used_units, forecast.remaining(-Z90)).min(projected_used);
    let projected_high = total(used_units, forecast.remaining(Z90)).max(projected_used);

    let (projected_ratio, days_until_exhaustion, cost, status) = match input.allowance {
        None => (
            None,
            None,
            Money::zero(input.currency),
            ProjectionStatus::Stable,
        ),
        Some(allowance) => {
            let ratio = f(projected_used) / f(allowance.max(1));
            let budget = f(allowance.saturating_sub(used_units));
            let exhaustion = if used_units >= allowance {
                Some(0.0)
            } else {
                forecast.days_until(budget, 0.0)
            };
            let free = input.limit.free_units(allowance);
            let over = overage_units(projected_used, free);
            let cost = input.limit.overage.charge(over, input.currency);
            let immediate = used_units >= allowance
                || forecast
                    .days_until(budget, Z90)
                    .is_some_and(|d| d < remaining && d <= IMMEDIATE_HORIZON_DAYS);
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
        pace: forecast.pace(),
        projected_used,
        projected_ratio,
        days_until_exhaustion,
        projected_overage_cost: cost,
        status,
        projected_low,
        projected_high,
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
            previous: &[],
            used: daily.iter().sum(),
            allowance: Some(allowance),
            limit,
            currency: Currency::EUR,
            reset: None,
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
    fn a_reset_is_a_level_not_a_pace() {
        // The runbook's reset to 92 % (460 of 500) with a 25-unit top-up, half a day before
        // the end of a 30-day period, on a brand without history: the target is not a pace
        // (the old projection read it as one), only the naive line is left for the half day.
        let mut daily = vec![0u64; 29];
        daily.push(460);
        let period = nov();
        let p = project(&ProjectionInput {
            period,
            now: period.start + Duration::hours(29 * 24 + 12),
            daily: &daily,
            previous: &[],
            used: 460,
            allowance: Some(525),
            limit: &Limit::block(525),
            currency: Currency::EUR,
            reset: None,
        });
        assert_eq!(p.projected_used, 468); // 460 + 460 / 29.5 / 2
        assert_eq!(p.status, ProjectionStatus::Stable); // 89 % of 525
        // Two days after a reset mid-period, the days since give the pace.
        let mut daily = vec![0u64; 12];
        daily.extend([460, 10, 10]);
        let p = run(&daily, 15, 525, &Limit::block(525));
        assert_eq!(p.projected_used, 480 + 150);
    }

    #[test]
    fn a_reset_known_from_the_timeline_is_a_level_from_its_first_minute() {
        // `quota reset --target 92` on day 10 at 06:00 of a brand without history (460 of
        // 500), read one minute later: the level itself, nothing seen since.
        let period = nov();
        let at = period.start + Duration::hours(10 * 24 + 6);
        let mut daily = vec![0u64; 10];
        daily.push(460);
        let input = |now, daily: &[u64], used| {
            project(&ProjectionInput {
                period,
                now,
                daily,
                previous: &[],
                used,
                allowance: Some(500),
                limit: &Limit::block(500),
                currency: Currency::EUR,
                reset: Some(ResetPoint { at, level: 460 }),
            })
        };
        let p = input(at + Duration::minutes(1), &daily, 460);
        assert_eq!(p.projected_used, 460);
        assert_eq!(p.projected_low, 460);
        assert!(p.projected_high < 470, "{p:?}");
        assert_eq!(p.status, ProjectionStatus::UnderStrain); // 92 % > 90 %
        // Without the timeline the target reads as pace: the naive line explodes.
        let blind = project(&ProjectionInput {
            period,
            now: at + Duration::minutes(1),
            daily: &daily,
            previous: &[],
            used: 460,
            allowance: Some(500),
            limit: &Limit::block(500),
            currency: Currency::EUR,
            reset: None,
        });
        assert!(blind.projected_used > 1000, "{blind:?}");
        // A day and a half later (18 units since, 10 of them today; no whole day after the
        // reset's yet): the pace since the reset, 12 a day, for the 18.25 days left.
        daily[10] = 468;
        daily.push(10);
        let p = input(at + Duration::hours(36), &daily, 478);
        assert_eq!(p.projected_used, 478 + 219);
        assert_eq!(p.status, ProjectionStatus::ImmediateAction, "{p:?}"); // 697 of 500
    }

    #[test]
    fn immediate_action_reads_the_90th_percentile() {
        // 45 units left at 10 a day: the median runs out in 4.5 days; the 90th percentile
        // of a noisy brand within 3.
        let steady = [10u64; 12];
        let p = run(&steady, 12, 165, &Limit::block(165));
        assert!((p.days_until_exhaustion.unwrap() - 4.5).abs() < 1e-9);
        assert_eq!(p.status, ProjectionStatus::UnderStrain);
        let noisy = [2u64, 18, 4, 16, 3, 17, 5, 15, 2, 18, 6, 14];
        let p = run(&noisy, 12, 165, &Limit::block(165));
        assert_eq!(p.status, ProjectionStatus::ImmediateAction, "{p:?}");
    }

    #[test]
    fn curve_is_cumulative() {
        let c = cumulative_curve(&[1, 2, 3], 4);
        let units: Vec<u64> = c.iter().map(|p| p.units).collect();
        assert_eq!(units, [0, 1, 3, 6, 6]);
    }
}
