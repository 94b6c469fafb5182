//! Weekly seasonality: how much of a week's usage falls on each day of the week.
//!
//! Each day is compared with the mean of the week around it (centred where the series
//! allows); a day of the week's factor is the mean of those ratios, normalised to an
//! average of one. The factors are only estimated from at least two of each day of the week, and are
//! shrunk towards 1 (no pattern) by how much of their spread the day-to-day noise would
//! explain on its own (a James–Stein style shrinkage): a flat series gets factors of 1, a
//! clear weekday / weekend pattern keeps almost all of its shape.

/// Factors by day of the week, indexed by day of the period modulo 7.
pub(super) type Weekly = [f64; 7];

/// No pattern.
pub(super) const FLAT: Weekly = [1.0; 7];

/// Days of history the factors need (two of each day of the week).
pub(super) const MIN_DAYS: usize = 14;

/// Index into [`Weekly`] of day `day` of the period (negative: previous period).
pub(super) fn weekday(day: i64) -> usize {
    usize::try_from(day.rem_euclid(7)).unwrap_or(0)
}

/// Estimates the factors of `values`, whose first value is day `first_day` of the period;
/// `None` below [`MIN_DAYS`] days or without usage.
pub(super) fn estimate(values: &[f64], first_day: i64, strictness: f64) -> Option<Weekly> {
    let n = values.len();
    if n < MIN_DAYS {
        return None;
    }
    let mut sums = [0.0f64; 7];
    let mut squares = [0.0f64; 7];
    let mut counts = [0.0f64; 7];
    for (j, y) in values.iter().enumerate() {
        // The week around day j, inside the series.
        let from = j.saturating_sub(3).min(n.saturating_sub(7));
        let week = values
            .get(from..from.saturating_add(7).min(n))
            .unwrap_or(&[]);
        let level = super::mean(week);
        if level <= 0.0 {
            continue;
        }
        let ratio = y / level;
        let k = weekday(first_day.saturating_add(i64::try_from(j).unwrap_or(i64::MAX)));
        if let (Some(s), Some(q), Some(c)) =
            (sums.get_mut(k), squares.get_mut(k), counts.get_mut(k))
        {
            *s += ratio;
            *q += ratio * ratio;
            *c += 1.0;
        }
    }
    if counts.iter().any(|c| *c < 2.0) {
        return None;
    }
    let mut factors = [0.0f64; 7];
    let mut noise = 0.0;
    for k in 0..7 {
        let (s, q, c) = (
            sums.get(k).copied().unwrap_or(0.0),
            squares.get(k).copied().unwrap_or(0.0),
            counts.get(k).copied().unwrap_or(1.0),
        );
        let m = s / c;
        let var = ((q - c * m * m) / (c - 1.0)).max(0.0);
        noise += var / c;
        if let Some(f) = factors.get_mut(k) {
            *f = m;
        }
    }
    let mean: f64 = factors.iter().sum::<f64>() / 7.0;
    if !(mean > 0.0 && mean.is_finite()) {
        return None;
    }
    for f in &mut factors {
        *f /= mean;
    }
    let spread: f64 = factors.iter().map(|f| (f - 1.0).powi(2)).sum::<f64>() / 7.0;
    let noise = noise / 7.0 / (mean * mean);
    if spread <= 0.0 {
        return Some(FLAT);
    }
    let keep = (1.0 - strictness * noise / spread).clamp(0.0, 1.0);
    for f in &mut factors {
        *f = (1.0 + keep * (*f - 1.0)).max(0.0);
    }
    Some(factors)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_weekend_pattern_is_found_and_a_flat_series_has_none() {
        let days: Vec<f64> = (0..21)
            .map(|d| if weekday(d) >= 5 { 10.0 } else { 50.0 })
            .collect();
        let w = estimate(&days, 0, 1.0).unwrap();
        assert!((w[0] / w[5] - 5.0).abs() < 0.01, "{w:?}");
        assert!((w.iter().sum::<f64>() - 7.0).abs() < 1e-9);
        assert_eq!(estimate(&[7.0; 20], 0, 1.0), Some(FLAT));
        assert_eq!(estimate(&[7.0; 13], 0, 1.0), None);
    }

    #[test]
    fn the_first_day_sets_the_phase() {
        // Day 2 of the period is a "weekend" day: the series starts there.
        let days: Vec<f64> = (2..30)
            .map(|d| if weekday(d) >= 5 { 0.0 } else { 20.0 })
            .collect();
        let w = estimate(&days, 2, 1.0).unwrap();
        assert!(w[5] < 0.01 && w[6] < 0.01 && w[0] > 1.3, "{w:?}");
    }
}
