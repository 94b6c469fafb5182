//! The forecaster: the rest of the period, day by day, as a median and an 80 % band.
//!
//! In plain words, for one counter:
//!
//! 1. **Clean** the whole days seen so far ([`clean`]): a one-off spike (a bulk import)
//!    counts as a usual day, and a level set by a reset to a target (or the zeros before a
//!    late start) is left out: usage, not pace.
//! 2. **Weekly pattern** ([`season`]): once two weeks are seen (before that, from the
//!    previous period if the store still has it), each day of the week gets a factor, so
//!    that a quiet weekend is neither read as a slowdown nor extrapolated.
//! 3. **Level and course** ([`trend`]): flat, trending (damped), decaying after a launch,
//!    or stepped to a new level; the simplest model the data support wins. Early in the
//!    period a flat level leans on the previous period's, as long as the two agree.
//! 4. **The rest of the period**: the chosen level for each remaining day times its weekday
//!    factor (the rest of today counts pro rata).
//! 5. **The band**: the day-to-day noise, the uncertainty of the fitted level and trend,
//!    and the chance that the level moves before the period ends (a random walk), on a
//!    log scale so that usage can surprise upwards more than downwards. The 10th and 90th
//!    percentiles are read from it.
//!
//! Every knob was set on the backtests (`cargo run --release -p quota-core --example
//! backtest`): synthetic traces of the kinds listed in the user guide, read at days 7, 14
//! and 21 and compared with the real end-of-period total.
//!
//! Everything here is `f64` and total (no input panics, non-finite values fall back to
//! the naive line); the projection turns it into whole units.

mod clean;
mod season;
mod trend;

use season::Weekly;
use trend::{Fit, Prior, TrendTuning};

/// The z-score of the 90th percentile of a normal distribution.
pub(crate) const Z90: f64 = 1.281_551_565_545;

/// All knobs, in one place.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Tuning {
    trend: TrendTuning,
    /// Daily variance of the level's random walk, as a share of the level squared.
    drift: f64,
    /// Multiplier of the parameters' variance (the model could be the wrong one).
    parameter_inflation: f64,
    /// Multiplier of the band's log-scale width.
    width: f64,
    /// Log-scale spread when nothing but the naive line is known.
    naive_spread: f64,
    /// How sure the weekly pattern must be (multiplier of the noise in its shrinkage).
    season_strictness: f64,
}

/// The knobs the backtests settled on (see `examples/backtest.rs`).
pub(crate) const TUNING: Tuning = Tuning {
    trend: TrendTuning {
        damping: 0.98,
        trend_scale: 3.0,
        settled_odds: 0.03,
        odds_linear: 1.0,
        odds_decay: 3.0,
        odds_step: 0.3,
        min_days_trend: 5,
        prior_days: 4.0,
        prior_agreement: 3.0,
    },
    drift: 0.002,
    parameter_inflation: 1.0,
    width: 1.0,
    naive_spread: 0.8,
    season_strictness: 2.0,
};

/// What the forecaster reads.
#[derive(Clone, Copy, Debug)]
pub(crate) struct History<'a> {
    /// Units per day of the period, index 0 = first day (may be short or long).
    pub(crate) daily: &'a [u64],
    /// The previous period's units per day (empty when unknown).
    pub(crate) previous: &'a [u64],
    /// Days in the period.
    pub(crate) period_days: u16,
    /// Days elapsed (fractional).
    pub(crate) elapsed: f64,
    /// Units used so far.
    pub(crate) used: f64,
    /// The counter's reset in the period, if any.
    pub(crate) reset: Option<Reset>,
}

/// A reset of the counter during the period: the days before it were cleared and `level`
/// units written in the bucket of its day.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Reset {
    /// Days elapsed at the reset (fractional, within the elapsed time).
    pub(crate) at: f64,
    /// Units the reset set.
    pub(crate) level: f64,
}

/// The forecast of the rest of the period.
#[derive(Clone, Debug, Default)]
pub(crate) struct Forecast {
    /// Length in days of each remaining slot: the rest of today, then whole days.
    slots: Vec<f64>,
    /// Median units expected in each slot.
    rates: Vec<f64>,
    /// Median cumulative units at the end of each slot.
    median: Vec<f64>,
    /// Log-scale spread of the cumulative units at the end of each slot.
    spread: Vec<f64>,
    /// Deseasonalised units per day at the start of the rest of the period.
    pub(crate) level: f64,
}

