//! The backtest harness of the forecaster, shared by `tests/backtest.rs` (a fast run that
//! asserts the goals) and `examples/backtest.rs` (the full table).
//!
//! Synthetic brands on the demo catalog, seeded and deterministic: each has one trace kind
//! for its two counters (`ai_generations`, charged past its allowance, and `renders_2d`,
//! blocked at it), a seat count, a current plan near its usage, and the previous period's
//! usage where the kind has one. Each trace is read as the store keeps it at midnight of
//! days 7, 14 and 21 (a reset clears the earlier days and writes its target on its day) and
//! projected; the projection is compared with the real end-of-period total, and so is the
//! naive line `used / elapsed × period`.
#![allow(
    dead_code,
    unreachable_pub,
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_precision_loss,
    clippy::cast_possible_wrap,
    clippy::type_complexity
)]

use std::collections::BTreeMap;

use chrono::{Duration, TimeZone, Utc};
use quota_core::period::{BillingAnchor, BillingPeriod};
use quota_core::report::{
    Projection, ProjectionInput, Recommendation, ResetPoint, project, recommend_for_band,
};
use quota_core::{Catalog, OveragePolicy};

/// The checkpoints: whole days elapsed.
pub const CHECKPOINTS: [usize; 3] = [7, 14, 21];

/// The kinds of traces.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    Steady,
    Ramp,
    Weekly,
    Spike,
    Decay,
    StepUp,
    Reset,
}

impl Kind {
    pub const ALL: [Kind; 7] = [
        Kind::Steady,
        Kind::Ramp,
        Kind::Weekly,
        Kind::Spike,
        Kind::Decay,
        Kind::StepUp,
        Kind::Reset,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Kind::Steady => "steady + noise",
            Kind::Ramp => "linear ramp",
            Kind::Weekly => "weekly season",
            Kind::Spike => "one-off spike",
            Kind::Decay => "decay after launch",
            Kind::StepUp => "step up mid-month",
            Kind::Reset => "reset to a target",
        }
    }
}

