//! Load scenarios of the runbook (section 5) against the quota QA server (`quota serve`), in
//! Rust so that they need no tool beyond cargo: `usage-quota-guardian` (summary reads,
//! `POST /designs`, `POST /renders`, record calls) and `quota-share-topup` (share links, the
//! share page, top-up checkout). Each runs an open model (a fixed request rate), bounded in
//! time and count, on loopback only, prints a k6-like summary (requests, failures, p50/p90/p99
//! per named metric, expected quota denials) and fails when a threshold is broken.
//!
//! ```no_run
//! use std::sync::Arc;
//! use std::time::Duration;
//! use quota_load::{Load, Pace, Recorder, Scenario, Target, client, run};
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let target = Target::from_vars(|name| std::env::var(name).ok())?;
//! target.check_loopback(false)?;
//! let recorder = Recorder::default();
//! let http = client(Duration::from_secs(5), 64)?;
//! let load = Load::setup(Scenario::UsageQuotaGuardian, http, target, recorder.clone()).await?;
//! let pace = Pace { rate: 50.0, duration: Duration::from_secs(5), max_requests: 1_000, max_in_flight: 64 };
//! let stats = run(Arc::new(load), pace, &recorder).await;
//! print!("{}", stats.render("usage-quota-guardian"));
//! let broken = Scenario::UsageQuotaGuardian
//!     .default_thresholds()
//!     .iter()
//!     .filter(|t| !t.check(&stats).passed)
//!     .count();
//! assert_eq!(broken, 0);
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]

pub mod config;
pub mod runner;
pub mod scenario;
pub mod stats;
pub mod threshold;

pub use config::{ConfigError, Target};
pub use runner::{Pace, run};
pub use scenario::{Load, Scenario, SetupError, Step, client};
pub use stats::{Outcome, Recorder, Stats};
pub use threshold::{Threshold, Verdict};

/// Parses `5s`, `500ms`, `2m` or a bare number of seconds.
pub fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    let s = s.trim();
    let (num, unit) = match s.find(|c: char| !(c.is_ascii_digit() || c == '.')) {
        Some(at) => s.split_at(at),
        None => (s, "s"),
    };
    let n: f64 = num
        .parse()
        .map_err(|_| format!("{s:?} is not a duration (write 5s, 500ms or 2m)"))?;
    let secs = match unit {
        "ms" => n / 1000.0,
        "s" => n,
        "m" => n * 60.0,
        _ => return Err(format!("{s:?}: unknown unit {unit:?} (ms, s or m)")),
    };
    std::time::Duration::try_from_secs_f64(secs).map_err(|e| format!("{s:?}: {e}"))
}
