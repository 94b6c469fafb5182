//! Building, starting and stopping the server.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use quota_core::{Clock, QuotaGuard, Subscription, SystemClock};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::backend::{open, redact};
use crate::config::{DEMO_BRAND, ServeConfig, load_catalog};
use quota_axum::AppConfig;
use quota_axum::auth::Secrets;
use quota_axum::devclock::DevClock;
use quota_axum::metrics::Metrics;
use quota_axum::metrics::store::TimedStore;
use quota_axum::state::{Alerts, AppState};
use quota_notify::{Dispatcher, QuotaAlertListener};

/// Lifetime of the admin token printed at start, seconds.
pub const DEV_TOKEN_TTL_SECS: u64 = 24 * 3600;

/// Start-up failures.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// Bad configuration (store URL, plans file, secrets, metrics recorder).
    #[error("{0}")]
    Config(String),
    /// Seeding the demo brand failed.
    #[error("cannot seed the demo brand: {0}")]
    Seed(#[from] quota_core::QuotaError),
    /// Binding or serving failed.
    #[error("server I/O: {0}")]
    Io(#[from] std::io::Error),
}

/// Builds the state: store, catalog, clock, secrets, metrics, share links, payments and
/// alert delivery (listener on the guard, dispatcher in the background when a sink is on);
/// seeds the demo brand.
pub async fn build_state(
    mut config: ServeConfig,
    public_url: String,
) -> Result<(AppState, ServeConfig), ServerError> {
    config.frontend_url = Some(public_url.clone());
    // reqwest is built with rustls without a default provider (quota-payments): install ring
    // once before any HTTP client (Stripe, alert sinks) is made.
    crate::install_crypto_provider();
    let mut catalog = load_catalog(config.plans.as_deref()).map_err(ServerError::Config)?;
    if let Some(stripe) = &config.stripe {
        // Stripe owns the prices when it is configured; an unreachable or unconfigured
        // Stripe keeps the file (or demo) catalog, loudly, rather than refusing to start.
        match crate::stripe_plans::catalog_from_stripe(stripe, &catalog).await {
            Ok(priced) => {
                tracing::info!(
                    plans = priced.plans().len(),
                    "plans loaded from Stripe prices"
                );
                catalog = priced;
            }
            Err(error) => {
                tracing::warn!(%error, "plans NOT loaded from Stripe; using the plans file or the demo catalog");
            }
        }
    }
    let opened = open(&config.store).await.map_err(ServerError::Config)?;
    let store_kind = opened.kind;
    let base: Arc<dyn Clock> = config
        .clock
        .clone()
        .unwrap_or_else(|| Arc::new(SystemClock));
    let dev_clock = config.dev_clock.then(|| DevClock::over(Arc::clone(&base)));
    let clock: Arc<dyn Clock> = match &dev_clock {
        Some(c) => Arc::new(c.clone()),
        None => base,
    };
    let mut builder = QuotaGuard::builder(catalog).clock(Arc::clone(&clock));
    let mut alerts = None;
    if let Some(notify) = config
        .notify
        .clone()
        .filter(|n| !n.sink_names().is_empty())
        .map(|n| n.with_frontend_url(&public_url))
    {
        let (listener, _writer) =
            QuotaAlertListener::start(Arc::clone(&opened.outbox), &notify, Arc::clone(&clock))
                .map_err(|e| ServerError::Config(format!("alert delivery: {e}")))?;
        let sinks = notify.sink_names();
        let failed =
            |e: quota_notify::NotifyError| ServerError::Config(format!("alert delivery: {e}"));
        let delivery =
            Dispatcher::from_config(Arc::clone(&opened.outbox), notify, Arc::clone(&clock))
                .map_err(failed)?;
        let dispatcher = delivery.spawn().map_err(failed)?;
        let listener_stats = Arc::clone(listener.stats());
        builder = builder.listener(Arc::new(listener));
        alerts = Some(Alerts {
            sinks,
            dispatcher: Arc::new(tokio::sync::Mutex::new(Some(dispatcher))),
            delivery,
            listener: listener_stats,
            outbox: Arc::clone(&opened.outbox),
        });
    }
    // Every store operation of the guard is timed (`quota_store_latency_seconds{op}`).
    let timed: Arc<dyn quota_core::Store> = Arc::new(TimedStore::new(Arc::clone(&opened.store)));
    let guard = builder.build(timed);
    let secrets = match &config.admin_secret {
        Some(s) => Secrets::from_config(s, config.api_key_secret.as_deref()),
        None => Secrets::generate(),
    }
    .map_err(|e| ServerError::Config(e.to_string()))?;
    let metrics = Metrics::install()
        .map_err(ServerError::Config)?
        .with_brand_series(config.metrics_brand_series);
    let share =
        crate::wiring::share(&config, &opened, Arc::clone(&clock)).map_err(ServerError::Config)?;
    let payments = crate::wiring::payments(&config, &public_url, Arc::clone(&clock))
        .map_err(ServerError::Config)?;
    let mut app_config = AppConfig::new(public_url)
        .body_limit(config.body_limit)
        .default_brand(DEMO_BRAND)
        .store_name(store_kind.name());
    if let Some(token) = &config.metrics_token {
        let token = quota_axum::config::MetricsToken::new(token).map_err(ServerError::Config)?;
        app_config = app_config.metrics_token(token);
    }
    if let Some(url) = &config.expert_url {
        let url = quota_axum::config::ExpertUrl::new(url).map_err(ServerError::Config)?;
        app_config = app_config.expert_url(url);
    }
    let secrets = Arc::new(secrets);
    let state = AppState {
        guard,
        auth: Arc::clone(&secrets) as Arc<dyn quota_axum::auth::Authenticator>,
        secrets,
        metrics,
        config: Arc::new(app_config),
        dev_clock,
        brands: Arc::new(Mutex::new(BTreeSet::new())),
        share,
        payments,
        alerts,
        sessions: Arc::new(quota_axum::session::Sessions::new()),
    };
    if config.seed {
        seed_demo_brand(&state).await?;
    }
    Ok((state, config))
}

/// Seeds `brand_dashboard` on the Starter plan (or the cheapest plan of a custom catalog),
/// unless it already exists: a few units used, every seat taken (so check-quota on
/// `team_members` shows the "Upgrade bloqué" case).
pub async fn seed_demo_brand(state: &AppState) -> Result<(), ServerError> {
    let guard = &state.guard;
    state.track_brand(DEMO_BRAND);
    if guard
        .store()
        .subscription(DEMO_BRAND)
        .await
        .map_err(quota_core::QuotaError::from)?
        .is_some()
    {
        return Ok(());
    }
    let catalog = guard.catalog();
    let plan = catalog
        .plan("starter")
        .or_else(|| catalog.plans().first())
        .map(|p| p.id.clone())
        .ok_or_else(|| ServerError::Config("the catalog has no plan".into()))?;
    guard
        .subscribe(Subscription::new(DEMO_BRAND, &plan, guard.clock().now()))
        .await?;
    for (metric, units) in [("ai_generations", 40), ("renders_2d", 12)] {
        if catalog.metric(metric).is_some() {
            guard.consume(DEMO_BRAND, metric, units, None).await?;
        }
    }
    if let Some(seats) = catalog
        .plan(&plan)
        .and_then(|p| p.limit("team_members"))
        .and_then(|l| l.included)
    {
        guard.set_gauge(DEMO_BRAND, "team_members", seats).await?;
    }
    Ok(())
}

/// A server running in this process (tests, `quota serve`).
#[derive(Debug)]
pub struct RunningServer {
    /// The bound address.
    pub addr: SocketAddr,
    /// The state (guard, secrets...).
    pub state: AppState,
    /// The configuration the server started with.
    pub config: Arc<ServeConfig>,
    shutdown: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
}

impl RunningServer {
    /// `http://addr`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A fresh admin JWT.
    pub fn admin_token(&self) -> String {
        self.state
            .secrets
            .admin_token(DEV_TOKEN_TTL_SECS)
            .unwrap_or_default()
    }

    /// The public API key of `brand`.
    pub fn public_key(&self, brand: &str) -> String {
        self.state.secrets.public_key(brand)
    }

    /// Stops accepting, finishes in-flight requests and waits.
    pub async fn stop(mut self) -> Result<(), ServerError> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let served = self.task.await;
        self.state.stop_alerts().await;
        match served {
            Ok(r) => Ok(r?),
            Err(e) => Err(ServerError::Io(std::io::Error::other(e))),
        }
    }

    /// Waits until the server stops (Ctrl-C for `quota serve`).
    pub async fn wait(self) -> Result<(), ServerError> {
        match self.task.await {
            Ok(r) => Ok(r?),
            Err(e) => Err(ServerError::Io(std::io::Error::other(e))),
        }
    }
}

