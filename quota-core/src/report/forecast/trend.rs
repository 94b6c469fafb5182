//! The level and its course: a few small models of the (cleaned, deseasonalised) daily
//! series, fitted by weighted least squares, the best one chosen by the Bayesian
//! information criterion (BIC) so that a richer model must earn its extra parameters:
//!
//! - **constant**: a flat level, pulled towards the previous period's level (a prior worth
//!   a few days) when that level agrees with this period's;
//! - **linear**: a trend, damped in the future (growth does not go on for ever);
//! - **decay**: a level that falls towards a floor, `a + b·e^(−t/τ)` (usage after a
//!   launch), for a small grid of time constants;
//! - **step**: one level up to a day, another from it on (a customer onboarding mid-period:
//!   the recent level wins as soon as the data make it clear).
//!
//! Every model is `b0 + b1·g(t)` for a known `g`, so its fit, its parameter covariance and
//! the variance of any future sum are closed forms.

/// Weighted sums needed by a two-parameter fit.
#[derive(Clone, Copy, Debug, Default)]
struct Sums {
    w: f64,
    g: f64,
    gg: f64,
    z: f64,
    gz: f64,
}

/// The shape of a model.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum Shape {
    /// A flat level.
    Constant,
    /// A damped linear trend.
    Linear,
    /// Decay towards a floor with time constant `tau` (days).
    Decay {
        /// Time constant.
        tau: f64,
    },
    /// A new level from day `at` (index into the series) on.
    Step {
        /// First day of the new level.
        at: usize,
    },
}

/// A fitted model of the deseasonalised level.
#[derive(Clone, Debug)]
pub(super) struct Fit {
    pub(super) shape: Shape,
    b0: f64,
    b1: f64,
    /// `(XᵀWX)⁻¹`.
    inv: [[f64; 2]; 2],
    /// Residual variance per unit weight.
    pub(super) sigma2: f64,
    /// Days fitted.
    n: usize,
    /// Weighted sum of squared residuals.
    sse: f64,
}

/// Knobs of the trend models (tuned on the backtests).
#[derive(Clone, Copy, Debug)]
pub(super) struct TrendTuning {
    /// Damping of a linear trend per future day.
    pub(super) damping: f64,
    /// Prior standard deviation of a trend, as a share of the level per 30 days.
    pub(super) trend_scale: f64,
    /// Multiplier of every change's odds when the previous period's level agrees with this
    /// period's.
    pub(super) settled_odds: f64,
    /// Prior odds of a linear trend against a flat level.
    pub(super) odds_linear: f64,
    /// Prior odds of a decay (all time constants together) against a flat level.
    pub(super) odds_decay: f64,
    /// Prior odds of a step (all days together) against a flat level.
    pub(super) odds_step: f64,
    /// Days a model with a trend needs.
    pub(super) min_days_trend: usize,
    /// Weight of the previous period's level, in days.
    pub(super) prior_days: f64,
    /// The prior is dropped when it is this many standard errors from the data.
    pub(super) prior_agreement: f64,
}

/// Time constants (days) of the decay models.
const DECAY_TAUS: [f64; 6] = [1.5, 2.5, 4.0, 6.0, 9.0, 14.0];
/// Days a new level needs before a step model may use it.
const MIN_DAYS_STEP: usize = 2;

impl Fit {
    /// The model's basis at (fractional) day `t` of the series, in the future too.
    fn basis(&self, t: f64, damping: f64) -> f64 {
        match self.shape {
            Shape::Constant => 0.0,
            Shape::Linear => {
                #[allow(clippy::cast_precision_loss)]
                let last = self.n.saturating_sub(1) as f64;
                if t <= last || damping >= 1.0 {
                    t
                } else {
                    let m = t - last;
                    last + damping * (1.0 - damping.powf(m)) / (1.0 - damping)
                }
            }
            Shape::Decay { tau } => (-t / tau).exp(),
            Shape::Step { at } => {
                #[allow(clippy::cast_precision_loss)]
                let at = at as f64;
                if t >= at { 1.0 } else { 0.0 }
            }
        }
    }

    /// Expected deseasonalised units per day at day `t` of the series (never negative).
    pub(super) fn level(&self, t: f64, damping: f64) -> f64 {
        (self.b0 + self.b1 * self.basis(t, damping)).max(0.0)
    }

