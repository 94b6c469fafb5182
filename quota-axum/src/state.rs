//! The shared state of the server's handlers: the guard (with the alert listener when a sink
//! is configured), secrets, metrics, share links, top-up payments and alert delivery.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use quota_core::QuotaGuard;
use quota_core::outbox::{OutboxStatus, OutboxStore};

use crate::SetupError;
use crate::auth::{Authenticator, Secrets};
use crate::config::AppConfig;
use crate::devclock::DevClock;
use crate::metrics::Metrics;
use crate::payments::PaymentState;
use crate::session::Sessions;
use crate::share::ShareState;
use quota_notify::{Dispatcher, DispatcherHandle, ListenerStats};

/// Most brands whose gauges are refreshed at each scrape.
pub const MAX_TRACKED_BRANDS: usize = 1000;

/// What every handler can reach. Cheap to clone.
#[derive(Clone, Debug)]
pub struct AppState {
    /// The quota guard over the configured store.
    pub guard: QuotaGuard,
    /// JWT and API key secrets: admin tokens, brands' public keys, the pages' sign-in.
    pub secrets: Arc<Secrets>,
    /// Who calls the API routes ([`Secrets`] unless the app plugs its own).
    pub auth: Arc<dyn Authenticator>,
    /// The Prometheus recorder.
    pub metrics: Metrics,
    /// The deployment settings.
    pub config: Arc<AppConfig>,
    /// The dev clock, when `--dev-clock` is on.
    pub dev_clock: Option<DevClock>,
    /// Brands this server has seen, whose gauges it keeps fresh.
    pub brands: Arc<Mutex<BTreeSet<String>>>,
    /// Share links: issuer and revocations.
    pub share: ShareState,
    /// Top-up checkout: provider and webhook secret.
    pub payments: PaymentState,
    /// Alert delivery, when a sink is configured.
    pub alerts: Option<Alerts>,
    /// The pages' sign-in sessions (the `quota_admin` cookie) and their logouts.
    pub sessions: Arc<Sessions>,
}

/// Alert delivery of this server instance.
#[derive(Clone)]
pub struct Alerts {
    /// The sinks that are on (`slack`, `email`, `webhook`).
    pub sinks: Vec<String>,
    /// The outbox dispatcher, taken out at shutdown.
    pub dispatcher: Arc<tokio::sync::Mutex<Option<DispatcherHandle>>>,
    /// The dispatcher running behind [`Alerts::dispatcher`]: its counters and backlog.
    pub delivery: Dispatcher,
    /// The counters of the alert listener on the guard (events not yet in the outbox).
    pub listener: Arc<ListenerStats>,
    /// The outbox the alerts wait in (pending and dead-letter counts on `/monitoring`).
    pub outbox: Arc<dyn OutboxStore>,
}

impl std::fmt::Debug for Alerts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Alerts")
            .field("sinks", &self.sinks)
            .finish_non_exhaustive()
    }
}

impl AppState {
    /// A state over `guard` with the defaults of an app that mounts the routes on its own:
    /// [`Secrets`] as the API's auth, share links signed with a key generated for this
    /// process and revoked in memory ([`ShareState::generated`]), top-ups off
    /// ([`PaymentState::disabled`]: no provider unless the app sets one), no dev clock, no
    /// alert delivery. Every field is public:
    /// replace what the app configures otherwise.
    pub fn new(guard: QuotaGuard, config: AppConfig, secrets: Secrets) -> Result<Self, SetupError> {
        let share = ShareState::generated(&config.public_url, Arc::clone(guard.clock()))?;
        let payments = PaymentState::disabled(&config.public_url)?;
        let metrics = Metrics::install().map_err(SetupError::Metrics)?;
        let secrets = Arc::new(secrets);
        Ok(AppState {
            guard,
            auth: Arc::clone(&secrets) as Arc<dyn Authenticator>,
            secrets,
            metrics,
            config: Arc::new(config),
            dev_clock: None,
            brands: Arc::new(Mutex::new(BTreeSet::new())),
            share,
            payments,
            alerts: None,
            sessions: Arc::new(Sessions::new()),
        })
    }

    /// Stops the alert dispatcher (what is still in the outbox waits for the next start).
    pub async fn stop_alerts(&self) {
        if let Some(alerts) = &self.alerts
            && let Some(handle) = alerts.dispatcher.lock().await.take()
        {
            handle.shutdown().await;
        }
    }

    /// Remembers a brand for gauge refreshes (bounded).
    pub fn track_brand(&self, brand: &str) {
        if let Ok(mut set) = self.brands.lock()
            && (set.len() < MAX_TRACKED_BRANDS || set.contains(brand))
        {
            set.insert(brand.to_owned());
        }
    }

    /// The brands this server keeps gauges for.
    pub fn tracked_brands(&self) -> Vec<String> {
        self.brands
            .lock()
            .map(|s| s.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// Refreshes the gauges of every tracked brand that has usage series (see
    /// [`Metrics::brand_series`]) from its snapshot.
    pub async fn refresh_gauges(&self) {
        for brand in self.tracked_brands() {
            if !self.metrics.admit(&brand) {
                continue;
            }
            match self.guard.snapshot(&brand).await {
                Ok(s) => self.metrics.observe_snapshot(&s),
                Err(e) => tracing::debug!(brand, error = %e, "gauge refresh skipped"),
            }
        }
    }

    /// Refreshes the operator gauges: whether the store answers a ping, and with alert
    /// delivery the outbox's pending and dead-letter counts per sink and the dispatcher's
    /// and listener's counters.
    #[allow(clippy::cast_precision_loss)] // counts far below 2^52
    pub async fn refresh_ops_gauges(&self) {
        use crate::metrics as m;
        m::store::probe(self.guard.store().as_ref()).await;
        let Some(alerts) = &self.alerts else {
            return;
        };
        for sink in &alerts.sinks {
            for (name, status) in [
                (m::OUTBOX_PENDING, OutboxStatus::Pending),
                (m::OUTBOX_DEAD_LETTERS, OutboxStatus::Dead),
            ] {
                match alerts
                    .outbox
                    .outbox_records(sink, status, m::OUTBOX_COUNT_LIMIT)
                    .await
                {
                    Ok(list) => {
                        metrics::gauge!(name, "sink" => sink.clone()).set(list.len() as f64);
                    }
                    Err(e) => tracing::debug!(sink, error = %e, "outbox count skipped"),
                }
            }
        }
        let stats = alerts.delivery.stats();
        metrics::counter!(m::OUTBOX_DELIVERED).absolute(stats.delivered());
        metrics::counter!(m::OUTBOX_RETRIED).absolute(stats.retried());
        metrics::counter!(m::OUTBOX_DEAD_LETTERED).absolute(stats.dead_lettered());
        metrics::counter!(m::ALERTS_LOST).absolute(alerts.listener.lost());
    }
}
