//! Alert delivery for Usage Quota Guardian: threshold crossings, resolutions and blocks go to
//! Slack, email and signed webhooks through a durable outbox in the store, with retries,
//! backoff and dead letters.
//!
//! Two parts, both started inside a tokio runtime:
//! - [`QuotaAlertListener`], given to the guard: on each alert event it queues one outbox
//!   message per sink without blocking the request (see [`listener`] for the trade-off);
//! - [`Dispatcher`], one per server instance: claims due messages with a lease (several
//!   instances deliver each message once), delivers, acks, retries with exponential backoff
//!   and jitter, and gives up into dead letters after [`RetryPolicy::max_attempts`].
//!
//! A sink that is down only delays its alerts: they wait in the outbox (in Redis or Postgres
//! they also survive a restart) and go out once it is back.
//!
//! ```no_run
//! use std::sync::Arc;
//! use quota_core::{Catalog, Clock, MemoryStore, OutboxStore, QuotaGuard, SystemClock};
//! use quota_notify::{Dispatcher, NotifyConfig, QuotaAlertListener};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! // SLACK_WEBHOOK_URL, SMTP_URL + ALERT_EMAIL_TO, QUOTA_WEBHOOK_URL + QUOTA_WEBHOOK_SECRET...
//! let config = NotifyConfig::from_env()?;
//! let store = Arc::new(MemoryStore::new());
//! let outbox: Arc<dyn OutboxStore> = store.clone();
//! let clock: Arc<dyn Clock> = Arc::new(SystemClock);
//!
//! let (listener, _writer) = QuotaAlertListener::start(outbox.clone(), &config, clock.clone())?;
//! let guard = QuotaGuard::builder(Catalog::demo())
//!     .listener(Arc::new(listener))
//!     .build(store);
//! let dispatcher = Dispatcher::from_config(outbox, config, clock)?.spawn()?;
//!
//! guard.consume("brand_dashboard", "renders_2d", 1, None).await?;
//! // ... on shutdown:
//! dispatcher.shutdown().await;
//! # Ok(())
//! # }
//! ```
//!
//! HTTP sinks (Slack, webhooks) use reqwest over rustls with the ring provider, so `https://`
//! targets work; email speaks plain SMTP (`smtp://`, e.g. a local relay) — `smtps://` is
//! refused when the configuration is built rather than sent in clear.
#![forbid(unsafe_code)]

pub mod alert;
pub mod config;
pub mod dispatcher;
pub mod error;
pub mod listener;
pub mod sink;
#[cfg(feature = "testing")]
pub mod testing;

pub use alert::{Alert, Lang};
pub use config::{NotifyConfig, NotifyConfigBuilder, RetryPolicy};
pub use dispatcher::{Backlog, DispatchReport, DispatchStats, Dispatcher, DispatcherHandle};
pub use error::{DeliveryError, FailureKind, NotifyError};
pub use listener::{ListenerStats, ListenerTask, QuotaAlertListener, message_id};
pub use sink::webhook::{sign, verify_signature};
pub use sink::{Delivery, EmailSink, Sink, SlackSink, WebhookSink, install_crypto_provider};
