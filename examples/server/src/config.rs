//! Server configuration: flags and environment, and the plan catalog to load.

use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use quota_core::{Catalog, Clock};
use quota_notify::NotifyConfig;
use quota_payments::StripeConfig;
use quota_share::ShareTtl;

/// Default port (the runbook's `BASE_URL=http://localhost:3333`).
pub const DEFAULT_PORT: u16 = 3333;
/// Default request body limit (bytes).
pub const DEFAULT_BODY_LIMIT: usize = quota_axum::config::DEFAULT_BODY_LIMIT;
/// The demo brand seeded on start.
pub const DEMO_BRAND: &str = "brand_dashboard";
/// The public URL `quota reset --store` prints links under when `FRONTEND_URL` is not set:
/// the server's default listen address.
pub const DEFAULT_PUBLIC_URL: &str = "http://127.0.0.1:3333";

/// Which checkout sells top-ups.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum CheckoutMode {
    /// Stripe when `STRIPE_SECRET_KEY` is set, else none (top-ups off: checkout answers 503).
    #[default]
    Auto,
    /// Stripe Checkout (`STRIPE_SECRET_KEY` required).
    Stripe,
    /// The simulated page: nobody pays. Development only, refused with `STRIPE_SECRET_KEY`.
    Simulated,
    /// No checkout: top-ups off.
    Off,
}

/// How `quota serve` runs.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// Address to bind (default loopback).
    pub host: IpAddr,
    /// Port (0 picks a free one).
    pub port: u16,
    /// Store URL: `memory`, `redis://...`, `postgres://...`.
    pub store: String,
    /// Plan catalog file (TOML or JSON); the demo catalog when `None`.
    pub plans: Option<PathBuf>,
    /// Base URL of every absolute link the server hands out (share, cockpit, alerts, reset,
    /// checkout); the server's own listen address when `None`.
    pub frontend_url: Option<String>,
    /// Whether the admin dev clock endpoint is enabled.
    pub dev_clock: bool,
    /// Largest accepted request body, bytes.
    pub body_limit: usize,
    /// Header, request and connection limits of the listener.
    pub limits: crate::listener::Limits,
    /// Seed the demo brand.
    pub seed: bool,
    /// `QUOTA_ADMIN_JWT_SECRET`; dev mode (generated secrets) when `None`.
    pub admin_secret: Option<String>,
    /// `QUOTA_API_KEY_SECRET`; derived from the admin secret when `None`.
    pub api_key_secret: Option<String>,
    /// Print the start banner.
    pub banner: bool,
    /// The base clock (the system clock when `None`); tests pin time with a fake one.
    pub clock: Option<Arc<dyn Clock>>,
    /// `QUOTA_SHARE_KEYS` (`kid:secret,...`, active first); generated when `None`.
    pub share_keys: Option<String>,
    /// Share link lifetimes (`QUOTA_SHARE_TTL_MS`, capped).
    pub share_ttl: ShareTtl,
    /// Stripe Checkout (`STRIPE_SECRET_KEY`, `STRIPE_API_BASE`); the simulated checkout when `None`.
    pub stripe: Option<StripeConfig>,
    /// Which checkout sells top-ups (`--checkout`, `--dev`).
    pub checkout: CheckoutMode,
    /// Open checkouts per brand (`QUOTA_MAX_PENDING_CHECKOUTS`).
    pub max_pending_checkouts: usize,
    /// How long a checkout (and its pending top-up) stays open (`QUOTA_CHECKOUT_TTL_SECS`).
    pub checkout_ttl: std::time::Duration,
    /// `STRIPE_WEBHOOK_SECRET` (comma-separated while rolling); generated when `None`.
    pub webhook_secret: Option<String>,
    /// Alert delivery (`SLACK_WEBHOOK_URL`, `SMTP_URL` + `ALERT_EMAIL_TO`, `QUOTA_WEBHOOK_URL`);
    /// alerts are only kept in the timeline when `None` or when no sink is on.
    pub notify: Option<NotifyConfig>,
    /// `QUOTA_METRICS_TOKEN`: the bearer token `/metrics` asks for; open when `None`.
    pub metrics_token: Option<String>,
    /// Brands with usage series on `/metrics` (`QUOTA_METRICS_BRAND_SERIES`; 0: none).
    pub metrics_brand_series: usize,
    /// `QUOTA_EXPERT_URL`: where the cockpit's "Talk to an expert" leads; hidden when `None`.
    pub expert_url: Option<String>,
}

impl Default for ServeConfig {
    fn default() -> Self {
        ServeConfig {
            host: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: DEFAULT_PORT,
            store: "memory".into(),
            plans: None,
            frontend_url: None,
            dev_clock: false,
            body_limit: DEFAULT_BODY_LIMIT,
            limits: crate::listener::Limits::default(),
            seed: true,
            admin_secret: None,
            api_key_secret: None,
            banner: false,
            clock: None,
            share_keys: None,
            share_ttl: ShareTtl::default(),
            stripe: None,
            checkout: CheckoutMode::Auto,
            max_pending_checkouts: quota_payments::pending::DEFAULT_MAX_PENDING_PER_BRAND,
            checkout_ttl: quota_payments::pending::DEFAULT_CHECKOUT_TTL,
            webhook_secret: None,
            notify: None,
            metrics_token: None,
            metrics_brand_series: quota_axum::metrics::DEFAULT_BRAND_SERIES,
            expert_url: None,
        }
    }
}

impl ServeConfig {
    /// The public URL: [`ServeConfig::frontend_url`], or `http://` and the address the server
    /// listens on (`localhost` for an unspecified address such as `0.0.0.0`).
    pub fn public_url(&self, bound: std::net::SocketAddr) -> String {
        if let Some(url) = &self.frontend_url {
            return url.trim_end_matches('/').to_owned();
        }
        if bound.ip().is_unspecified() {
            format!("http://localhost:{}", bound.port())
        } else {
            format!("http://{bound}")
        }
    }

    /// A config for tests: loopback, a free port, memory store, no banner.
    pub fn for_tests() -> Self {
        ServeConfig {
            port: 0,
            ..ServeConfig::default()
        }
    }
}

/// Loads the catalog: `path` (TOML, or JSON by extension) or the demo catalog.
pub fn load_catalog(path: Option<&Path>) -> Result<Catalog, String> {
    let Some(path) = path else {
        return Ok(Catalog::demo());
    };
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read plans file {}: {e}", path.display()))?;
    let parsed = if path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"))
    {
        Catalog::from_json(&text)
    } else {
        Catalog::from_toml(&text)
    };
    parsed.map_err(|e| format!("plans file {}: {e}", path.display()))
}