    /// Variance of `b0·a + b1·g` (the parameters' share of a future sum's variance).
    pub(super) fn parameter_variance(&self, a: f64, g: f64) -> f64 {
        let [[p, q], [r, s]] = self.inv;
        let v = a * (p * a + q * g) + g * (r * a + s * g);
        (v * self.sigma2).max(0.0)
    }

    /// The future basis value (for [`Fit::parameter_variance`]).
    pub(super) fn future_basis(&self, t: f64, damping: f64) -> f64 {
        self.basis(t, damping)
    }
}

#[allow(clippy::cast_precision_loss)]
fn days_of(n: usize) -> f64 {
    n as f64
}

fn sums(z: &[f64], w: &[f64], g: impl Fn(usize) -> f64) -> Sums {
    let mut s = Sums::default();
    for (j, (zj, wj)) in z.iter().zip(w).enumerate() {
        let gj = g(j);
        s.w += wj;
        s.g += wj * gj;
        s.gg += wj * gj * gj;
        s.z += wj * zj;
        s.gz += wj * gj * zj;
    }
    s
}

fn sse(z: &[f64], w: &[f64], f: impl Fn(usize) -> f64) -> f64 {
    z.iter()
        .zip(w)
        .enumerate()
        .map(|(j, (zj, wj))| wj * (zj - f(j)).powi(2))
        .sum()
}

/// Fits `b0 + b1·g` by weighted least squares, `ridge` added to the precision of `b1` (a
/// prior pulling it towards 0); `None` when degenerate.
fn fit_two(
    z: &[f64],
    w: &[f64],
    shape: Shape,
    ridge: f64,
    g: impl Fn(usize) -> f64,
) -> Option<Fit> {
    let mut s = sums(z, w, &g);
    s.gg += ridge.max(0.0);
    let det = s.w * s.gg - s.g * s.g;
    if !(det.is_finite() && det > 1e-9 * s.w.max(1.0) * s.gg.max(1e-9)) {
        return None;
    }
    let b1 = (s.w * s.gz - s.g * s.z) / det;
    let b0 = (s.z - b1 * s.g) / s.w;
    let residual = sse(z, w, |j| b0 + b1 * g(j));
    Some(Fit {
        shape,
        b0,
        b1,
        inv: [[s.gg / det, -s.g / det], [-s.g / det, s.w / det]],
        sigma2: 0.0,
        n: z.len(),
        sse: residual,
    })
}

/// The previous period's deseasonalised level and its weight.
#[derive(Clone, Copy, Debug)]
pub(super) struct Prior {
    /// Units per day.
    pub(super) level: f64,
    /// Residual variance of the previous period's days around it.
    pub(super) sigma2: f64,
}

/// The prior when this period's data agree with it: its mean within a few standard errors
/// of the previous period's level.
fn agreeing(z: &[f64], w: &[f64], prior: Option<Prior>, tuning: &TrendTuning) -> Option<Prior> {
    let s = sums(z, w, |_| 0.0);
    let own = (s.w > 0.0).then(|| s.z / s.w);
    let own_sigma2 = own.map(|m| sse(z, w, |_| m) / (s.w - 1.0).max(1.0));
    prior.filter(|p| match (own, own_sigma2) {
        (Some(m), Some(v)) => {
            let se = (v.max(m.max(p.level)) / s.w).sqrt();
            (m - p.level).abs() <= tuning.prior_agreement * se.max(1e-9)
        }
        _ => true,
    })
}

