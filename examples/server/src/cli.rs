//! The `quota` command line: `serve`, `reset`, `token`.

use std::net::IpAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use quota_core::QuotaGuard;
use quota_core::reset::ResetRequest;

use crate::backend::{StoreKind, open_store};
use crate::config::{
    CheckoutMode, DEFAULT_BODY_LIMIT, DEFAULT_PORT, DEFAULT_PUBLIC_URL, ServeConfig, load_catalog,
};
use crate::server::{banner, spawn};
use quota_axum::AppConfig;
use quota_axum::auth::Secrets;
use quota_axum::reset::{ResetReport, run_reset};

/// Usage Quota Guardian QA server and support tooling.
#[derive(Debug, Parser)]
#[command(
    name = "quota",
    version,
    about,
    after_help = "Exit codes: 0 done; 1 refused or failed (nothing changed); 2 bad command line; 3 reset applied but a part of it refused (the top-up)."
)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Sub-commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the API server (memory store and demo brand by default).
    Serve(Box<ServeArgs>),
    /// Reset a brand's metric to a target % of its plan (the runbook's `quota:reset`).
    Reset(ResetArgs),
    /// Print tokens and keys for the configured secrets.
    Token {
        /// Which token.
        #[command(subcommand)]
        kind: TokenKind,
    },
}

/// `quota serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Port to listen on.
    #[arg(long, env = "PORT", default_value_t = DEFAULT_PORT)]
    pub port: u16,
    /// Address to bind.
    #[arg(long, env = "QUOTA_HOST", default_value = "127.0.0.1")]
    pub host: IpAddr,
    /// Store: `memory`, `redis://...`, `postgres://...`.
    #[arg(long, env = "QUOTA_STORE_URL", default_value = "memory")]
    pub store: String,
    /// Plan catalog file (TOML, or JSON by extension); the demo catalog otherwise.
    #[arg(long, env = "QUOTA_PLANS")]
    pub plans: Option<PathBuf>,
    /// Base URL of every link the server hands out (share, cockpit, alerts, checkout); the
    /// server's own address (`http://<host>:<port>`) when not set.
    #[arg(long, env = "FRONTEND_URL")]
    pub frontend_url: Option<String>,
    /// Let admins move the server's time forward (month-end rehearsal).
    #[arg(long)]
    pub dev_clock: bool,
    /// Development server: the simulated checkout (as `--checkout simulated`; nobody pays,
    /// never expose it).
    #[arg(long)]
    pub dev: bool,
    /// Which checkout sells top-ups: `auto` (Stripe when STRIPE_SECRET_KEY is set, else
    /// none: top-ups answer 503), `stripe`, `simulated` (development only), `off`.
    #[arg(long, env = "QUOTA_CHECKOUT", value_enum, default_value_t = CheckoutMode::Auto)]
    pub checkout: CheckoutMode,
    /// Open checkouts a brand may have at once (a new one answers 429 past it).
    #[arg(long, env = "QUOTA_MAX_PENDING_CHECKOUTS", default_value_t = 20, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub max_pending_checkouts: u64,
    /// Seconds a checkout and its pending top-up stay open (Stripe's bounds: 30 min to 24 h).
    #[arg(long, env = "QUOTA_CHECKOUT_TTL_SECS", default_value_t = 3600, value_parser = clap::value_parser!(u64).range(1800..=86400))]
    pub checkout_ttl_secs: u64,
    /// Largest accepted request body, bytes.
    #[arg(long, default_value_t = DEFAULT_BODY_LIMIT)]
    pub body_limit: usize,
    /// Do not seed the demo brand `brand_dashboard`.
    #[arg(long)]
    pub no_seed: bool,
    /// Seconds a client has to send a request's headers; keep-alive connections idle this
    /// long are closed too.
    #[arg(long, env = "QUOTA_HEADER_READ_TIMEOUT_SECS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub header_read_timeout_secs: u64,
    /// Seconds a request may take to be answered (503 past it).
    #[arg(long, env = "QUOTA_REQUEST_TIMEOUT_SECS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub request_timeout_secs: u64,
    /// Connections served at once (more wait in the listen backlog).
    #[arg(long, env = "QUOTA_MAX_CONNECTIONS", default_value_t = 1024, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub max_connections: u64,
    /// Secrets, share links, Stripe, alert delivery, `/metrics` access.
    #[command(flatten)]
    pub settings: crate::settings::ServeSettings,
    /// Log format and filter.
    #[command(flatten)]
    pub log: crate::logging::LogArgs,
}