pub(crate) fn mean(values: &[f64]) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    #[allow(clippy::cast_precision_loss)]
    let n = values.len() as f64;
    values.iter().sum::<f64>() / n
}

pub(crate) fn median(values: &[f64]) -> Option<f64> {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    let hi = v.get(mid).copied()?;
    if v.len() % 2 == 1 {
        Some(hi)
    } else {
        Some((v.get(mid.saturating_sub(1)).copied().unwrap_or(hi) + hi) / 2.0)
    }
}

#[allow(clippy::cast_precision_loss)]
fn units(x: u64) -> f64 {
    x as f64
}

#[allow(clippy::cast_precision_loss)]
fn days_f(x: usize) -> f64 {
    x as f64
}

/// The weekly factors and the prior from the previous period, if it has usage.
fn previous_period(
    previous: &[u64],
    own: Option<Weekly>,
    strictness: f64,
) -> (Weekly, Option<Prior>) {
    let raw: Vec<f64> = previous.iter().map(|u| units(*u)).collect();
    if raw.iter().all(|v| *v <= 0.0) {
        return (own.unwrap_or(season::FLAT), None);
    }
    let cleaned = clean::clean(&raw);
    let len = i64::try_from(raw.len()).unwrap_or(0);
    let first = i64::try_from(cleaned.start)
        .unwrap_or(0)
        .saturating_sub(len);
    let weekly = own
        .or_else(|| season::estimate(&cleaned.values, first, strictness))
        .unwrap_or(season::FLAT);
    // The last two weeks of the previous period, deseasonalised.
    let from = cleaned.values.len().saturating_sub(14);
    let mut z = Vec::new();
    for (j, y) in cleaned.values.iter().enumerate().skip(from) {
        let day = first.saturating_add(i64::try_from(j).unwrap_or(0));
        let s = weekly.get(season::weekday(day)).copied().unwrap_or(1.0);
        if s > 0.05 {
            z.push(y / s);
        }
    }
    if z.is_empty() {
        return (weekly, None);
    }
    let level = mean(&z);
    let sigma2 = z.iter().map(|v| (v - level).powi(2)).sum::<f64>()
        / days_f(z.len().saturating_sub(1).max(1));
    (weekly, Some(Prior { level, sigma2 }))
}

/// Forecasts the rest of the period.
pub(crate) fn forecast(history: &History<'_>, tuning: &Tuning) -> Forecast {
    let period = usize::from(history.period_days);
    let elapsed = if history.elapsed.is_finite() {
        history.elapsed.clamp(0.0, days_f(period))
    } else {
        0.0
    };
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let full = (elapsed.floor() as usize).min(period);
    let done_today = elapsed - days_f(full);
    if full >= period {
        return Forecast::default();
    }
    let mut slots = Vec::with_capacity(period.saturating_sub(full));
    slots.push(1.0 - done_today);
    slots.resize(period.saturating_sub(full), 1.0);

    // After a reset, the pace is read from the whole days after its day only: the days
    // before were cleared and its day holds the level it set plus part of a day's usage.
    let reset = history
        .reset
        .filter(|r| r.at.is_finite() && r.level.is_finite() && (0.0..=elapsed).contains(&r.at));
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let reset_day = reset.map(|r| (r.at.floor() as usize).min(period));
    let from = reset_day.map_or(0, |d| d.saturating_add(1)).min(full);
    let seen: Vec<f64> = (from..full)
        .map(|d| units(history.daily.get(d).copied().unwrap_or(0)))
        .collect();
    let mut cleaned = clean::clean(&seen);
    cleaned.start = cleaned.start.saturating_add(from);
    let mut today = units(history.daily.get(full).copied().unwrap_or(0));
    if let (Some(r), Some(day)) = (reset, reset_day)
        && day == full
    {
        today = (today - r.level).max(0.0);
    }
    if today > 0.0 && cleaned.values.iter().all(|v| *v <= 0.0) {
        // Nothing since the period started (or since a reset) but usage today: a brand
        // starting, or a reset today. The silent days say nothing about the pace.
        cleaned.start = full;
        cleaned.values.clear();
    }
    let first = i64::try_from(cleaned.start).unwrap_or(0);
    let own = season::estimate(&cleaned.values, first, tuning.season_strictness);
    let (weekly, prior) = previous_period(history.previous, own, tuning.season_strictness);
    let factor = |day: i64| weekly.get(season::weekday(day)).copied().unwrap_or(1.0);

    let mut z = Vec::with_capacity(cleaned.values.len());
    let mut w = Vec::with_capacity(cleaned.values.len());
    for (j, y) in cleaned.values.iter().enumerate() {
        let s = factor(first.saturating_add(i64::try_from(j).unwrap_or(0)));
        if s > 0.05 {
            z.push(y / s);
            w.push(s);
        } else {
            z.push(0.0);
            w.push(0.0);
        }
    }
    let fits = trend::fit(&z, &w, prior, &tuning.trend);
    build(&fits, &slots, full, cleaned.start, &weekly, tuning)
        .unwrap_or_else(|| naive(history, reset, elapsed, slots, tuning))
}

