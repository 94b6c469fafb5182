//! The Usage Quota Guardian QA server and `quota` CLI: configuration (flags and
//! environment), the store (memory, Redis, Redis Cluster, Postgres), the plan catalog (file,
//! demo or Stripe prices), alert delivery (`quota-notify`), share-link and payment wiring, the
//! runbook's demo routes, all mounted through `quota-axum`.
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

pub mod backend;
pub mod cli;
pub mod config;
pub mod demo;
pub mod listener;
pub mod logging;
pub mod request_log;
pub mod server;
pub mod settings;
pub mod stripe_plans;
pub mod wiring;

pub use config::{DEMO_BRAND, ServeConfig};
pub use server::{RunningServer, ServerError, spawn};

/// Installs rustls' ring crypto provider as the process default, once: the server's own HTTP
/// clients (the Stripe plan sync, `quota reset --api`; reqwest with `rustls-no-provider`) use
/// it. The binary calls it at start; the library crates never install one (they pass theirs
/// explicitly). Harmless when another provider was installed first.
pub fn install_crypto_provider() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}
