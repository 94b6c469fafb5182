//! Alert delivery for Usage Quota Guardian: a [`QuotaAlertListener`] given to the guard turns
//! threshold crossings, resolutions and blocks into outbox messages (one per sink) without
//! blocking the request, and a [`Dispatcher`] claims them from the store's outbox with a lease,
//! delivers them to Slack, email, signed webhooks or any [`Sink`], and retries with backoff
//! until [`RetryPolicy::max_attempts`] sends them to the dead letters.
//!
//! ```
//! use std::sync::{Arc, Mutex};
//! use quota_core::outbox::OutboxStore;
//! use quota_core::{Catalog, Clock, MemoryStore, QuotaGuard, Subscription, SystemClock};
//! use quota_notify::{Delivery, DeliveryError, Dispatcher, NotifyConfig, QuotaAlertListener, Sink};
//!
//! /// An in-process sink; `NotifyConfig::from_env()` and `Dispatcher::from_config` turn on
//! /// the Slack, email and webhook sinks instead.
//! #[derive(Debug, Default)]
//! struct Inbox(Mutex<Vec<String>>);
//!
//! #[async_trait::async_trait]
//! impl Sink for Inbox {
//!     fn name(&self) -> &str {
//!         "inbox"
//!     }
//!     async fn deliver(&self, d: &Delivery<'_>) -> Result<(), DeliveryError> {
//!         self.0.lock().unwrap().push(d.alert.title(d.lang));
//!         Ok(())
//!     }
//! }
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let store = Arc::new(MemoryStore::new());
//! let outbox: Arc<dyn OutboxStore> = store.clone();
//! let clock: Arc<dyn Clock> = Arc::new(SystemClock);
//! let config = NotifyConfig::builder().build()?;
//!
//! let (listener, writer) =
//!     QuotaAlertListener::for_sinks(outbox.clone(), vec!["inbox".into()], 0, clock.clone())?;
//! let guard = QuotaGuard::builder(Catalog::demo())
//!     .listener(Arc::new(listener))
//!     .build(store);
//! guard.subscribe(Subscription::new("acme", "free", clock.now())).await?;
//! // The free plan allows 20 renders: the 10th crosses the 50 % threshold.
//! for _ in 0..10 {
//!     guard.consume("acme", "renders_2d", 1, None).await?;
//! }
//! drop(guard);
//! writer.join().await; // every alert is in the outbox
//!
//! let inbox = Arc::new(Inbox::default());
//! let dispatcher = Dispatcher::new(outbox, vec![inbox.clone()], config, clock);
//! let report = dispatcher.run_once().await?; // or `.spawn()` to run in the background
//! assert_eq!(report.delivered, 1);
//! assert_eq!(inbox.0.lock().unwrap().len(), 1);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```
//!
//! A sink that is down only delays its alerts: they wait in the outbox (in Redis or Postgres
//! they also survive a restart) and go out once it is back; several dispatchers share the
//! work, each message delivered once. HTTP sinks (Slack, webhooks) use reqwest over rustls
//! with the ring provider, so `https://` targets work; email speaks plain SMTP (`smtp://`,
//! e.g. a local relay) — `smtps://` is refused when the configuration is built rather than
//! sent in clear.
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
pub use sink::{Delivery, EmailSink, Sink, SlackSink, WebhookSink};
