//! Prometheus metrics (`/metrics`): usage, limit and ratio gauges per brand and metric,
//! decisions by outcome, and latency histograms (`quota_summary_latency`, the public routes'
//! `design_queue_latency` / `render_queue_latency`).
//!
//! Gauges are written whenever the server learns a brand's usage (a record, a reset, a
//! summary) and refreshed for every known brand at each scrape, so a reset or a month-end
//! shows at once — the runbook's `QuotaMetricsService.resetBrand`, without a restart.

use std::sync::OnceLock;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use quota_core::report::Snapshot;
use quota_core::{Decision, Verdict};

/// Usage gauge (counter usage this period, or gauge level).
pub const USAGE: &str = "quota_usage";
/// Allowance gauge (included + completed top-ups); absent when unlimited.
pub const LIMIT: &str = "quota_limit";
/// Usage / allowance.
pub const RATIO: &str = "quota_usage_ratio";
/// Decisions by outcome.
pub const DECISIONS: &str = "quota_decisions_total";
/// Latency of `GET /usage-billing/summary`, seconds (runbook: p90 < 400 ms).
pub const SUMMARY_LATENCY: &str = "quota_summary_latency";
/// Latency of the public `POST /designs` route, seconds.
pub const DESIGN_LATENCY: &str = "design_queue_latency";
/// Latency of the public `POST /renders` route, seconds.
pub const RENDER_LATENCY: &str = "render_queue_latency";

const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.4, 0.8, 1.6, 5.0,
];

static HANDLE: OnceLock<Result<PrometheusHandle, String>> = OnceLock::new();

/// The process-wide Prometheus recorder (installed once; every server in the process shares it).
#[derive(Clone)]
pub struct Metrics {
    handle: PrometheusHandle,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Metrics {
    /// Installs the recorder, or returns the one this process already installed.
    pub fn install() -> Result<Metrics, String> {
        let handle = HANDLE.get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_latency".into()), &BUCKETS)
                .map_err(|e| e.to_string())?;
            let handle = builder
                .install_recorder()
                .map_err(|e| format!("cannot install the Prometheus recorder: {e}"))?;
            describe();
            Ok(handle)
        });
        handle
            .as_ref()
            .map(|h| Metrics { handle: h.clone() })
            .map_err(Clone::clone)
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        self.handle.render()
    }
}

fn describe() {
    metrics::describe_gauge!(
        USAGE,
        "Usage of the current period (counters) or level (gauges), per brand and metric"
    );
    metrics::describe_gauge!(
        LIMIT,
        "Allowance (included units + completed top-ups), per brand and metric"
    );
    metrics::describe_gauge!(RATIO, "Usage divided by the allowance");
    metrics::describe_counter!(DECISIONS, "Quota decisions by outcome");
    metrics::describe_histogram!(
        SUMMARY_LATENCY,
        metrics::Unit::Seconds,
        "Latency of the usage summary (snapshot), seconds"
    );
    metrics::describe_histogram!(
        DESIGN_LATENCY,
        metrics::Unit::Seconds,
        "Latency of POST /designs, seconds"
    );
    metrics::describe_histogram!(
        RENDER_LATENCY,
        metrics::Unit::Seconds,
        "Latency of POST /renders, seconds"
    );
}

/// The outcome label of a decision.
pub fn outcome(decision: &Decision) -> &'static str {
    match decision.verdict {
        Verdict::Allowed => "allowed",
        Verdict::AllowedWithOverage { .. } => "overage",
        Verdict::Denied { .. } => "denied",
        _ => "other",
    }
}

/// Counts a decision.
pub fn count_decision(decision: &Decision) {
    metrics::counter!(DECISIONS, "outcome" => outcome(decision)).increment(1);
}

/// Sets a brand's gauges for one metric.
#[allow(clippy::cast_precision_loss)] // gauges are f64 by nature
pub fn observe_usage(brand: &str, metric: &str, used: u64, limit: Option<u64>) {
    let labels = [("brand", brand.to_owned()), ("metric", metric.to_owned())];
    metrics::gauge!(USAGE, &labels).set(used as f64);
    if let Some(limit) = limit {
        metrics::gauge!(LIMIT, &labels).set(limit as f64);
        let ratio = if limit == 0 {
            if used == 0 { 0.0 } else { 1.0 }
        } else {
            used as f64 / limit as f64
        };
        metrics::gauge!(RATIO, &labels).set(ratio);
    }
}

/// Sets every gauge of a brand from its snapshot.
pub fn observe_snapshot(snapshot: &Snapshot) {
    for m in &snapshot.metrics {
        observe_usage(&snapshot.brand_id, &m.metric, m.used, m.limit);
    }
}

/// Records a latency in seconds.
pub fn latency(name: &'static str, seconds: f64) {
    metrics::histogram!(name).record(seconds);
}