/// SplitMix64: small, seeded, deterministic.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x9E37_79B9_7F4A_7C15)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    pub fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }

    pub fn log_uniform(&mut self, lo: f64, hi: f64) -> f64 {
        (lo.ln() + (hi.ln() - lo.ln()) * self.unit()).exp()
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    pub fn normal(&mut self) -> f64 {
        let u1 = self.unit().max(1e-12);
        let u2 = self.unit();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    pub fn poisson(&mut self, lambda: f64) -> u64 {
        if lambda <= 0.0 {
            return 0;
        }
        if lambda > 50.0 {
            return (lambda + lambda.sqrt() * self.normal()).round().max(0.0) as u64;
        }
        let limit = (-lambda).exp();
        let mut k = 0u64;
        let mut p = 1.0;
        loop {
            p *= self.unit();
            if p <= limit {
                return k;
            }
            k += 1;
        }
    }
}

/// A reset to a target: on `day`, after `share_before` of the day's usage, the counter is
/// set to `target` (the store clears the earlier days and writes the target on its day).
#[derive(Clone, Copy, Debug)]
pub struct ResetAt {
    pub day: usize,
    pub share_before: f64,
    pub target: u64,
}

/// One counter's trace.
#[derive(Clone, Debug)]
pub struct Trace {
    pub kind: Kind,
    pub period: BillingPeriod,
    /// Units consumed each day of the period.
    pub consumed: Vec<u64>,
    pub reset: Option<ResetAt>,
    /// The previous period's daily usage (empty when the brand had none).
    pub previous: Vec<u64>,
}

impl Trace {
    pub fn days(&self) -> usize {
        self.consumed.len()
    }

    /// The store's daily buckets at midnight ending day `t - 1` (`t` whole days elapsed).
    pub fn buckets_at(&self, t: usize) -> Vec<u64> {
        let t = t.min(self.days());
        let mut b = self.consumed[..t].to_vec();
        if let Some(r) = self.reset.filter(|r| r.day < t) {
            for v in &mut b[..r.day] {
                *v = 0;
            }
            let after = (self.consumed[r.day] as f64 * (1.0 - r.share_before)).round() as u64;
            b[r.day] = r.target + after;
        }
        b
    }

    pub fn used_at(&self, t: usize) -> u64 {
        self.buckets_at(t).iter().sum()
    }

    /// The real end-of-period total.
    pub fn total(&self) -> u64 {
        self.used_at(self.days())
    }
}

/// The periods the traces run in: 28 to 31 days.
fn period(rng: &mut Rng) -> BillingPeriod {
    let (y, m) = [
        (2026, 2),
        (2028, 2),
        (2026, 4),
        (2026, 11),
        (2026, 1),
        (2026, 7),
        (2027, 3),
    ][rng.below(7)];
    BillingPeriod::containing(
        BillingAnchor::default(),
        Utc.with_ymd_and_hms(y, m, 10, 0, 0, 0).unwrap(),
    )
}

/// Noisy counts around `lambda`: multiplicative log-normal noise, then Poisson.
fn draw(rng: &mut Rng, lambda: f64, sigma: f64) -> u64 {
    let noisy = lambda * (sigma * rng.normal() - sigma * sigma / 2.0).exp();
    rng.poisson(noisy)
}

/// A trace of `kind` around `base` units a day; `allowance` sets a reset's target, and
/// `event` the day of a spike or a reset.
pub fn trace(
    kind: Kind,
    rng: &mut Rng,
    period: BillingPeriod,
    base: f64,
    allowance: u64,
    event: usize,
) -> Trace {
    let days = usize::from(period.length_days());
    let prev_days = 31usize.min(days + 2).max(28);
    let sigma = rng.uniform(0.1, 0.3);
    let steady_prev = |rng: &mut Rng, level: f64| -> Vec<u64> {
        (0..prev_days).map(|_| draw(rng, level, sigma)).collect()
    };
    let mut reset = None;
    let (consumed, previous): (Vec<u64>, Vec<u64>) = match kind {
        Kind::Steady => {
            let prev = steady_prev(rng, base);
            ((0..days).map(|_| draw(rng, base, sigma)).collect(), prev)
        }
        Kind::Ramp => {
            let growth = if rng.unit() < 0.75 {
                rng.uniform(0.8, 2.5)
            } else {
                rng.uniform(-0.6, -0.3)
            };
            let before = base * rng.uniform(0.8, 1.0);
            let prev = steady_prev(rng, before);
            let cur = (0..days)
                .map(|d| draw(rng, base * (1.0 + growth * d as f64 / days as f64), sigma))
                .collect();
            (cur, prev)
        }
        Kind::Weekly => {
            let weekend = rng.uniform(0.1, 0.4);
            let phase = rng.below(7) as i64;
            let level = |d: i64| {
                if (d + phase).rem_euclid(7) >= 5 {
                    base * weekend
                } else {
                    base
                }
            };
            let prev = (0..prev_days)
                .map(|j| draw(rng, level(j as i64 - prev_days as i64), sigma))
                .collect();
            let cur = (0..days)
                .map(|d| draw(rng, level(d as i64), sigma))
                .collect();
            (cur, prev)
        }
        Kind::Spike => {
            let day = event;
            let size = base * rng.uniform(15.0, 60.0);
            let prev = steady_prev(rng, base);
            let mut cur: Vec<u64> = (0..days).map(|_| draw(rng, base, sigma)).collect();
            cur[day] += size.round() as u64;
            (cur, prev)
        }
        Kind::Decay => {
            let boost = rng.uniform(3.0, 8.0);
            let tau = rng.uniform(2.0, 7.0);
            let cur = (0..days)
                .map(|d| draw(rng, base * (1.0 + boost * (-(d as f64) / tau).exp()), sigma))
                .collect();
            (cur, Vec::new())
        }
        Kind::StepUp => {
            let at = 9 + rng.below(9);
            let factor = rng.uniform(1.6, 3.0);
            let prev = steady_prev(rng, base);
            let cur = (0..days)
                .map(|d| draw(rng, if d >= at { base * factor } else { base }, sigma))
                .collect();
            (cur, prev)
        }
        Kind::Reset => {
            let prev = steady_prev(rng, base);
            let cur = (0..days).map(|_| draw(rng, base, sigma)).collect();
            reset = Some(ResetAt {
                day: event,
                share_before: rng.uniform(0.2, 0.8),
                target: (allowance as f64 * rng.uniform(0.8, 0.95)).round() as u64,
            });
            (cur, prev)
        }
    };
    Trace {
        kind,
        period,
        consumed,
        reset,
        previous,
    }
}

/// The counters of a backtest brand.
pub const METRICS: [&str; 2] = ["ai_generations", "renders_2d"];

/// A backtest brand on the demo catalog.
#[derive(Clone, Debug)]
pub struct Brand {
    pub kind: Kind,
    pub seed: u64,
    pub plan: String,
    pub seats: u64,
    /// Per [`METRICS`] entry, one trace per checkpoint: the same usage, but a spike or a
    /// reset falls 1 to 6 days before the checkpoint it is read at (one still to come
    /// cannot be foreseen and would add the same error to every method).
    pub traces: Vec<Vec<Trace>>,
}

fn included(catalog: &Catalog, plan: &str, metric: &str) -> u64 {
    catalog
        .plan(plan)
        .and_then(|p| p.limit(metric))
        .and_then(|l| l.included)
        .unwrap_or(0)
}

/// The brand of `kind` and `seed`.
pub fn brand(catalog: &Catalog, kind: Kind, seed: u64) -> Brand {
    let mut rng = Rng::new(seed.wrapping_mul(31).wrapping_add(kind as u64));
    let period = period(&mut rng);
    let days = f64::from(period.length_days());
    let ai = rng.log_uniform(15.0, 600.0);
    let renders = rng.log_uniform(4.0, 120.0);
    // The current plan: the one whose AI allowance is nearest (log scale) to the usage.
    let target = ai * days * rng.uniform(0.6, 1.6);
    let plan = catalog
        .plans()
        .iter()
        .min_by(|a, b| {
            let d = |p: &&quota_core::Plan| {
                let inc = p
                    .limit("ai_generations")
                    .and_then(|l| l.included)
                    .unwrap_or(1);
                (inc.max(1) as f64 / target).ln().abs()
            };
            d(a).total_cmp(&d(b))
        })
        .unwrap()
        .id
        .clone();
    let seats = 1 + rng.below(12) as u64;
    let traces = [("ai_generations", ai), ("renders_2d", renders)]
        .iter()
        .map(|(metric, base)| {
            let allowance = included(catalog, &plan, metric).max((base * days) as u64);
            let state = rng.next_u64();
            CHECKPOINTS
                .iter()
                .map(|t| {
                    // The same draws for every checkpoint, but the event's day.
                    let mut r = Rng(state);
                    let lag = 1 + Rng(state ^ *t as u64).below(6);
                    trace(kind, &mut r, period, *base, allowance, t - lag)
                })
                .collect()
        })
        .collect();
    Brand {
        kind,
        seed,
        plan,
        seats,
        traces,
    }
}

/// One projection compared with the truth.
#[derive(Clone, Debug)]
pub struct Case {
    pub kind: Kind,
    pub checkpoint: usize,
    pub metric: &'static str,
    pub truth: u64,
    pub naive: f64,
    pub projection: Projection,
}

impl Case {
    pub fn error(&self) -> f64 {
        (self.projection.projected_used as f64 - self.truth as f64).abs() / self.truth.max(1) as f64
    }

    pub fn naive_error(&self) -> f64 {
        (self.naive - self.truth as f64).abs() / self.truth.max(1) as f64
    }

    pub fn covered(&self) -> bool {
        (self.projection.projected_low..=self.projection.projected_high).contains(&self.truth)
    }

    pub fn width(&self) -> f64 {
        (self.projection.projected_high - self.projection.projected_low) as f64
            / self.truth.max(1) as f64
    }
}

/// Projects `trace` at `checkpoint` whole days with the brand's plan limits.
pub fn project_at(
    catalog: &Catalog,
    plan: &str,
    metric: &str,
    trace: &Trace,
    t: usize,
) -> Projection {
    let limit = catalog.plan(plan).unwrap().limit(metric).unwrap().clone();
    let buckets = trace.buckets_at(t);
    project(&ProjectionInput {
        period: trace.period,
        now: trace.period.start + Duration::days(t as i64),
        daily: &buckets,
        previous: &trace.previous,
        used: buckets.iter().sum(),
        allowance: limit.included,
        limit: &limit,
        currency: catalog.currency(),
        // What the timeline of a real brand records: when the reset happened (its share of
        // the day's usage, read as time) and the level it set.
        reset: trace.reset.filter(|r| r.day < t).map(|r| ResetPoint {
            at: trace.period.start
                + Duration::seconds(((r.day as f64 + r.share_before) * 86_400.0) as i64),
            level: r.target,
        }),
    })
}

/// Every case of `brand`.
pub fn cases(catalog: &Catalog, brand: &Brand) -> Vec<Case> {
    let mut out = Vec::new();
    for (metric, traces) in METRICS.iter().zip(&brand.traces) {
        for (t, trace) in CHECKPOINTS.into_iter().zip(traces) {
            let days = trace.days() as f64;
            let used = trace.used_at(t) as f64;
            out.push(Case {
                kind: brand.kind,
                checkpoint: t,
                metric,
                truth: trace.total(),
                naive: used / t as f64 * days,
                projection: project_at(catalog, &brand.plan, metric, trace, t),
            });
        }
    }
    out
}

/// The recommender's answer for `brand` at `t`: the medians and the 90th percentiles of its
/// counters, its seats as they are.
pub fn recommendation_at(
    catalog: &Catalog,
    brand: &Brand,
    t: usize,
) -> (
    Recommendation,
    Vec<(&'static str, u64)>,
    Vec<(&'static str, u64)>,
) {
    let mut median = Vec::new();
    let mut high = Vec::new();
    let i = CHECKPOINTS.iter().position(|c| *c == t).unwrap_or(0);
    for (metric, traces) in METRICS.iter().zip(&brand.traces) {
        let trace = &traces[i];
        let p = project_at(catalog, &brand.plan, metric, trace, t);
        median.push((*metric, p.projected_used));
        high.push((*metric, p.projected_high));
    }
    median.push(("team_members", brand.seats));
    high.push(("team_members", brand.seats));
    let r = recommend_for_band(catalog, &brand.plan, None, &median, &high).unwrap();
    (r, median, high)
}

/// Brute force, from the catalog's numbers alone: each plan's price plus overage for
/// `usage`, `None` when a metric would be blocked.
pub fn brute_force_total(catalog: &Catalog, plan: &str, usage: &[(&str, u64)]) -> Option<i64> {
    let p = catalog.plan(plan)?;
    let mut total = p.price.amount_minor;
    for &(metric, units) in usage {
        let limit = p.limit(metric)?;
        let Some(included) = limit.included else {
            continue;
        };
        let free = included + included * u64::from(limit.grace_percent) / 100;
        let over = units.saturating_sub(free);
        match limit.overage {
            OveragePolicy::Block if over > 0 => return None,
            OveragePolicy::Block => {}
            OveragePolicy::Charge {
                unit_price,
                per_units,
                cap,
            } => {
                let charge = over.div_ceil(per_units.get()) * unit_price;
                if cap.is_some_and(|c| charge > c) {
                    return None;
                }
                total += charge as i64;
            }
            _ => return None,
        }
    }
    Some(total)
}

/// The cheapest feasible plan by brute force (ties: the current plan, then the lower price).
pub fn brute_force_plan(catalog: &Catalog, current: &str, usage: &[(&str, u64)]) -> Option<String> {
    let mut best: Option<(i64, bool, i64, String)> = None;
    for p in catalog.plans() {
        let Some(total) = brute_force_total(catalog, &p.id, usage) else {
            continue;
        };
        let key = (total, p.id != current, p.price.amount_minor, p.id.clone());
        if best
            .as_ref()
            .is_none_or(|b| (key.0, key.1, key.2) < (b.0, b.1, b.2))
        {
            best = Some(key);
        }
    }
    best.map(|b| b.3)
}

/// Aggregates of a set of cases.
#[derive(Clone, Copy, Debug, Default)]
pub struct Score {
    pub cases: usize,
    pub mape: f64,
    pub naive_mape: f64,
    pub coverage: f64,
    pub width: f64,
}

pub fn score<'a>(cases: impl IntoIterator<Item = &'a Case>) -> Score {
    let mut s = Score::default();
    for c in cases {
        s.cases += 1;
        s.mape += c.error();
        s.naive_mape += c.naive_error();
        s.coverage += f64::from(u8::from(c.covered()));
        s.width += c.width();
    }
    if s.cases > 0 {
        let n = s.cases as f64;
        s.mape /= n;
        s.naive_mape /= n;
        s.coverage /= n;
        s.width /= n;
    }
    s
}

/// Every case of `per_kind` brands of each kind, seeds from `first_seed`.
pub fn run(catalog: &Catalog, first_seed: u64, per_kind: u64) -> (Vec<Brand>, Vec<Case>) {
    let mut brands = Vec::new();
    let mut all = Vec::new();
    for kind in Kind::ALL {
        for seed in first_seed..first_seed + per_kind {
            let b = brand(catalog, kind, seed);
            all.extend(cases(catalog, &b));
            brands.push(b);
        }
    }
    (brands, all)
}

/// The table: per kind and checkpoint, then per kind, then overall (the mean of the cells).
pub fn table(cases: &[Case]) -> (Vec<(Kind, Option<usize>, Score)>, Score) {
    let mut rows = Vec::new();
    let mut cells = BTreeMap::new();
    for kind in Kind::ALL {
        for t in CHECKPOINTS {
            let s = score(cases.iter().filter(|c| c.kind == kind && c.checkpoint == t));
            cells.insert((kind, t), s);
            rows.push((kind, Some(t), s));
        }
        rows.push((kind, None, score(cases.iter().filter(|c| c.kind == kind))));
    }
    let n = cells.len().max(1) as f64;
    let mut overall = Score::default();
    for s in cells.values() {
        overall.cases += s.cases;
        overall.mape += s.mape / n;
        overall.naive_mape += s.naive_mape / n;
        overall.coverage += s.coverage / n;
        overall.width += s.width / n;
    }
    (rows, overall)
}
