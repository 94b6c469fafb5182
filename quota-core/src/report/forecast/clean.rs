//! Cleaning the daily series before any pace is read from it: one-off spikes and levels
//! set by a reset are usage, but not pace.
//!
//! - A **spike** is a day far above the usual level on both sides of it (the median of up to
//!   a week before and of up to a week after); the last day, which has no "after", must
//!   also stand far above the day before it, so that two high days in a row read as a new
//!   level rather than as a spike. A spike's units stay in the total used; for the pace the
//!   day counts as the median of its neighbours.
//! - A **level set**: a spike with nothing but zeros before it is what a reset to a target
//!   leaves in the store (the earlier days cleared, the target written on the reset day),
//!   or a bulk import on a brand's first day. The pace is read from the days after it only.
//! - **Leading zeros** that the later pace makes implausible (a brand that started
//!   mid-period, or history cleared by a reset to zero) are dropped as well.

use super::median;

/// Days each side of a day that its neighbourhood spans.
const NEIGHBOURS: usize = 7;
/// A spike is above `SPIKE_RATIO` times the neighbours' level ...
const SPIKE_RATIO: f64 = 3.0;
/// ... plus this many Poisson standard deviations of that level ...
const SPIKE_SIGMAS: f64 = 3.0;
/// ... plus this many units (so that 0 → 2 is not a spike).
const SPIKE_UNITS: f64 = 3.0;
/// Leading zeros are dropped when the later pace would have put this many units in them.
const IMPLAUSIBLE_ZERO_UNITS: f64 = 4.0;

/// The series the pace is read from.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Cleaned {
    /// Index (day of the period) of the first day kept.
    pub(super) start: usize,
    /// The days kept, spikes replaced by their neighbours' level.
    pub(super) values: Vec<f64>,
    /// Days read as one-off spikes (kept or dropped).
    pub(super) spikes: usize,
}

fn far_above(x: f64, level: f64) -> bool {
    let level = level.max(0.0);
    x > SPIKE_RATIO * level + SPIKE_SIGMAS * level.sqrt() + SPIKE_UNITS
}

/// Cleans whole days of usage (index 0 = first day of the period).
pub(super) fn clean(days: &[f64]) -> Cleaned {
    let n = days.len();
    let mut values = days.to_vec();
    let mut spikes = 0usize;
    let mut start = 0usize;
    for i in 0..n {
        let Some(&x) = days.get(i) else { break };
        let before = days.get(i.saturating_sub(NEIGHBOURS)..i).unwrap_or(&[]);
        let after = days
            .get(i.saturating_add(1)..i.saturating_add(1).saturating_add(NEIGHBOURS).min(n))
            .unwrap_or(&[]);
        let level_before = median(before);
        let level_after = median(after);
        let spike = match (level_before, level_after) {
            (None, None) => false,
            (Some(b), None) => {
                // The last day: also far above the day before it.
                let previous = before.last().copied().unwrap_or(0.0);
                far_above(x, b) && far_above(x, previous)
            }
            (None, Some(a)) => far_above(x, a),
            (Some(b), Some(a)) => far_above(x, b) && far_above(x, a),
        };
        if !spike {
            continue;
        }
        spikes = spikes.saturating_add(1);
        if days
            .get(start..i)
            .is_some_and(|d| d.iter().all(|v| *v <= 0.0))
        {
            // A level set (reset) or a first-day import: the pace starts after it.
            start = i.saturating_add(1);
        } else {
            let mut around: Vec<f64> = before.iter().chain(after).copied().collect();
            around.retain(|v| v.is_finite());
            if let Some(slot) = values.get_mut(i) {
                *slot = median(&around).unwrap_or(0.0);
            }
        }
    }
    // Implausible leading zeros.
    let kept = values.get(start..).unwrap_or(&[]);
    let first = kept.iter().position(|v| *v > 0.0).unwrap_or(0);
    if first > 0 {
        let rest = kept.get(first..).unwrap_or(&[]);
        let rate = super::mean(rest);
        #[allow(clippy::cast_precision_loss)]
        let zeros = first as f64;
        if rate * zeros > IMPLAUSIBLE_ZERO_UNITS {
            start = start.saturating_add(first);
        }
    }
    let values = values.get(start..).map(<[f64]>::to_vec).unwrap_or_default();
    Cleaned {
        start: start.min(n),
        values,
        spikes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_one_off_import_counts_as_its_neighbours() {
        let mut days = vec![10.0; 14];
        days[6] = 500.0;
        let c = clean(&days);
        assert_eq!(c.start, 0);
        assert_eq!(c.spikes, 1);
        assert!(c.values.iter().all(|v| (*v - 10.0).abs() < 1e-9));
    }

    #[test]
    fn a_reset_starts_the_pace_after_it() {
        // Days cleared by the reset, the target on its day, then the usual pace.
        let mut days = vec![0.0; 10];
        days.push(460.0);
        days.extend([12.0, 9.0, 11.0]);
        let c = clean(&days);
        assert_eq!(c.start, 11);
        assert_eq!(c.values, [12.0, 9.0, 11.0]);
    }

    #[test]
    fn two_high_days_in_a_row_are_a_new_level_not_spikes() {
        let mut days = vec![10.0; 10];
        days.extend([60.0, 62.0]);
        let c = clean(&days);
        assert_eq!(c.spikes, 0);
        assert_eq!(c.values.last(), Some(&62.0));
    }

    #[test]
    fn a_weekly_pattern_is_not_a_spike() {
        let days: Vec<f64> = (0..21)
            .map(|d| if d % 7 >= 5 { 5.0 } else { 40.0 })
            .collect();
        assert_eq!(clean(&days).spikes, 0);
    }

    #[test]
    fn a_late_start_drops_the_leading_zeros() {
        let mut days = vec![0.0; 8];
        days.extend([30.0, 28.0, 35.0]);
        assert_eq!(clean(&days).start, 8);
        // Sparse usage keeps its zeros: they are the pace.
        let sparse = [0.0, 0.0, 1.0, 0.0, 0.0, 2.0, 0.0];
        assert_eq!(clean(&sparse).start, 0);
    }

    #[test]
    fn nothing_and_zeros_are_fine() {
        assert_eq!(clean(&[]).values, Vec::<f64>::new());
        assert_eq!(clean(&[0.0; 5]).values, vec![0.0; 5]);
    }
}
