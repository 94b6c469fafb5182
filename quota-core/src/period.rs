//! Billing periods: half-open `[start, end)` intervals computed from an anchor day and a time.

use std::fmt;

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};
use serde::{Deserialize, Serialize};

/// The day of the month on which periods start, 1 to 31, at 00:00 UTC. In months shorter than
/// the anchor (anchor 31 in April, 29 to 31 in February) the period starts on the month's
/// last day. Anchor 1 (the default) gives calendar months.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub struct BillingAnchor(u8);

impl BillingAnchor {
    /// Calendar months (anchor day 1).
    pub const CALENDAR_MONTH: BillingAnchor = BillingAnchor(1);

    /// An anchor on `day` (1 to 31).
    pub fn day(day: u8) -> Result<Self, String> {
        if (1..=31).contains(&day) {
            Ok(BillingAnchor(day))
        } else {
            Err(format!("billing anchor day {day} is outside 1..=31"))
        }
    }

    /// The anchor day.
    pub fn get(&self) -> u8 {
        self.0
    }
}

impl Default for BillingAnchor {
    fn default() -> Self {
        BillingAnchor::CALENDAR_MONTH
    }
}

impl TryFrom<u8> for BillingAnchor {
    type Error = String;
    fn try_from(day: u8) -> Result<Self, String> {
        BillingAnchor::day(day)
    }
}

impl From<BillingAnchor> for u8 {
    fn from(a: BillingAnchor) -> u8 {
        a.0
    }
}

/// Identifies a billing period of a brand: its start date as `YYYYMMDD`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(transparent)]
pub struct PeriodKey(pub u32);

impl fmt::Display for PeriodKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:08}", self.0)
    }
}

/// A billing period `[start, end)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct BillingPeriod {
    /// First instant of the period.
    pub start: DateTime<Utc>,
    /// First instant after the period.
    pub end: DateTime<Utc>,
}

/// The period start in month (`year`, `month`) for `anchor`; `None` past chrono's range.
fn start_in_month(year: i32, month: u32, anchor: BillingAnchor) -> Option<DateTime<Utc>> {
    let first = NaiveDate::from_ymd_opt(year, month, 1)?;
    let next_first = if month == 12 {
        NaiveDate::from_ymd_opt(year.checked_add(1)?, 1, 1)?
    } else {
        NaiveDate::from_ymd_opt(year, month.checked_add(1)?, 1)?
    };
    let last_day = next_first.pred_opt()?.day();
    let day = u32::from(anchor.get()).min(last_day);
    let date = first.with_day(day)?;
    Some(Utc.from_utc_datetime(&date.and_hms_opt(0, 0, 0)?))
}

fn shift_month(year: i32, month: u32, by: i32) -> Option<(i32, u32)> {
    let index = i64::from(year)
        .checked_mul(12)?
        .checked_add(i64::from(month))?
        .checked_sub(1)?
        .checked_add(i64::from(by))?;
    let y = i32::try_from(index.div_euclid(12)).ok()?;
    let m = u32::try_from(index.rem_euclid(12)).ok()?.checked_add(1)?;
    Some((y, m))
}

impl BillingPeriod {
    /// The period of `anchor` that contains `at`.
    ///
    /// ```
    /// use chrono::{TimeZone, Utc};
    /// use quota_core::period::{BillingAnchor, BillingPeriod};
    /// let at = Utc.with_ymd_and_hms(2028, 3, 15, 12, 0, 0).unwrap();
    /// let p = BillingPeriod::containing(BillingAnchor::day(31).unwrap(), at);
    /// assert_eq!(p.start, Utc.with_ymd_and_hms(2028, 2, 29, 0, 0, 0).unwrap()); // leap year
    /// assert_eq!(p.end, Utc.with_ymd_and_hms(2028, 3, 31, 0, 0, 0).unwrap());
    /// assert_eq!(p.key().to_string(), "20280229");
    /// ```
    pub fn containing(anchor: BillingAnchor, at: DateTime<Utc>) -> BillingPeriod {
        let (y, m) = (at.year(), at.month());
        let this = start_in_month(y, m, anchor);
        let (start, end) = match this {
            Some(s) if at >= s => (
                Some(s),
                shift_month(y, m, 1).and_then(|(y, m)| start_in_month(y, m, anchor)),
            ),
            _ => (
                shift_month(y, m, -1).and_then(|(y, m)| start_in_month(y, m, anchor)),
                this,
            ),
        };
        BillingPeriod {
            start: start.unwrap_or(DateTime::<Utc>::MIN_UTC),
            end: end.unwrap_or(DateTime::<Utc>::MAX_UTC),
        }
    }

    /// The period that follows this one.
    pub fn next(&self, anchor: BillingAnchor) -> BillingPeriod {
        BillingPeriod::containing(anchor, self.end)
    }