/// `quota reset`.
#[derive(Debug, Args)]
pub struct ResetArgs {
    /// The brand.
    #[arg(long)]
    pub brand: String,
    /// The metric (a counter).
    #[arg(long)]
    pub metric: String,
    /// Target usage, % of the plan's included units.
    #[arg(long)]
    pub target: u16,
    /// Units of a completed top-up to add (if the metric accepts overage charge).
    #[arg(long)]
    pub topup: Option<u64>,
    /// Print what would be done; write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// A running server (default http://localhost:3333).
    #[arg(long, env = "QUOTA_API_URL", conflicts_with = "store")]
    pub api: Option<String>,
    /// Work on a store directly instead (`redis://...`, `postgres://...`).
    #[arg(long)]
    pub store: Option<String>,
    /// Admin JWT for `--api` (else `QUOTA_ADMIN_TOKEN`, `ADMIN_JWT`, or one minted from
    /// `QUOTA_ADMIN_JWT_SECRET`).
    #[arg(long, env = "QUOTA_ADMIN_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Plan catalog for `--store` (as `quota serve --plans`).
    #[arg(long, env = "QUOTA_PLANS")]
    pub plans: Option<PathBuf>,
    /// Base URL of the printed links (`--store` mode), as `quota serve --frontend-url`.
    #[arg(long, env = "FRONTEND_URL", default_value = DEFAULT_PUBLIC_URL)]
    pub frontend_url: String,
}

/// `quota token ...`.
#[derive(Debug, Subcommand)]
pub enum TokenKind {
    /// An admin JWT signed with `QUOTA_ADMIN_JWT_SECRET`.
    Admin {
        /// Validity in hours.
        #[arg(long, default_value_t = 24)]
        ttl_hours: u64,
    },
    /// The public API key of a brand.
    Public {
        /// The brand.
        #[arg(long)]
        brand: String,
    },
}

/// Exit code: done.
pub const EXIT_OK: u8 = 0;
/// Exit code: refused or failed; nothing was changed.
pub const EXIT_FAILED: u8 = 1;
/// Exit code: a bad command line (clap's own code).
pub const EXIT_USAGE: u8 = 2;
/// Exit code: `quota reset` was applied, but a part of it was refused (the top-up of a
/// metric that accepts none): the printed report says which.
pub const EXIT_PARTLY_REFUSED: u8 = 3;

/// Runs a parsed command line; returns the process exit code (`EXIT_*`). An error is
/// printed by the caller and exits with [`EXIT_FAILED`].
pub async fn run(cli: Cli) -> Result<u8, String> {
    crate::install_crypto_provider();
    match cli.command {
        Command::Serve(a) => serve(*a).await.map(|()| EXIT_OK),
        Command::Reset(a) => reset(a).await,
        Command::Token { kind } => token(&kind).map(|()| EXIT_OK),
    }
}

fn env_secret(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|s| !s.is_empty())
}

fn configured_secrets() -> Result<Secrets, String> {
    let admin = env_secret("QUOTA_ADMIN_JWT_SECRET").ok_or(
        "QUOTA_ADMIN_JWT_SECRET is not set: a dev server generates its own secrets and prints an admin JWT and public key at start",
    )?;
    Secrets::from_config(&admin, env_secret("QUOTA_API_KEY_SECRET").as_deref())
        .map_err(|e| e.to_string())
}

