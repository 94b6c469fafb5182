//! The Usage Quota Guardian QA server and `quota` CLI: the runbook's API (record,
//! check-quota, summary, plans, brands, reset), admin JWT and per-brand public API keys,
//! RFC 9457 problem answers, Prometheus metrics and a dev clock — on top of `quota-core`;
//! share links (`quota-share`), top-up checkout with the simulated page or Stripe and its
//! webhook (`quota-payments`), and alert delivery to Slack, email and signed webhooks through
//! the store's outbox (`quota-notify`).
//!
//! `cargo run -p quota-server -- serve` starts it on port 3333 with the in-memory store and
//! prints the URLs and demo secrets. Tests start it in-process on a free port:
//!
//! ```no_run
//! use quota_server::{ServeConfig, spawn};
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let server = spawn(ServeConfig::for_tests()).await?;
//! let url = format!("{}/api/v1/usage-billing/summary?brandId=brand_dashboard", server.base_url());
//! println!("GET {url} with Authorization: Bearer {}", server.admin_token());
//! server.stop().await?;
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]

pub mod api;
pub mod auth;
pub mod backend;
pub mod cli;
pub mod config;
pub mod devclock;
pub mod extract;
pub mod guarded;
pub mod metrics;
pub mod pages;
pub mod payments;
pub mod problem;
pub mod reset;
pub mod server;
pub mod share;
pub mod state;
pub mod stripe_plans;

pub use config::{DEMO_BRAND, ServeConfig};
pub use problem::Problem;
pub use server::{RunningServer, ServerError, spawn};
pub use state::AppState;

/// Installs rustls' ring crypto provider for the process, once: every HTTP client of the
/// server (reqwest with `rustls-no-provider`) needs one. Harmless when another provider was
/// installed first.
pub fn install_crypto_provider() {
    quota_payments::install_crypto_provider();
}
