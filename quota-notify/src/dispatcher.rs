//! [`Dispatcher`]: claims due outbox messages, delivers them through their [`Sink`], acks
//! successes, reschedules failures with exponential backoff and jitter, and moves messages
//! that keep failing (or fail for good) to the dead letters, logged and counted.
//!
//! Run one per server instance: the outbox lease makes each message go to one dispatcher at
//! a time, so several instances deliver each alert once.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use quota_core::outbox::{ClaimRequest, ClaimedMessage, OutboxStatus, OutboxStore, lease_deadline};
use quota_core::report::TimelineEvent;
use quota_core::{Clock, StoreError};
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

use crate::alert::Alert;
use crate::config::NotifyConfig;
use crate::error::{DeliveryError, NotifyError};
use crate::sink::{Delivery, Sink};

/// Counters of a dispatcher since it started.
#[derive(Debug, Default)]
pub struct DispatchStats {
    delivered: AtomicU64,
    retried: AtomicU64,
    dead_lettered: AtomicU64,
    in_flight: AtomicU64,
}

impl DispatchStats {
    /// Messages claimed whose attempt is not settled yet (delivering, acking, rescheduling).
    pub fn in_flight(&self) -> u64 {
        self.in_flight.load(Ordering::SeqCst)
    }

    /// Messages delivered and acked.
    pub fn delivered(&self) -> u64 {
        self.delivered.load(Ordering::Relaxed)
    }

    /// Failed attempts rescheduled for later.
    pub fn retried(&self) -> u64 {
        self.retried.load(Ordering::Relaxed)
    }

    /// Messages given up on.
    pub fn dead_lettered(&self) -> u64 {
        self.dead_lettered.load(Ordering::Relaxed)
    }
}

/// What one [`Dispatcher::run_once`] did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct DispatchReport {
    /// Messages claimed.
    pub claimed: usize,
    /// Delivered and acked.
    pub delivered: usize,
    /// Failed and rescheduled.
    pub retried: usize,
    /// Moved to the dead letters.
    pub dead_lettered: usize,
}

/// What is left to do for a dispatcher's sinks, read by [`Dispatcher::backlog`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Backlog {
    /// Pending messages of its sinks, due now or later (claimed ones included).
    pub pending: usize,
    /// Of those, the ones due now: waiting for a claim, or claimed and being delivered (a
    /// claimer that dies leaves its message due; it comes back when the lease runs out).
    pub due: usize,
    /// Attempts of this dispatcher not settled yet.
    pub in_flight: u64,
}

impl Backlog {
    /// Nothing pending and nothing in flight: nothing more goes out until a new alert is
    /// queued. What the sinks received by then is all they receive.
    pub fn is_idle(&self) -> bool {
        self.pending == 0 && self.in_flight == 0
    }

    /// Nothing due and nothing in flight: the pending messages (if any) wait for a later
    /// due time, so nothing goes out before the clock reaches it.
    pub fn is_quiet(&self) -> bool {
        self.due == 0 && self.in_flight == 0
    }
}

/// Most pending messages [`Dispatcher::backlog`] reads per sink.
const BACKLOG_SCAN: usize = 10_000;

/// Delivers outbox messages. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Dispatcher {
    inner: Arc<Inner>,
}

struct Inner {
    outbox: Arc<dyn OutboxStore>,
    sinks: Vec<Arc<dyn Sink>>,
    sink_names: Vec<String>,
    config: NotifyConfig,
    clock: Arc<dyn Clock>,
    stats: Arc<DispatchStats>,
    entropy: RandomState,
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dispatcher")
            .field("sinks", &self.sink_names)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

enum Outcome {
    Delivered,
    Retried,
    Dead,
    /// The store did not take the ack/reschedule: the lease will expire and the message come
    /// back.
    Unsettled,
}

impl Dispatcher {
    /// A dispatcher over the sinks that `config` turns on.
    pub fn from_config(
        outbox: Arc<dyn OutboxStore>,
        config: NotifyConfig,
        clock: Arc<dyn Clock>,
    ) -> Result<Dispatcher, NotifyError> {
        let sinks = config.sinks()?;
        Ok(Dispatcher::new(outbox, sinks, config, clock))
    }

