//! The process's logs: text (colours only when stderr is a terminal) or one JSON object per
//! line (`--log-format json`), on stderr, filtered by `--log-filter` / `RUST_LOG`. In JSON mode
//! nothing else is written: the start banner becomes one `listening` event (without the dev
//! secrets, which only the text banner shows).

use std::io::IsTerminal;

use clap::{Args, ValueEnum};
use tracing_subscriber::EnvFilter;

use crate::server::RunningServer;

/// The filter when none is given: the drivers' own chatter (sqlx's statement and migration
/// notices) stays out.
pub const DEFAULT_FILTER: &str = "info,sqlx=warn,redis=warn";

/// How log lines look.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines; the start banner on stdout.
    #[default]
    Text,
    /// One JSON object per line (`timestamp`, `level`, `fields`, `target`, `span`).
    Json,
}

/// The logging flags of `quota serve`.
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "Logging")]
pub struct LogArgs {
    /// Log line format.
    #[arg(long, env = "QUOTA_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// Which logs to keep (tracing `EnvFilter` syntax, e.g. `info,quota_server=debug`);
    /// `info,sqlx=warn,redis=warn` when unset.
    #[arg(long, env = "RUST_LOG")]
    pub log_filter: Option<String>,
}

impl LogArgs {
    /// The settings of commands without logging flags: text, `RUST_LOG` or the default.
    pub fn from_env() -> Self {
        LogArgs {
            log_format: LogFormat::Text,
            log_filter: std::env::var("RUST_LOG").ok(),
        }
    }
}

/// Installs the process's subscriber. A filter that does not parse falls back to the default
/// (and says so).
pub fn init(args: &LogArgs) {
    let given = args.log_filter.as_deref().filter(|f| !f.trim().is_empty());
    let (filter, bad) = match given.map(EnvFilter::try_new) {
        Some(Ok(f)) => (f, None),
        Some(Err(e)) => (EnvFilter::new(DEFAULT_FILTER), Some(e.to_string())),
        None => (EnvFilter::new(DEFAULT_FILTER), None),
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match args.log_format {
        LogFormat::Text => builder.with_ansi(std::io::stderr().is_terminal()).init(),
        LogFormat::Json => builder
            .json()
            .with_ansi(false)
            .with_current_span(true)
            .with_span_list(false)
            .init(),
    }
    if let Some(error) = bad {
        tracing::warn!(%error, "--log-filter / RUST_LOG does not parse; using {DEFAULT_FILTER}");
    }
}

/// The start banner as one log event (JSON mode).
pub fn log_start(server: &RunningServer) {
    let base = server.base_url();
    let st = &server.state;
    tracing::info!(
        url = %base,
        store = %crate::backend::redact(&server.config.store),
        api = %format!("{base}/api/v1"),
        metrics = %format!("{base}/metrics"),
        health = %format!("{base}/healthz"),
        ready = %format!("{base}/readyz"),
        dev_clock = st.dev_clock.is_some(),
        checkout = st.payments.provider_name(),
        share_revocations = st.share.revocations_in,
        alert_sinks = %st.alerts.as_ref().map_or_else(String::new, |a| a.sinks.join(",")),
        "listening"
    );
    if st.secrets.generated() || st.share.generated_keys.is_some() {
        tracing::warn!(
            "dev mode: secrets generated for this run are not logged in JSON; set QUOTA_ADMIN_JWT_SECRET (and QUOTA_SHARE_KEYS, STRIPE_WEBHOOK_SECRET) or use --log-format text"
        );
    }
}
