//! Prometheus metrics (`/metrics`): usage, limit and ratio gauges per brand and metric
//! (at most [`Metrics::brand_series`] brands), decisions by source and outcome, HTTP requests
//! by method, matched route and status class ([`http`]), store operations ([`store`]), the
//! alert outbox, and latency histograms in seconds.
//!
//! Gauges are written whenever the server learns a brand's usage (a record, a reset, a
//! summary) and refreshed for every known brand at each scrape, so a reset or a month-end
//! shows at once — the runbook's `QuotaMetricsService.resetBrand`, without a restart.
//!
//! The runbook's names map onto these: `quota_summary_latency` is
//! [`SUMMARY_LATENCY`], `design_queue_latency` is [`DESIGN_LATENCY`], `render_queue_latency`
//! is [`RENDER_LATENCY`] (Prometheus' `_seconds` suffix for a histogram in seconds).

pub mod http;
pub mod store;

use std::collections::HashSet;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use quota_core::report::Snapshot;
use quota_core::{Decision, Verdict};

/// Usage gauge (counter usage this period, or gauge level), per brand and metric.
pub const USAGE: &str = "quota_usage";
/// Allowance gauge (included + completed top-ups); absent when unlimited.
pub const LIMIT: &str = "quota_limit";
/// Usage / allowance.
pub const RATIO: &str = "quota_usage_ratio";
/// Brands that have usage series on this instance (at most [`Metrics::brand_series`]).
pub const BRAND_SERIES: &str = "quota_brand_series";
/// Usage observations dropped because their brand is past the brand-series cap.
pub const BRAND_SERIES_REFUSED: &str = "quota_brand_series_refused_total";
/// Decisions, labelled `source` (`api`: the record route; `layer`: `quota_tower::QuotaLayer`
/// on metered routes) and `outcome`.
pub const DECISIONS: &str = quota_tower::metric_names::DECISIONS_TOTAL;
/// Store failures `quota_tower::QuotaLayer` met, by failure policy (`open` / `closed`).
pub const LAYER_STORE_ERRORS: &str = quota_tower::metric_names::STORE_ERRORS_TOTAL;
/// Latency of `GET /usage-billing/summary` (the runbook's `quota_summary_latency`, p90 < 400 ms).
pub const SUMMARY_LATENCY: &str = "quota_summary_latency_seconds";
/// Latency of the public `POST /designs` route (the runbook's `design_queue_latency`).
pub const DESIGN_LATENCY: &str = "quota_design_queue_latency_seconds";
/// Latency of the public `POST /renders` route (the runbook's `render_queue_latency`).
pub const RENDER_LATENCY: &str = "quota_render_queue_latency_seconds";
/// HTTP requests answered, by `method`, `route` (the matched route template) and `status`
/// class (`2xx`...).
pub const HTTP_REQUESTS: &str = "quota_http_requests_total";
/// HTTP request latency, same labels as [`HTTP_REQUESTS`].
pub const HTTP_LATENCY: &str = "quota_http_request_duration_seconds";
/// Latency of store operations, by `op`.
pub const STORE_LATENCY: &str = "quota_store_latency_seconds";
/// Store operations that failed, by `op`.
pub const STORE_OP_ERRORS: &str = "quota_store_operation_errors_total";
/// 1 when the store answered the last scrape's ping within [`store::PING_TIMEOUT`], else 0.
pub const STORE_UP: &str = "quota_store_up";
/// Pending outbox messages, by `sink` (saturates at [`OUTBOX_COUNT_LIMIT`]).
pub const OUTBOX_PENDING: &str = "quota_outbox_pending";
/// Dead-letter outbox messages, by `sink` (saturates at [`OUTBOX_COUNT_LIMIT`]).
pub const OUTBOX_DEAD_LETTERS: &str = "quota_outbox_dead_letters";
/// Alerts delivered by this instance's dispatcher.
pub const OUTBOX_DELIVERED: &str = "quota_outbox_delivered_total";
/// Failed delivery attempts rescheduled by this instance's dispatcher.
pub const OUTBOX_RETRIED: &str = "quota_outbox_retried_total";
/// Alerts this instance's dispatcher moved to the dead letters.
pub const OUTBOX_DEAD_LETTERED: &str = "quota_outbox_dead_lettered_total";
/// Alerts the listener lost before they reached the outbox (its queue was full or closed).
pub const ALERTS_LOST: &str = "quota_alerts_lost_total";