/// The forecast from the fitted level models, averaged by their weights.
fn build(
    fits: &[(f64, Fit)],
    slots: &[f64],
    full: usize,
    start: usize,
    weekly: &Weekly,
    tuning: &Tuning,
) -> Option<Forecast> {
    if fits.is_empty() {
        return None;
    }
    let damping = tuning.trend.damping;
    // Day `full` of the period is day `full - start` of the fitted series.
    let offset = days_f(full) - days_f(start);
    let level: f64 = fits.iter().map(|(p, f)| p * f.level(offset, damping)).sum();
    // A level of zero still has a Poisson chance of a few units.
    let floor = 1.0 / (offset + 1.0);
    let count = slots.len();
    let mut mixed_mean = vec![0.0; count];
    let mut mixed_second = vec![0.0; count];
    for (p, fit) in fits {
        let (mut sum_a, mut sum_g, mut noise, mut cumulative) = (0.0, 0.0, 0.0, 0.0);
        for (k, len) in slots.iter().enumerate() {
            let t = offset + days_f(k);
            let day = full.saturating_add(k);
            let s = weekly
                .get(season::weekday(i64::try_from(day).unwrap_or(0)))
                .copied()
                .unwrap_or(1.0);
            cumulative += fit.level(t, damping) * s * len;
            sum_a += len * s;
            sum_g += len * s * fit.future_basis(t, damping);
            noise += len * s * fit.sigma2.max(level.max(floor));
            let variance =
                noise + fit.parameter_variance(sum_a, sum_g) * tuning.parameter_inflation;
            if let (Some(m), Some(q)) = (mixed_mean.get_mut(k), mixed_second.get_mut(k)) {
                *m += p * cumulative;
                *q += p * (variance + cumulative * cumulative);
            }
        }
    }
    let mut rates = Vec::with_capacity(count);
    let mut median = Vec::with_capacity(count);
    let mut spread = Vec::with_capacity(count);
    let (mut before, mut horizon) = (0.0, 0.0);
    for ((m, q), len) in mixed_mean.iter().zip(&mixed_second).zip(slots) {
        horizon += len;
        let drift = tuning.drift * level.max(floor).powi(2) * horizon.powi(3) / 3.0;
        let variance = (q - m * m).max(0.0) + drift;
        let sigma = spread_of(*m, variance) * tuning.width;
        if !(m.is_finite() && sigma.is_finite()) {
            return None;
        }
        rates.push(m - before);
        median.push(*m);
        spread.push(sigma);
        before = *m;
    }
    Some(Forecast {
        slots: slots.to_vec(),
        rates,
        median,
        spread,
        level,
    })
}

/// Log-scale standard deviation of a total with median `median` and variance `variance`.
fn spread_of(median: f64, variance: f64) -> f64 {
    if median <= 0.0 {
        // Nothing expected: the band is additive (see `Forecast::quantile`).
        return variance.max(0.0).sqrt();
    }
    (1.0 + variance.max(0.0) / (median * median)).ln().sqrt()
}

