//! k6-style thresholds: `quota_summary_latency:p(90)<400` (milliseconds),
//! `http_req_failed:rate<0.02`, `dropped_iterations:count<1`. A broken threshold makes the
//! run exit non-zero.

use std::fmt;
use std::str::FromStr;

use crate::stats::{DROPPED_ITERATIONS, EXPECTED_DENIALS, HTTP_REQ_FAILED, Stats};

/// What a threshold looks at.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Stat {
    /// A latency quantile, 0..=1 (written `p(90)` or `p90`).
    Quantile(f64),
    /// Mean latency (`avg`).
    Avg,
    /// Largest latency (`max`).
    Max,
    /// Samples of a latency metric, or the value of a counter (`count`).
    Count,
    /// Fraction of failed requests, 0..=1 (`rate`, only on `http_req_failed`).
    Rate,
}

/// One threshold: `metric:stat<value` or `metric:stat<=value`.
#[derive(Debug, Clone, PartialEq)]
pub struct Threshold {
    /// The metric name.
    pub metric: String,
    /// The statistic.
    pub stat: Stat,
    /// `<=` instead of `<`.
    pub inclusive: bool,
    /// The bound (milliseconds for latencies).
    pub bound: f64,
}

/// A threshold that does not parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThresholdError(pub String);

impl fmt::Display for ThresholdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ThresholdError {}

fn parse_stat(s: &str) -> Option<Stat> {
    match s {
        "avg" => Some(Stat::Avg),
        "max" => Some(Stat::Max),
        "count" => Some(Stat::Count),
        "rate" => Some(Stat::Rate),
        _ => {
            let n = s
                .strip_prefix("p(")
                .and_then(|r| r.strip_suffix(')'))
                .or_else(|| s.strip_prefix('p'))?;
            let p: f64 = n.parse().ok()?;
            (p > 0.0 && p <= 100.0).then_some(Stat::Quantile(p / 100.0))
        }
    }
}

impl FromStr for Threshold {
    type Err = ThresholdError;

    fn from_str(spec: &str) -> Result<Self, Self::Err> {
        let bad = |why: &str| {
            ThresholdError(format!(
                "threshold {spec:?}: {why} (write e.g. `quota_summary_latency:p(90)<400` in ms, `http_req_failed:rate<0.02`, `dropped_iterations:count<1`)"
            ))
        };
        let (metric, cond) = spec
            .split_once(':')
            .ok_or_else(|| bad("no `:` between metric and condition"))?;
        let metric = metric.trim();
        if metric.is_empty() {
            return Err(bad("empty metric name"));
        }
        let (stat, inclusive, bound) = if let Some((s, b)) = cond.split_once("<=") {
            (s, true, b)
        } else if let Some((s, b)) = cond.split_once('<') {
            (s, false, b)
        } else {
            return Err(bad("only `<` and `<=` bounds are supported"));
        };
        let stat = parse_stat(stat.trim()).ok_or_else(|| bad("unknown statistic"))?;
        let bound: f64 = bound
            .trim()
            .trim_end_matches("ms")
            .parse()
            .map_err(|_| bad("the bound is not a number"))?;
        if !bound.is_finite() || bound < 0.0 {
            return Err(bad("the bound must be a finite number >= 0"));
        }
        let counter = [HTTP_REQ_FAILED, EXPECTED_DENIALS, DROPPED_ITERATIONS].contains(&metric);
        match stat {
            Stat::Rate if metric != HTTP_REQ_FAILED => {
                return Err(bad("`rate` applies to http_req_failed only"));
            }
            Stat::Quantile(_) | Stat::Avg | Stat::Max if counter => {
                return Err(bad("a counter has `count` (or `rate` for http_req_failed)"));
            }
            _ => {}
        }
        Ok(Threshold {
            metric: metric.to_owned(),
            stat,
            inclusive,
            bound,
        })
    }
}

impl fmt::Display for Threshold {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let op = if self.inclusive { "<=" } else { "<" };
        match self.stat {
            Stat::Quantile(q) => write!(f, "{}:p({}){op}{}ms", self.metric, q * 100.0, self.bound),
            Stat::Avg => write!(f, "{}:avg{op}{}ms", self.metric, self.bound),
            Stat::Max => write!(f, "{}:max{op}{}ms", self.metric, self.bound),
            Stat::Count => write!(f, "{}:count{op}{}", self.metric, self.bound),
            Stat::Rate => write!(f, "{}:rate{op}{}", self.metric, self.bound),
        }
    }
}

/// A threshold against a run.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    /// The threshold.
    pub threshold: Threshold,
    /// The measured value; `None` when the metric has no samples (the threshold is broken).
    pub actual: Option<f64>,
    /// Whether the threshold holds.
    pub passed: bool,
}

#[allow(clippy::cast_precision_loss)]
fn count(n: u64) -> f64 {
    n as f64
}

impl Threshold {
    /// The measured value of this threshold's statistic, if the run has it.
    pub fn measure(&self, stats: &Stats) -> Option<f64> {
        match (self.metric.as_str(), self.stat) {
            (HTTP_REQ_FAILED, Stat::Rate) => (stats.requests > 0).then(|| stats.failed_rate()),
            (HTTP_REQ_FAILED, _) => Some(count(stats.failed)),
            (EXPECTED_DENIALS, _) => Some(count(stats.denied)),
            (DROPPED_ITERATIONS, _) => Some(count(stats.dropped)),
            (name, stat) => {
                let h = stats.latency(name).filter(|h| h.count() > 0)?;
                Some(match stat {
                    Stat::Quantile(q) => h.quantile_ms(q),
                    Stat::Avg => h.mean_ms(),
                    Stat::Max => h.max_ms(),
                    Stat::Count | Stat::Rate => count(h.count()),
                })
            }
        }
    }

    /// Checks the threshold; a metric without samples breaks it (a gate that saw nothing
    /// must not pass).
    pub fn check(&self, stats: &Stats) -> Verdict {
        let actual = self.measure(stats);
        let passed = actual.is_some_and(|v| {
            if self.inclusive {
                v <= self.bound
            } else {
                v < self.bound
            }
        });
        Verdict {
            threshold: self.clone(),
            actual,
            passed,
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mark = if self.passed { "ok    " } else { "BROKEN" };
        match self.actual {
            None => write!(f, "{mark} {}  (no samples)", self.threshold),
            Some(v) => match self.threshold.stat {
                Stat::Rate => write!(f, "{mark} {}  (actual {v:.4})", self.threshold),
                Stat::Count => write!(f, "{mark} {}  (actual {v})", self.threshold),
                _ => write!(f, "{mark} {}  (actual {v:.2}ms)", self.threshold),
            },
        }
    }
}