    /// A dispatcher over the given sinks (custom ones included); `config` gives the retry
    /// policy, lease, timeouts, language and cockpit URL.
    pub fn new(
        outbox: Arc<dyn OutboxStore>,
        sinks: Vec<Arc<dyn Sink>>,
        config: NotifyConfig,
        clock: Arc<dyn Clock>,
    ) -> Dispatcher {
        let sink_names = sinks.iter().map(|s| s.name().to_owned()).collect();
        Dispatcher {
            inner: Arc::new(Inner {
                outbox,
                sinks,
                sink_names,
                config,
                clock,
                stats: Arc::new(DispatchStats::default()),
                entropy: RandomState::new(),
            }),
        }
    }

    /// Counters since the dispatcher was built.
    pub fn stats(&self) -> &Arc<DispatchStats> {
        &self.inner.stats
    }

    /// Claims one batch of due messages and delivers them concurrently, each within the
    /// delivery timeout. Errors only when the claim itself fails.
    pub async fn run_once(&self) -> Result<DispatchReport, StoreError> {
        let inner = &self.inner;
        let names: Vec<&str> = inner.sink_names.iter().map(String::as_str).collect();
        let mut report = DispatchReport::default();
        if names.is_empty() {
            return Ok(report);
        }
        let req = ClaimRequest::new(
            &names,
            inner.clock.now(),
            inner.config.lease(),
            inner.config.batch_size(),
        );
        let claimed = inner.outbox.claim_due(&req).await?;
        report.claimed = claimed.len();
        let mut tasks = JoinSet::new();
        for message in claimed {
            let inner = Arc::clone(inner);
            let settled = InFlight::start(Arc::clone(&inner.stats));
            tasks.spawn(async move {
                let outcome = inner.handle(message).await;
                drop(settled);
                outcome
            });
        }
        while let Some(done) = tasks.join_next().await {
            match done {
                Ok(Outcome::Delivered) => report.delivered = report.delivered.saturating_add(1),
                Ok(Outcome::Retried) => report.retried = report.retried.saturating_add(1),
                Ok(Outcome::Dead) => report.dead_lettered = report.dead_lettered.saturating_add(1),
                Ok(Outcome::Unsettled) => {}
                Err(e) => tracing::error!(error = %e, "alert delivery task failed"),
            }
        }
        Ok(report)
    }

    /// Reads the outbox of this dispatcher's sinks at the clock's now (at most 10 000
    /// pending messages per sink), and its attempts in flight.
    ///
    /// [`Backlog::is_idle`] after the last alert of a test is the moment to count what the
    /// sinks received: a duplicate, if there were one, would have been delivered by then.
    pub async fn backlog(&self) -> Result<Backlog, StoreError> {
        let inner = &self.inner;
        let now = inner.clock.now();
        let mut backlog = Backlog::default();
        for sink in &inner.sink_names {
            let pending = inner
                .outbox
                .outbox_records(sink, OutboxStatus::Pending, BACKLOG_SCAN)
                .await?;
            backlog.pending = backlog.pending.saturating_add(pending.len());
            let due = pending.iter().filter(|r| r.message.due_at <= now).count();
            backlog.due = backlog.due.saturating_add(due);
        }
        // Read after the outbox: an attempt settles (ack or reschedule) before it leaves the
        // count, so a settled outbox with nothing in flight is really settled.
        backlog.in_flight = inner.stats.in_flight();
        Ok(backlog)
    }

    /// Runs the dispatcher in the background until [`DispatcherHandle::shutdown`]: a batch,
    /// then at once another if the batch was full, else a pause of the poll interval.
    pub fn spawn(&self) -> Result<DispatcherHandle, NotifyError> {
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| NotifyError::NoRuntime)?;
        let (stop, mut stopped) = watch::channel(false);
        let this = self.clone();
        let handle = runtime.spawn(async move {
            let poll = this.inner.config.poll_interval();
            let batch = this.inner.config.batch_size();
            loop {
                let full = match this.run_once().await {
                    Ok(r) => r.claimed >= batch,
                    Err(error) => {
                        tracing::warn!(%error, "outbox claim failed");
                        false
                    }
                };
                if *stopped.borrow() {
                    break;
                }
                if !full {
                    tokio::select! {
                        _ = tokio::time::sleep(poll) => {}
                        _ = stopped.changed() => break,
                    }
                }
            }
        });
        Ok(DispatcherHandle { stop, handle })
    }
}

/// One claimed message counted in [`DispatchStats::in_flight`] until dropped (also when its
/// task panics).
struct InFlight(Arc<DispatchStats>);