/// The naive line, for when nothing better is known: used / elapsed × period; after a reset,
/// the units since it over the time since it (the level it set is not pace).
fn naive(
    history: &History<'_>,
    reset: Option<Reset>,
    elapsed: f64,
    slots: Vec<f64>,
    tuning: &Tuning,
) -> Forecast {
    let used = if history.used.is_finite() {
        history.used.max(0.0)
    } else {
        0.0
    };
    let (units, time) = match reset {
        Some(r) => ((used - r.level).max(0.0), elapsed - r.at),
        None => (used, elapsed),
    };
    // A few minutes into a period (or after a reset) the linear pace explodes; count at
    // least one hour.
    let pace = units / time.max(1.0 / 24.0);
    let mut cumulative = 0.0;
    let mut rates = Vec::with_capacity(slots.len());
    let mut median = Vec::with_capacity(slots.len());
    let mut spread = Vec::with_capacity(slots.len());
    for len in &slots {
        let expected = pace * len;
        cumulative += expected;
        rates.push(expected);
        median.push(cumulative);
        spread.push(if cumulative > 0.0 {
            tuning.naive_spread
        } else {
            1.0
        });
    }
    Forecast {
        slots,
        rates,
        median,
        spread,
        level: pace,
    }
}

impl Forecast {
    /// Days left in the period.
    pub(crate) fn horizon(&self) -> f64 {
        self.slots.iter().sum()
    }

    /// Units at the end of slot `k` at normal quantile `z` (0 = median).
    fn quantile(&self, k: usize, z: f64) -> f64 {
        let m = self.median.get(k).copied().unwrap_or(0.0);
        let s = self.spread.get(k).copied().unwrap_or(0.0);
        if m <= 0.0 {
            return (z * s).max(0.0);
        }
        m * (z * s).exp()
    }

    /// Units still to come by the end of the period at normal quantile `z`.
    pub(crate) fn remaining(&self, z: f64) -> f64 {
        match self.median.len().checked_sub(1) {
            Some(last) => self.quantile(last, z),
            None => 0.0,
        }
    }

    /// The median units per day over the rest of the period.
    pub(crate) fn pace(&self) -> f64 {
        let h = self.horizon();
        if h > 0.0 {
            self.remaining(0.0) / h
        } else {
            self.level
        }
    }

    /// Days until `budget` more units are used at quantile `z`: within the period by
    /// interpolating its days, past it at the last day's rate; `None` when that never
    /// happens (no usage expected).
    pub(crate) fn days_until(&self, budget: f64, z: f64) -> Option<f64> {
        if budget <= 0.0 {
            return Some(0.0);
        }
        let mut before = 0.0;
        let mut at = 0.0;
        for (k, len) in self.slots.iter().enumerate() {
            let after = self.quantile(k, z);
            if after >= budget {
                let share = if after > before {
                    (budget - before) / (after - before)
                } else {
                    1.0
                };
                return Some(at + len * share.clamp(0.0, 1.0));
            }
            before = after;
            at += len;
        }
        // Past the end, at the last day's median rate (or the level).
        let rate = match (self.rates.last(), self.slots.last()) {
            (Some(r), Some(l)) if *l > 0.0 && *r > 0.0 => r / l,
            _ => self.level,
        };
        (rate > 0.0 && rate.is_finite()).then(|| at + (budget - before) / rate)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(daily: &[u64], elapsed: f64) -> Forecast {
        forecast(
            &History {
                daily,
                previous: &[],
                period_days: 30,
                elapsed,
                used: units(daily.iter().sum()),
                reset: None,
            },
            &TUNING,
        )
    }

    #[test]
    fn a_constant_pace_goes_on_with_a_band_around_it() {
        let f = run(&[10; 10], 10.0);
        assert!((f.remaining(0.0) - 200.0).abs() < 1e-6);
        assert!(f.remaining(-Z90) < 200.0 && f.remaining(Z90) > 200.0);
        assert!((f.days_until(50.0, 0.0).unwrap() - 5.0).abs() < 1e-9);
    }

    #[test]
    fn a_spike_is_not_a_pace() {
        let mut daily = vec![10u64; 14];
        daily[9] = 2000;
        let f = run(&daily, 14.0);
        assert!((f.remaining(0.0) - 160.0).abs() < 1.0, "{f:?}");
    }

    #[test]
    fn after_the_period_nothing_remains_and_before_it_nothing_is_known() {
        let f = run(&[10; 30], 30.0);
        assert_eq!(f.remaining(Z90), 0.0);
        let f = run(&[], 0.0);
        assert_eq!(f.remaining(0.0), 0.0);
        assert!(f.remaining(Z90) >= 0.0);
    }
}