/// Builds the state, binds and serves in a background task.
pub async fn spawn(config: ServeConfig) -> Result<RunningServer, ServerError> {
    let addr = SocketAddr::new(config.host, config.port);
    let listener = TcpListener::bind(addr).await.map_err(|e| {
        ServerError::Config(format!("cannot listen on {addr}: {e} (try --port or PORT)"))
    })?;
    let addr = listener.local_addr()?;
    let public_url = config.public_url(addr);
    let (state, config) = build_state(config, public_url).await?;
    let app = quota_axum::router(state.clone(), crate::demo::routes(&state));
    let (tx, rx) = oneshot::channel::<()>();
    let limits = config.limits;
    let task = tokio::spawn(crate::listener::serve(listener, app, limits, rx));
    Ok(RunningServer {
        addr,
        state,
        config: Arc::new(config),
        shutdown: Some(tx),
        task,
    })
}

/// The start banner: URLs and, in dev mode, the demo secrets.
pub fn banner(server: &RunningServer) -> String {
    let base = server.base_url();
    let st = &server.state;
    let mut out = format!(
        "quota server listening on {base}\n  store     : {}\n  API       : {base}/api/v1\n  summary   : {base}/api/v1/usage-billing/summary?brandId={DEMO_BRAND}\n  metrics   : {base}/metrics\n  health    : {base}/healthz (ready: {base}/readyz)\n  openapi   : {base}/api/v1/openapi.json\n  dev clock : {}\n",
        redact(&server.config.store),
        if st.dev_clock.is_some() {
            "on (POST /api/v1/admin/clock/advance)"
        } else {
            "off"
        },
    );
    out.push_str(&format!(
        "  share     : {base}/share/quota/<token> (revocations in {})\n  checkout  : {}\n  alerts    : {}\n",
        st.share.revocations_in,
        match st.payments.provider_name() {
            "simulated" => "simulated (DEVELOPMENT ONLY: nobody pays)",
            "off" => "off (top-ups answer 503: set STRIPE_SECRET_KEY, or --dev for a local try)",
            other => other,
        },
        st.alerts
            .as_ref()
            .map_or_else(|| "off (no sink configured)".to_owned(), |a| a.sinks.join(", ")),
    ));
    if st.payments.simulated.is_some() {
        out.push_str(
            "\n!!! DEV MODE (--dev / --checkout simulated): the simulated checkout is on. Top-ups are\n!!! confirmed without any payment: never expose this server to the internet.\n",
        );
    }
    if let Some(keys) = &st.share.generated_keys {
        out.push_str(&format!(
            "\nDev mode: no QUOTA_SHARE_KEYS set, share key generated for this run only.\n  export QUOTA_SHARE_KEYS={keys}\n"
        ));
    }
    if let Some(secret) = &st.payments.generated_secret {
        out.push_str(&format!(
            "Dev mode: no STRIPE_WEBHOOK_SECRET set, generated for this run only.\n  export STRIPE_WEBHOOK_SECRET={secret}\n"
        ));
    }
    if st.secrets.generated() {
        out.push_str(&format!(
            "\nDev mode: no QUOTA_ADMIN_JWT_SECRET set, secrets generated for this run only.\n  export API_BASE={base}/api/v1\n  export ADMIN_JWT={}\n  export PUBLIC_KEY={}\n  (PUBLIC_KEY is the public API key of {DEMO_BRAND}; ADMIN_JWT is valid 24 h)\n",
            server.admin_token(),
            server.public_key(DEMO_BRAND),
        ));
    } else {
        out.push_str("\nSecrets from the environment; `quota token admin` prints an admin JWT.\n");
    }
    out
}