fn constant(z: &[f64], w: &[f64], prior: Option<Prior>, tuning: &TrendTuning) -> Option<Fit> {
    let s = sums(z, w, |_| 0.0);
    let own = (s.w > 0.0).then(|| s.z / s.w);
    let own_sigma2 = own.map(|m| sse(z, w, |_| m) / (s.w - 1.0).max(1.0));
    let prior = agreeing(z, w, prior, tuning);
    let (b0, weight) = match (own, prior) {
        (Some(_), Some(p)) => (
            (s.z + tuning.prior_days * p.level) / (s.w + tuning.prior_days),
            s.w + tuning.prior_days,
        ),
        (Some(m), None) => (m, s.w),
        (None, Some(p)) => (p.level, tuning.prior_days),
        (None, None) => return None,
    };
    let residual = sse(z, w, |_| b0);
    Some(Fit {
        shape: Shape::Constant,
        b0,
        b1: 0.0,
        inv: [[1.0 / weight.max(1e-9), 0.0], [0.0, 0.0]],
        // Counts vary at least like Poisson counts; a single day says little about the
        // noise: half the level as a standard deviation, unless the prior knows better.
        sigma2: own_sigma2
            .filter(|_| s.w >= 2.0)
            .or(prior.map(|p| p.sigma2))
            .unwrap_or(b0.max(0.0) + (b0 / 2.0).powi(2))
            .max(b0.max(0.0)),
        n: z.len(),
        sse: residual,
    })
}

/// The fitted models of `z` (deseasonalised daily units) with weights `w`, each with its
/// posterior weight (from the BIC; they sum to 1, negligible ones dropped). Empty when there
/// is neither data nor a prior.
pub(super) fn fit(
    z: &[f64],
    w: &[f64],
    prior: Option<Prior>,
    tuning: &TrendTuning,
) -> Vec<(f64, Fit)> {
    let n = z.len().min(w.len());
    let (Some(z), Some(w)) = (z.get(..n), w.get(..n)) else {
        return Vec::new();
    };
    let Some(base) = constant(z, w, prior, tuning) else {
        return Vec::new();
    };
    let mut candidates = vec![base.clone()];
    if n >= tuning.min_days_trend.max(4) {
        #[allow(clippy::cast_precision_loss)]
        let t = |j: usize| j as f64;
        // The slope's prior: a month's trend moves the level by about `trend_scale` times.
        let noise = (base.sse / (days_of(n) - 1.0).max(1.0)).max(base.b0.max(0.0));
        let slope_sd = tuning.trend_scale * base.b0.abs().max(1e-9) / 30.0;
        let ridge = noise / (slope_sd * slope_sd);
        candidates.extend(fit_two(z, w, Shape::Linear, ridge, t));
        for tau in DECAY_TAUS {
            let decay = fit_two(z, w, Shape::Decay { tau }, 0.0, |j| (-t(j) / tau).exp());
            candidates.extend(decay.filter(|f| f.b1 > 0.0 && f.b0 >= 0.0));
        }
        for at in MIN_DAYS_STEP..=n.saturating_sub(MIN_DAYS_STEP) {
            let step = fit_two(z, w, Shape::Step { at }, 0.0, |j| {
                if j >= at { 1.0 } else { 0.0 }
            });
            candidates.extend(step);
        }
    }
    let weight: f64 = w.iter().sum();
    #[allow(clippy::cast_precision_loss)]
    let days = n as f64;
    // Counts vary at least as much as a Poisson count: a noise variance below the level
    // (or below the previous period's) is luck, not a better model.
    let noise_floor = base
        .b0
        .max(prior.map_or(0.0, |p| p.sigma2))
        .max(1e-9 * (base.b0 * base.b0 + 1.0));
    // A previous period at the level of this one makes a change this period less likely.
    let settled = if agreeing(z, w, prior, tuning).is_some() && prior.is_some() {
        tuning.settled_odds
    } else {
        1.0
    };
    let family = |shape: Shape| -> f64 {
        settled
            * match shape {
                Shape::Constant => 1.0 / settled,
                Shape::Linear => tuning.odds_linear,
                #[allow(clippy::cast_precision_loss)]
                Shape::Decay { .. } => tuning.odds_decay / DECAY_TAUS.len() as f64,
                #[allow(clippy::cast_precision_loss)]
                Shape::Step { .. } => {
                    tuning.odds_step
                        / (n.saturating_sub(2 * MIN_DAYS_STEP).saturating_add(1)) as f64
                }
            }
    };
    let bic = |f: &Fit| {
        let params = match f.shape {
            Shape::Constant => 1.0,
            Shape::Linear => 2.0,
            Shape::Decay { .. } | Shape::Step { .. } => 3.0,
        };
        let variance = (f.sse / days.max(1.0)).max(noise_floor);
        days * variance.ln() + f.sse / variance + params * days.max(2.0).ln()
            - 2.0 * family(f.shape).max(1e-12).ln()
    };
    let scores: Vec<f64> = candidates.iter().map(&bic).collect();
    let best = scores.iter().copied().fold(f64::INFINITY, f64::min);
    let mut out: Vec<(f64, Fit)> = candidates
        .into_iter()
        .zip(&scores)
        .map(|(mut f, score)| {
            if f.shape != Shape::Constant {
                let params = if f.shape == Shape::Linear { 2.0 } else { 3.0 };
                f.sigma2 = (f.sse / (weight - params).max(1.0)).max(base.b0.max(0.0));
            }
            (((best - score) / 2.0).exp(), f)
        })
        .filter(|(p, _)| p.is_finite() && *p > 1e-4)
        .collect();
    let total: f64 = out.iter().map(|(p, _)| p).sum();
    if !(total > 0.0 && total.is_finite()) {
        return vec![(1.0, base)];
    }
    for (p, _) in &mut out {
        *p /= total;
    }
    out
}