impl InFlight {
    fn start(stats: Arc<DispatchStats>) -> InFlight {
        stats.in_flight.fetch_add(1, Ordering::SeqCst);
        InFlight(stats)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Inner {
    async fn handle(&self, claimed: ClaimedMessage) -> Outcome {
        let id = claimed.message.id.as_str();
        let result = self.deliver(&claimed).await;
        let outbox = &self.outbox;
        match result {
            Ok(()) => match outbox.ack(id).await {
                Ok(_) => {
                    self.stats.delivered.fetch_add(1, Ordering::Relaxed);
                    tracing::debug!(id, attempt = claimed.attempt, "alert delivered");
                    Outcome::Delivered
                }
                Err(error) => {
                    tracing::warn!(%error, id, "alert delivered but the ack failed: it may be delivered again after the lease");
                    Outcome::Unsettled
                }
            },
            Err(e) if e.is_retryable() && claimed.attempt < self.config.retry().max_attempts => {
                let delay = self
                    .config
                    .retry()
                    .delay(claimed.attempt, self.jitter(id, claimed.attempt));
                let due = lease_deadline(self.clock.now(), delay);
                match outbox.reschedule(&claimed.lease(), due, &e.message).await {
                    Ok(true) => {
                        self.stats.retried.fetch_add(1, Ordering::Relaxed);
                        tracing::warn!(id, attempt = claimed.attempt, retry_in = ?delay, error = %e.message, "alert delivery failed, will retry");
                        Outcome::Retried
                    }
                    Ok(false) => {
                        tracing::warn!(id, "alert lease lost before the reschedule");
                        Outcome::Unsettled
                    }
                    Err(error) => {
                        tracing::warn!(%error, id, "alert reschedule failed: it comes back after the lease");
                        Outcome::Unsettled
                    }
                }
            }
            Err(e) => match outbox.dead_letter(&claimed.lease(), &e.message).await {
                Ok(true) => {
                    self.stats.dead_lettered.fetch_add(1, Ordering::Relaxed);
                    tracing::error!(id, sink = %claimed.message.sink, attempts = claimed.attempt, error = %e.message, "alert given up: moved to the dead letters");
                    Outcome::Dead
                }
                Ok(false) => Outcome::Unsettled,
                Err(error) => {
                    tracing::warn!(%error, id, "alert dead-letter failed: it comes back after the lease");
                    Outcome::Unsettled
                }
            },
        }
    }

    async fn deliver(&self, claimed: &ClaimedMessage) -> Result<(), DeliveryError> {
        let m = &claimed.message;
        let Some(sink) = self.sinks.iter().find(|s| s.name() == m.sink) else {
            return Err(DeliveryError::permanent(format!(
                "no sink named {:?}",
                m.sink
            )));
        };
        let event: TimelineEvent = serde_json::from_value(m.payload.clone()).map_err(|e| {
            DeliveryError::permanent(format!("payload is not a timeline event: {e}"))
        })?;
        let alert = Alert::from_event(&event, self.config.frontend_url()).ok_or_else(|| {
            DeliveryError::permanent(format!("{} events are not alerts", event.kind.name()))
        })?;
        let delivery = Delivery {
            id: &m.id,
            attempt: claimed.attempt,
            alert: &alert,
            event: &event,
            lang: self.config.lang(),
        };
        let timeout = self.config.delivery_timeout();
        match tokio::time::timeout(timeout, sink.deliver(&delivery)).await {
            Ok(result) => result,
            Err(_) => Err(DeliveryError::retryable(format!(
                "{}: no answer within {timeout:?}",
                m.sink
            ))),
        }
    }

    fn jitter(&self, id: &str, attempt: u32) -> u64 {
        let mut h = self.entropy.build_hasher();
        h.write(id.as_bytes());
        h.write_u32(attempt);
        h.write_i64(self.clock.now().timestamp_nanos_opt().unwrap_or(0));
        h.finish()
    }
}

/// A running dispatcher.
#[derive(Debug)]
pub struct DispatcherHandle {
    stop: watch::Sender<bool>,
    handle: JoinHandle<()>,
}

impl DispatcherHandle {
    /// Stops after the current batch and waits for it.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        if let Err(e) = self.handle.await {
            tracing::error!(error = %e, "alert dispatcher task failed");
        }
    }
}