async fn serve(a: ServeArgs) -> Result<(), String> {
    let settings = &a.settings;
    let checkout = match (a.dev, a.checkout) {
        (false, mode) => mode,
        (true, CheckoutMode::Auto | CheckoutMode::Simulated) => CheckoutMode::Simulated,
        (true, other) => {
            return Err(format!(
                "--dev turns the simulated checkout on; it cannot go with --checkout {}",
                format!("{other:?}").to_lowercase()
            ));
        }
    };
    let config = ServeConfig {
        host: a.host,
        port: a.port,
        store: a.store,
        plans: a.plans,
        frontend_url: a.frontend_url.clone(),
        dev_clock: a.dev_clock,
        body_limit: a.body_limit,
        limits: crate::listener::Limits {
            header_read_timeout: std::time::Duration::from_secs(a.header_read_timeout_secs),
            request_timeout: std::time::Duration::from_secs(a.request_timeout_secs),
            max_connections: usize::try_from(a.max_connections).unwrap_or(usize::MAX),
        },
        seed: !a.no_seed,
        admin_secret: settings.admin_secret(),
        api_key_secret: settings.api_key_secret(),
        banner: true,
        clock: None,
        share_keys: settings.share_keys(),
        share_ttl: settings.share_ttl()?,
        stripe: settings.stripe(),
        checkout,
        max_pending_checkouts: usize::try_from(a.max_pending_checkouts).unwrap_or(usize::MAX),
        checkout_ttl: std::time::Duration::from_secs(a.checkout_ttl_secs),
        webhook_secret: settings.stripe_webhook_secret(),
        // The cockpit links in alerts follow --frontend-url like the rest of the server.
        notify: Some(settings.notify(a.frontend_url.as_deref())?),
        metrics_token: settings.metrics_token(),
        metrics_brand_series: settings.metrics_brand_series()?,
        expert_url: settings.expert_url(),
    };
    let json = a.log.log_format == crate::logging::LogFormat::Json;
    // Listening for the signals before the banner says the server is up: a SIGTERM sent as
    // soon as the banner shows is then a drain, never the default kill.
    let signal = shutdown_signal()?;
    let server = spawn(config).await.map_err(|e| e.to_string())?;
    if json {
        crate::logging::log_start(&server);
    } else {
        println!("{}", banner(&server));
    }
    let signal = signal.await?;
    let deadline = DRAIN_DEADLINE.as_secs();
    if json {
        tracing::info!(signal, deadline_secs = deadline, "draining");
    } else {
        eprintln!(
            "quota: {signal} received: no new connections, draining in-flight requests and alerts (at most {deadline} s)"
        );
    }
    match tokio::time::timeout(DRAIN_DEADLINE, server.stop()).await {
        Ok(stopped) => stopped.map_err(|e| e.to_string()),
        Err(_) => Err(format!(
            "requests still in flight after {deadline} s; stopping anyway"
        )),
    }
}

/// How long `quota serve` waits for in-flight requests and the alert dispatcher once asked to
/// stop.
pub const DRAIN_DEADLINE: std::time::Duration = std::time::Duration::from_secs(30);

/// Starts listening for SIGTERM (what process managers send) and SIGINT (Ctrl-C); the future
/// ends with the name of the first one received.
fn shutdown_signal()
-> Result<impl std::future::Future<Output = Result<&'static str, String>>, String> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate())
            .map_err(|e| format!("cannot listen for SIGTERM: {e}"))?;
        let mut int = signal(SignalKind::interrupt())
            .map_err(|e| format!("cannot listen for SIGINT: {e}"))?;
        Ok(async move {
            tokio::select! {
                _ = int.recv() => Ok("SIGINT"),
                _ = term.recv() => Ok("SIGTERM"),
            }
        })
    }
    #[cfg(not(unix))]
    {
        Ok(async {
            tokio::signal::ctrl_c()
                .await
                .map(|()| "Ctrl-C")
                .map_err(|e| e.to_string())
        })
    }
}