    /// Whether `at` is inside `[start, end)`.
    pub fn contains(&self, at: DateTime<Utc>) -> bool {
        self.start <= at && at < self.end
    }

    /// The period's key (`YYYYMMDD` of its start).
    pub fn key(&self) -> PeriodKey {
        let d = self.start.date_naive();
        let y = u32::try_from(d.year().clamp(0, 9999)).unwrap_or(0);
        // y <= 9999, so the key stays below 10^8.
        PeriodKey(
            y.saturating_mul(10_000)
                .saturating_add(d.month().saturating_mul(100))
                .saturating_add(d.day()),
        )
    }

    /// Length of the period.
    pub fn duration(&self) -> Duration {
        self.end.signed_duration_since(self.start)
    }

    /// Length in days (28 to 31 for monthly periods).
    pub fn length_days(&self) -> u16 {
        u16::try_from(self.duration().num_days().clamp(0, i64::from(u16::MAX))).unwrap_or(u16::MAX)
    }

    /// Zero-based day of the period `at` falls in (clamped into the period).
    pub fn day_index(&self, at: DateTime<Utc>) -> u16 {
        let days = at.signed_duration_since(self.start).num_days();
        let max = i64::from(self.length_days().saturating_sub(1));
        u16::try_from(days.clamp(0, max)).unwrap_or(0)
    }

    /// Elapsed fraction of days since the start at `at`, clamped to the period.
    pub fn elapsed_days(&self, at: DateTime<Utc>) -> f64 {
        let at = at.clamp(self.start, self.end);
        seconds_to_days(at.signed_duration_since(self.start))
    }

    /// Days left until the end at `at`, clamped to the period.
    pub fn remaining_days(&self, at: DateTime<Utc>) -> f64 {
        let at = at.clamp(self.start, self.end);
        seconds_to_days(self.end.signed_duration_since(at))
    }
}

#[allow(clippy::cast_precision_loss)] // seconds in a month are far below 2^52
fn seconds_to_days(d: Duration) -> f64 {
    d.num_seconds() as f64 / 86_400.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(y: i32, m: u32, d: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, 0, 0, 0).unwrap()
    }

    #[test]
    fn calendar_months_by_default() {
        let p = BillingPeriod::containing(BillingAnchor::default(), utc(2026, 11, 25));
        assert_eq!((p.start, p.end), (utc(2026, 11, 1), utc(2026, 12, 1)));
        let dec = BillingPeriod::containing(BillingAnchor::default(), utc(2026, 12, 31));
        assert_eq!(dec.end, utc(2027, 1, 1));
    }

    #[test]
    fn the_end_is_excluded_and_belongs_to_the_next_period() {
        let a = BillingAnchor::default();
        let p = BillingPeriod::containing(a, utc(2026, 11, 30));
        assert!(!p.contains(p.end));
        assert_eq!(BillingPeriod::containing(a, p.end), p.next(a));
        assert_eq!(p.next(a).start, p.end);
    }

    #[test]
    fn anchor_days_past_the_month_end_clamp_to_the_last_day() {
        let a = BillingAnchor::day(30).unwrap();
        let p = BillingPeriod::containing(a, utc(2027, 3, 1));
        assert_eq!((p.start, p.end), (utc(2027, 2, 28), utc(2027, 3, 30)));
        let a31 = BillingAnchor::day(31).unwrap();
        let apr = BillingPeriod::containing(a31, utc(2026, 4, 30));
        assert_eq!((apr.start, apr.end), (utc(2026, 4, 30), utc(2026, 5, 31)));
    }

    #[test]
    fn day_index_and_elapsed() {
        let p = BillingPeriod::containing(BillingAnchor::default(), utc(2026, 2, 10));
        assert_eq!(p.length_days(), 28);
        assert_eq!(p.day_index(utc(2026, 2, 10)), 9);
        assert!((p.elapsed_days(utc(2026, 2, 10)) - 9.0).abs() < 1e-9);
        assert!((p.remaining_days(utc(2026, 2, 10)) - 19.0).abs() < 1e-9);
    }

    #[test]
    fn extreme_dates_do_not_panic() {
        let a = BillingAnchor::day(31).unwrap();
        let max = BillingPeriod::containing(a, DateTime::<Utc>::MAX_UTC);
        assert_eq!(max.end, DateTime::<Utc>::MAX_UTC);
        let min = BillingPeriod::containing(a, DateTime::<Utc>::MIN_UTC);
        assert!(min.start <= DateTime::<Utc>::MIN_UTC);
        let _ = min.key();
        assert!(BillingAnchor::day(0).is_err());
        assert!(BillingAnchor::day(32).is_err());
    }
}
