//! What a run saw: one latency histogram per named metric, the request, failure and
//! expected-denial counts, and the k6-like summary printed at the end.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use hdrhistogram::Histogram;

/// The name of the histogram of every request (k6's `http_req_duration`).
pub const HTTP_REQ_DURATION: &str = "http_req_duration";
/// The failure rate counter (k6's `http_req_failed`).
pub const HTTP_REQ_FAILED: &str = "http_req_failed";
/// Requests answered by a quota denial (429 past a hard limit): expected, not failures.
pub const EXPECTED_DENIALS: &str = "expected_denials";
/// Requests the open model could not start because `--max-in-flight` were already running.
pub const DROPPED_ITERATIONS: &str = "dropped_iterations";

/// Largest distinct failure reasons kept (the rest are counted under "other").
const MAX_REASONS: usize = 16;

/// How one request ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The answer the scenario expects.
    Ok,
    /// A quota denial (429 past a hard limit): an expected answer, counted apart.
    Denied,
    /// Anything else: a wrong status, a transport error, a timeout.
    Failed(String),
}

/// Latencies of one metric, microseconds.
#[derive(Debug, Clone)]
pub struct Latency {
    // `None` only if hdrhistogram refused the constant bounds below, which it does not.
    hist: Option<Histogram<u64>>,
}

impl Latency {
    fn new() -> Latency {
        // 1 µs .. 1 h at 3 significant digits; `saturating_record` clamps anything past it.
        Latency {
            hist: Histogram::new_with_bounds(1, 3_600_000_000, 3).ok(),
        }
    }

    fn record(&mut self, d: Duration) {
        let us = u64::try_from(d.as_micros()).unwrap_or(u64::MAX).max(1);
        if let Some(h) = &mut self.hist {
            h.saturating_record(us);
        }
    }

    /// Samples recorded.
    pub fn count(&self) -> u64 {
        self.hist.as_ref().map_or(0, Histogram::len)
    }

    /// The `q` quantile (0..=1), milliseconds.
    pub fn quantile_ms(&self, q: f64) -> f64 {
        ms(self.hist.as_ref().map_or(0, |h| h.value_at_quantile(q)))
    }

    /// Mean, milliseconds.
    pub fn mean_ms(&self) -> f64 {
        self.hist.as_ref().map_or(0.0, Histogram::mean) / 1000.0
    }

    /// Largest sample, milliseconds.
    pub fn max_ms(&self) -> f64 {
        ms(self.hist.as_ref().map_or(0, Histogram::max))
    }
}

fn ms(us: u64) -> f64 {
    // Precision loss past 2^53 µs (285 years) does not matter here.
    #[allow(clippy::cast_precision_loss)]
    let v = us as f64;
    v / 1000.0
}

/// Everything a run counted.
#[derive(Debug, Clone)]
pub struct Stats {
    /// Requests that got an answer or failed.
    pub requests: u64,
    /// Requests that failed.
    pub failed: u64,
    /// Quota denials (expected answers).
    pub denied: u64,
    /// Requests not started (too many in flight).
    pub dropped: u64,
    /// Every request.
    pub all: Latency,
    /// Per named metric.
    pub metrics: BTreeMap<&'static str, Latency>,
    /// Quota denials per named metric.
    pub denied_by_metric: BTreeMap<&'static str, u64>,
    /// Failure reasons and their counts.
    pub reasons: BTreeMap<String, u64>,
    /// Wall time of the run.
    pub elapsed: Duration,
}

impl Default for Stats {
    fn default() -> Self {
        Stats {
            requests: 0,
            failed: 0,
            denied: 0,
            dropped: 0,
            all: Latency::new(),
            metrics: BTreeMap::new(),
            denied_by_metric: BTreeMap::new(),
            reasons: BTreeMap::new(),
            elapsed: Duration::ZERO,
        }
    }
}