/// Every metric family the server exports (histograms without their `_bucket`, `_sum`,
/// `_count` series): what a dashboard or an alert rule may name.
pub const NAMES: &[&str] = &[
    USAGE,
    LIMIT,
    RATIO,
    BRAND_SERIES,
    BRAND_SERIES_REFUSED,
    DECISIONS,
    LAYER_STORE_ERRORS,
    SUMMARY_LATENCY,
    DESIGN_LATENCY,
    RENDER_LATENCY,
    HTTP_REQUESTS,
    HTTP_LATENCY,
    STORE_LATENCY,
    STORE_OP_ERRORS,
    STORE_UP,
    OUTBOX_PENDING,
    OUTBOX_DEAD_LETTERS,
    OUTBOX_DELIVERED,
    OUTBOX_RETRIED,
    OUTBOX_DEAD_LETTERED,
    ALERTS_LOST,
];

/// Of [`NAMES`], the families that only appear once their event happened (a failure, a
/// brand past the cap) or, for the outbox ones, when an alert sink is configured.
pub const CONDITIONAL_NAMES: &[&str] = &[
    BRAND_SERIES_REFUSED,
    LAYER_STORE_ERRORS,
    STORE_OP_ERRORS,
    OUTBOX_PENDING,
    OUTBOX_DEAD_LETTERS,
    OUTBOX_DELIVERED,
    OUTBOX_RETRIED,
    OUTBOX_DEAD_LETTERED,
    ALERTS_LOST,
];

/// Most outbox messages counted per sink and status at a scrape.
pub const OUTBOX_COUNT_LIMIT: usize = 1000;

/// Brands with usage series when nothing else is configured (`QUOTA_METRICS_BRAND_SERIES`).
pub const DEFAULT_BRAND_SERIES: usize = 1000;

/// How often the exporter's upkeep runs (drains histogram samples into their buckets).
pub const UPKEEP_INTERVAL: Duration = Duration::from_secs(5);

const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.4, 0.8, 1.6, 5.0,
];

static HANDLE: OnceLock<Result<PrometheusHandle, String>> = OnceLock::new();

/// The process-wide Prometheus recorder (installed once; every server in the process shares
/// it), and the brands this server keeps usage series for.
#[derive(Clone)]
pub struct Metrics {
    handle: PrometheusHandle,
    brands: Arc<BrandSeries>,
}

/// The brands admitted to usage series, first come first served up to the cap: a brand's
/// label values multiply every per-brand family, so an unbounded set of brands would grow
/// the scrape (and Prometheus' memory) without end.
struct BrandSeries {
    cap: usize,
    admitted: Mutex<HashSet<String>>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics")
            .field("brand_series", &self.brands.cap)
            .finish_non_exhaustive()
    }
}

impl Metrics {
    /// Installs the recorder and its upkeep thread, or returns the one this process already
    /// installed; usage series for at most [`DEFAULT_BRAND_SERIES`] brands.
    pub fn install() -> Result<Metrics, String> {
        let handle = HANDLE.get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &BUCKETS)
                .map_err(|e| e.to_string())?;
            let handle = builder
                .install_recorder()
                .map_err(|e| format!("cannot install the Prometheus recorder: {e}"))?;
            describe();
            spawn_upkeep(handle.clone())?;
            Ok(handle)
        });
        handle
            .as_ref()
            .map(|h| Metrics {
                handle: h.clone(),
                brands: Arc::new(BrandSeries::new(DEFAULT_BRAND_SERIES)),
            })
            .map_err(Clone::clone)
    }

    /// The same recorder with usage series for at most `cap` brands (0: no per-brand series).
    #[must_use]
    pub fn with_brand_series(self, cap: usize) -> Metrics {
        Metrics {
            handle: self.handle,
            brands: Arc::new(BrandSeries::new(cap)),
        }
    }

    /// Most brands with usage series.
    pub fn brand_series(&self) -> usize {
        self.brands.cap
    }

    /// Whether `brand` has (or may now get) usage series; counts a refusal otherwise.
    pub fn admit(&self, brand: &str) -> bool {
        let Ok(mut set) = self.brands.admitted.lock() else {
            return false;
        };
        if set.contains(brand) {
            return true;
        }
        if set.len() < self.brands.cap {
            set.insert(brand.to_owned());
            #[allow(clippy::cast_precision_loss)] // at most the cap, far below 2^52
            metrics::gauge!(BRAND_SERIES).set(set.len() as f64);
            return true;
        }
        metrics::counter!(BRAND_SERIES_REFUSED).increment(1);
        false
    }

    /// Sets a brand's gauges for one metric (nothing past the brand-series cap).
    #[allow(clippy::cast_precision_loss)] // gauges are f64 by nature
    pub fn observe_usage(&self, brand: &str, metric: &str, used: u64, limit: Option<u64>) {
        if !self.admit(brand) {
            return;
        }
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
    pub fn observe_snapshot(&self, snapshot: &Snapshot) {
        for m in &snapshot.metrics {
            self.observe_usage(&snapshot.brand_id, &m.metric, m.used, m.limit);
        }
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        self.handle.render()
    }
}

impl BrandSeries {
    fn new(cap: usize) -> Self {
        BrandSeries {
            cap,
            admitted: Mutex::new(HashSet::new()),
        }
    }
}