fn token(kind: &TokenKind) -> Result<(), String> {
    let secrets = configured_secrets()?;
    match kind {
        TokenKind::Admin { ttl_hours } => {
            let t = secrets
                .admin_token(ttl_hours.saturating_mul(3600))
                .map_err(|e| e.to_string())?;
            println!("{t}");
        }
        TokenKind::Public { brand } => {
            quota_core::ids::validate_brand_id(brand).map_err(|e| e.to_string())?;
            println!("{}", secrets.public_key(brand));
        }
    }
    Ok(())
}

/// Normalizes `--api` to the `/api/v1` base.
pub fn api_base(api: &str) -> String {
    let base = api.trim_end_matches('/');
    if base.ends_with("/api/v1") {
        base.to_owned()
    } else {
        format!("{base}/api/v1")
    }
}

async fn reset(a: ResetArgs) -> Result<u8, String> {
    let mut req = ResetRequest::new(a.brand.clone(), a.metric.clone(), a.target);
    if let Some(t) = a.topup {
        req = req.with_topup(t);
    }
    let report = if let Some(url) = &a.store {
        reset_on_store(url, a.plans.as_deref(), &req, a.dry_run, &a.frontend_url).await?
    } else {
        let api = a.api.as_deref().unwrap_or("http://localhost:3333");
        let token = match a.token.clone().or_else(|| env_secret("ADMIN_JWT")) {
            Some(t) => t,
            None => configured_secrets()?
                .admin_token(600)
                .map_err(|e| e.to_string())?,
        };
        reset_via_api(api, &token, &a, &req).await?
    };
    print!("{}", report.render());
    if report.topup_refused.is_some() {
        eprintln!("quota: part of the reset was refused (see \"top-up\" above)");
        return Ok(EXIT_PARTLY_REFUSED);
    }
    Ok(EXIT_OK)
}

async fn reset_on_store(
    url: &str,
    plans: Option<&std::path::Path>,
    req: &ResetRequest,
    dry_run: bool,
    frontend_url: &str,
) -> Result<ResetReport, String> {
    if StoreKind::of(url)? == StoreKind::Memory {
        return Err(
            "the memory store lives inside a running server: use `--api http://localhost:3333` instead of `--store memory`"
                .into(),
        );
    }
    let catalog = load_catalog(plans)?;
    let (store, _) = open_store(url).await?;
    let guard = QuotaGuard::builder(catalog).build(store);
    run_reset(&guard, req, dry_run, &AppConfig::new(frontend_url))
        .await
        .map_err(|e| e.to_string())
}

/// Calls `POST /api/v1/usage-billing/reset` on a running server.
pub async fn reset_via_api(
    api: &str,
    token: &str,
    a: &ResetArgs,
    req: &ResetRequest,
) -> Result<ResetReport, String> {
    let url = format!("{}/usage-billing/reset", api_base(api));
    let body = serde_json::json!({
        "brandId": req.brand,
        "metric": req.metric,
        "target": req.target_percent,
        "topup": req.topup_units,
        "dryRun": a.dry_run,
    });
    let res = reqwest::Client::new()
        .post(&url)
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .map_err(|e| format!("cannot reach {url}: {e} (is `quota serve` running?)"))?;
    let status = res.status();
    let value: serde_json::Value = res
        .json()
        .await
        .map_err(|e| format!("{url} answered {status} with a body that is not JSON: {e}"))?;
    if !status.is_success() {
        let detail = value
            .get("detail")
            .and_then(serde_json::Value::as_str)
            .unwrap_or("no detail");
        return Err(format!("reset refused ({status}): {detail}"));
    }
    serde_json::from_value(value).map_err(|e| format!("unexpected reset answer: {e}"))
}