impl Stats {
    /// Counts one request of `metric`.
    pub fn record(&mut self, metric: &'static str, latency: Duration, outcome: Outcome) {
        self.requests = self.requests.saturating_add(1);
        self.all.record(latency);
        self.metrics
            .entry(metric)
            .or_insert_with(Latency::new)
            .record(latency);
        match outcome {
            Outcome::Ok => {}
            Outcome::Denied => {
                self.denied = self.denied.saturating_add(1);
                let n = self.denied_by_metric.entry(metric).or_insert(0);
                *n = n.saturating_add(1);
            }
            Outcome::Failed(reason) => {
                self.failed = self.failed.saturating_add(1);
                let key = if self.reasons.len() < MAX_REASONS || self.reasons.contains_key(&reason)
                {
                    format!("{metric}: {reason}")
                } else {
                    "other".to_owned()
                };
                let n = self.reasons.entry(key).or_insert(0);
                *n = n.saturating_add(1);
            }
        }
    }

    /// The failure rate, 0..=1 (0 when nothing ran).
    pub fn failed_rate(&self) -> f64 {
        if self.requests == 0 {
            return 0.0;
        }
        #[allow(clippy::cast_precision_loss)]
        let (f, n) = (self.failed as f64, self.requests as f64);
        f / n
    }

    /// The latency histogram called `name` (`http_req_duration` is every request).
    pub fn latency(&self, name: &str) -> Option<&Latency> {
        if name == HTTP_REQ_DURATION {
            return Some(&self.all);
        }
        self.metrics.get(name)
    }

    /// The k6-like summary.
    pub fn render(&self, title: &str) -> String {
        let mut out = String::new();
        let secs = self.elapsed.as_secs_f64().max(f64::EPSILON);
        #[allow(clippy::cast_precision_loss)]
        let per_s = self.requests as f64 / secs;
        let _ = writeln!(out, "\n  scenario: {title}\n");
        line(
            &mut out,
            "http_reqs",
            &format!("{}  {per_s:.1}/s", self.requests),
        );
        line(
            &mut out,
            HTTP_REQ_FAILED,
            &format!(
                "{:.2}%  {} of {}",
                self.failed_rate() * 100.0,
                self.failed,
                self.requests
            ),
        );
        let by: Vec<String> = self
            .denied_by_metric
            .iter()
            .map(|(m, n)| format!("{m}={n}"))
            .collect();
        let by = if by.is_empty() {
            String::new()
        } else {
            format!("  ({})", by.join(", "))
        };
        line(
            &mut out,
            EXPECTED_DENIALS,
            &format!("{}  429 past a hard limit, not failures{by}", self.denied),
        );
        line(&mut out, DROPPED_ITERATIONS, &self.dropped.to_string());
        line(&mut out, HTTP_REQ_DURATION, &hist_line(&self.all));
        for (name, h) in &self.metrics {
            line(&mut out, name, &hist_line(h));
        }
        if !self.reasons.is_empty() {
            let _ = writeln!(out, "\n  failures:");
            for (reason, n) in &self.reasons {
                let _ = writeln!(out, "    {n:>7}  {reason}");
            }
        }
        out
    }
}

fn line(out: &mut String, name: &str, value: &str) {
    let _ = writeln!(out, "    {name:.<30}: {value}");
}

fn hist_line(h: &Latency) -> String {
    format!(
        "n={} avg={:.2}ms p(50)={:.2}ms p(90)={:.2}ms p(99)={:.2}ms max={:.2}ms",
        h.count(),
        h.mean_ms(),
        h.quantile_ms(0.50),
        h.quantile_ms(0.90),
        h.quantile_ms(0.99),
        h.max_ms()
    )
}

/// A `Stats` shared by the request tasks of a run.
#[derive(Debug, Clone, Default)]
pub struct Recorder(Arc<Mutex<Stats>>);

impl Recorder {
    /// Counts one request.
    pub fn record(&self, metric: &'static str, latency: Duration, outcome: Outcome) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .record(metric, latency, outcome);
    }

    /// Counts one request the open model could not start.
    pub fn dropped(&self) {
        let mut s = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        s.dropped = s.dropped.saturating_add(1);
    }

    /// A copy of what was counted so far.
    pub fn snapshot(&self) -> Stats {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}