/// Histograms keep raw samples until upkeep folds them into buckets: without it their memory
/// grows with every observation between scrapes. One thread per process, as the recorder.
fn spawn_upkeep(handle: PrometheusHandle) -> Result<(), String> {
    std::thread::Builder::new()
        .name("metrics-upkeep".into())
        .spawn(move || {
            loop {
                std::thread::sleep(UPKEEP_INTERVAL);
                handle.run_upkeep();
            }
        })
        .map(|_| ())
        .map_err(|e| format!("cannot start the metrics upkeep thread: {e}"))
}

fn describe() {
    use metrics::Unit::Seconds;
    metrics::describe_gauge!(
        USAGE,
        "Usage of the current period (counters) or level (gauges), per brand and metric"
    );
    metrics::describe_gauge!(
        LIMIT,
        "Allowance (included units + completed top-ups), per brand and metric"
    );
    metrics::describe_gauge!(RATIO, "Usage divided by the allowance");
    metrics::describe_gauge!(BRAND_SERIES, "Brands with usage series on this instance");
    metrics::describe_counter!(
        BRAND_SERIES_REFUSED,
        "Usage observations dropped: their brand is past the brand-series cap"
    );
    metrics::describe_counter!(DECISIONS, "Quota decisions by source and outcome");
    metrics::describe_counter!(
        LAYER_STORE_ERRORS,
        "Store failures met by the quota layer, by failure policy"
    );
    metrics::describe_histogram!(
        SUMMARY_LATENCY,
        Seconds,
        "Latency of the usage summary (snapshot), seconds"
    );
    metrics::describe_histogram!(DESIGN_LATENCY, Seconds, "Latency of POST /designs, seconds");
    metrics::describe_histogram!(RENDER_LATENCY, Seconds, "Latency of POST /renders, seconds");
    metrics::describe_counter!(
        HTTP_REQUESTS,
        "HTTP requests by method, matched route and status class"
    );
    metrics::describe_histogram!(
        HTTP_LATENCY,
        Seconds,
        "HTTP request latency by method, matched route and status class, seconds"
    );
    metrics::describe_histogram!(STORE_LATENCY, Seconds, "Store operation latency, seconds");
    metrics::describe_counter!(STORE_OP_ERRORS, "Store operations that failed, by op");
    metrics::describe_gauge!(STORE_UP, "1 when the store answered the scrape's ping");
    metrics::describe_gauge!(OUTBOX_PENDING, "Pending alert messages, by sink");
    metrics::describe_gauge!(OUTBOX_DEAD_LETTERS, "Dead-letter alert messages, by sink");
    metrics::describe_counter!(OUTBOX_DELIVERED, "Alerts delivered by this instance");
    metrics::describe_counter!(OUTBOX_RETRIED, "Failed alert deliveries rescheduled");
    metrics::describe_counter!(OUTBOX_DEAD_LETTERED, "Alerts moved to the dead letters");
    metrics::describe_counter!(ALERTS_LOST, "Alerts lost before reaching the outbox");
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

/// Counts a decision of the record route (`source="api"`).
pub fn count_decision(decision: &Decision) {
    metrics::counter!(DECISIONS, "outcome" => outcome(decision), "source" => "api").increment(1);
}

/// Records a latency in seconds.
pub fn latency(name: &'static str, seconds: f64) {
    metrics::histogram!(name).record(seconds);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_histogram_is_in_seconds_and_every_counter_ends_in_total() {
        for name in NAMES {
            assert!(name.starts_with("quota_"), "{name}");
        }
        for h in [
            SUMMARY_LATENCY,
            DESIGN_LATENCY,
            RENDER_LATENCY,
            HTTP_LATENCY,
            STORE_LATENCY,
        ] {
            assert!(h.ends_with("_seconds"), "{h}");
        }
        for c in [
            DECISIONS,
            HTTP_REQUESTS,
            STORE_OP_ERRORS,
            BRAND_SERIES_REFUSED,
            OUTBOX_DELIVERED,
            OUTBOX_RETRIED,
            OUTBOX_DEAD_LETTERED,
            ALERTS_LOST,
            LAYER_STORE_ERRORS,
        ] {
            assert!(c.ends_with("_total"), "{c}");
        }
        for c in CONDITIONAL_NAMES {
            assert!(NAMES.contains(c), "{c}");
        }
    }

    #[test]
    fn brands_past_the_cap_get_no_series() {
        let m = Metrics::install().unwrap().with_brand_series(2);
        assert!(m.admit("cap_a"));
        assert!(m.admit("cap_b"));
        assert!(m.admit("cap_a"), "an admitted brand stays admitted");
        assert!(!m.admit("cap_c"));
        let off = m.with_brand_series(0);
        assert!(!off.admit("cap_a"));
    }
}