/// The most probable of `fits`.
#[cfg(test)]
fn best(fits: &[(f64, Fit)]) -> Option<&Fit> {
    fits.iter()
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, f)| f)
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: TrendTuning = TrendTuning {
        damping: 0.95,
        trend_scale: 100.0,
        settled_odds: 1.0,
        odds_linear: 1.0,
        odds_decay: 1.0,
        odds_step: 1.0,
        min_days_trend: 5,
        prior_days: 4.0,
        prior_agreement: 3.0,
    };

    fn ones(n: usize) -> Vec<f64> {
        vec![1.0; n]
    }

    #[test]
    fn a_flat_series_is_constant() {
        let z = [10.0, 11.0, 9.0, 10.0, 10.0, 11.0, 9.0];
        let fits = fit(&z, &ones(7), None, &T);
        let f = best(&fits).unwrap();
        assert_eq!(f.shape, Shape::Constant);
        assert!((f.level(20.0, T.damping) - 10.0).abs() < 1e-9);
    }

    #[test]
    fn a_step_wins_once_clear() {
        let mut z = vec![10.0, 11.0, 9.0, 10.0, 10.0, 11.0, 9.0, 10.0];
        z.extend([30.0, 31.0, 29.0]);
        let fits = fit(&z, &ones(z.len()), None, &T);
        let f = best(&fits).unwrap();
        assert_eq!(f.shape, Shape::Step { at: 8 });
        assert!((f.level(20.0, T.damping) - 30.0).abs() < 1e-9);
    }

    #[test]
    fn a_ramp_is_linear_and_a_launch_decays() {
        let z: Vec<f64> = (0..14).map(|j| 10.0 + 2.0 * f64::from(j)).collect();
        let fits = fit(&z, &ones(14), None, &T);
        let f = best(&fits).unwrap();
        assert_eq!(f.shape, Shape::Linear);
        assert!(f.level(14.0, T.damping) > 36.0);
        let z: Vec<f64> = (0..14)
            .map(|j| 10.0 + 50.0 * (-f64::from(j) / 4.0).exp())
            .collect();
        let fits = fit(&z, &ones(14), None, &T);
        let f = best(&fits).unwrap();
        assert_eq!(f.shape, Shape::Decay { tau: 4.0 });
        assert!((f.level(40.0, T.damping) - 10.0).abs() < 0.1);
    }

    #[test]
    fn the_prior_counts_only_when_it_agrees() {
        let z = [10.0, 12.0];
        let agree = Prior {
            level: 11.5,
            sigma2: 4.0,
        };
        let f = fit(&z, &ones(2), Some(agree), &T).remove(0).1;
        assert!((f.level(5.0, 1.0) - (22.0 + 4.0 * 11.5) / 6.0).abs() < 1e-9);
        let far = Prior {
            level: 100.0,
            sigma2: 4.0,
        };
        let f = fit(&z, &ones(2), Some(far), &T).remove(0).1;
        assert!((f.level(5.0, 1.0) - 11.0).abs() < 1e-9);
        let f = fit(&[], &[], Some(far), &T).remove(0).1;
        assert!((f.level(5.0, 1.0) - 100.0).abs() < 1e-9);
        assert!(fit(&[], &[], None, &T).is_empty());
    }
}
