//! [`QuotaAlertListener`]: turns the guard's timeline events into outbox messages, one per
//! (event, sink), without blocking the request path.
//!
//! # Why a channel in front of the outbox
//!
//! The guard calls listeners inline, while it answers a request, and the outbox write is an
//! async store call (a network round trip for Redis or Postgres). So `on_event` only pushes
//! the event into an unbounded tokio channel (no await, no lock held across I/O) and a
//! background task writes the messages to the outbox, retrying store errors with backoff.
//!
//! The trade-offs, accepted on purpose:
//! - **Unbounded**: a bounded channel would have to drop alerts or block the request when
//!   full. Alerts are rare (a handful per brand, metric and period: they are edge-triggered
//!   and claimed once in the store), so the queue stays tiny unless the store is down for a
//!   long time; its length is visible in [`ListenerStats::pending`].
//! - **A short window of memory only**: an event sits in process memory from `on_event` until
//!   its enqueue succeeds (normally a few milliseconds). A crash in that window loses it (the
//!   timeline entry is already in the store). After the enqueue, nothing is lost: the outbox
//!   is durable in Redis/Postgres and shared by all instances.
//! - **Bounded retries of the enqueue**: if the store stays down for the whole retry budget
//!   (about 30 s), the event is logged at error level and counted in [`ListenerStats::lost`].

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use quota_core::Clock;
use quota_core::alert::AlertListener;
use quota_core::outbox::{OutboxMessage, OutboxStore};
use quota_core::report::{EventKind, TimelineEvent};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::config::NotifyConfig;
use crate::error::NotifyError;

/// Enqueue attempts per message before the listener gives up on it.
const ENQUEUE_ATTEMPTS: u32 = 10;

/// Counters of a listener.
#[derive(Debug, Default)]
pub struct ListenerStats {
    received: AtomicU64,
    done: AtomicU64,
    enqueued: AtomicU64,
    duplicates: AtomicU64,
    lost: AtomicU64,
}

impl ListenerStats {
    /// Alert events accepted by `on_event`.
    pub fn received(&self) -> u64 {
        self.received.load(Ordering::Relaxed)
    }

    /// Events accepted but not yet written to the outbox (the channel's length).
    pub fn pending(&self) -> u64 {
        self.received()
            .saturating_sub(self.done.load(Ordering::Acquire))
    }

    /// Outbox messages stored.
    pub fn enqueued(&self) -> u64 {
        self.enqueued.load(Ordering::Relaxed)
    }

    /// Enqueues refused as duplicates (the same event seen twice).
    pub fn duplicates(&self) -> u64 {
        self.duplicates.load(Ordering::Relaxed)
    }

    /// Messages given up after the store refused every enqueue attempt.
    pub fn lost(&self) -> u64 {
        self.lost.load(Ordering::Relaxed)
    }
}

/// An [`AlertListener`] feeding the outbox. Give it to the guard with
/// [`quota_core::GuardBuilder::listener`].
#[derive(Debug)]
pub struct QuotaAlertListener {
    tx: mpsc::UnboundedSender<TimelineEvent>,
    min_threshold: u16,
    stats: Arc<ListenerStats>,
}

/// The background task writing to the outbox. It ends once the listener is dropped and the
/// queue is drained.
#[derive(Debug)]
pub struct ListenerTask {
    handle: JoinHandle<()>,
    stats: Arc<ListenerStats>,
}

impl ListenerTask {
    /// The listener's counters.
    pub fn stats(&self) -> &Arc<ListenerStats> {
        &self.stats
    }

    /// Waits until the queue is drained and the task ends (drop the guard, and with it the
    /// listener, first).
    pub async fn join(self) {
        if let Err(e) = self.handle.await {
            tracing::error!(error = %e, "alert listener task failed");
        }
    }
}

impl QuotaAlertListener {
    /// A listener for the sinks that `config` turns on; must be called inside a tokio
    /// runtime, which runs the writer task.
    pub fn start(
        outbox: Arc<dyn OutboxStore>,
        config: &NotifyConfig,
        clock: Arc<dyn Clock>,
    ) -> Result<(QuotaAlertListener, ListenerTask), NotifyError> {
        QuotaAlertListener::for_sinks(outbox, config.sink_names(), config.min_threshold(), clock)
    }

    /// A listener for the named sinks (custom [`crate::Sink`]s included): crossings and
    /// resolutions of thresholds under `min_threshold` % are skipped, `blocked` never is.
    pub fn for_sinks(
        outbox: Arc<dyn OutboxStore>,
        sinks: Vec<String>,
        min_threshold: u16,
        clock: Arc<dyn Clock>,
    ) -> Result<(QuotaAlertListener, ListenerTask), NotifyError> {
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| NotifyError::NoRuntime)?;
        let (tx, rx) = mpsc::unbounded_channel();
        let stats = Arc::new(ListenerStats::default());
        let writer = Writer {
            outbox,
            sinks,
            clock,
            stats: Arc::clone(&stats),
        };
        let handle = runtime.spawn(writer.run(rx));
        Ok((
            QuotaAlertListener {
                tx,
                min_threshold,
                stats: Arc::clone(&stats),
            },
            ListenerTask { handle, stats },
        ))
    }

    /// The listener's counters.
    pub fn stats(&self) -> &Arc<ListenerStats> {
        &self.stats
    }

    fn wanted(&self, event: &TimelineEvent) -> bool {
        match &event.kind {
            EventKind::ThresholdCrossed { threshold, .. }
            | EventKind::AlertResolved { threshold, .. } => *threshold >= self.min_threshold,
            EventKind::Blocked { .. } => true,
            _ => false,
        }
    }
}

impl AlertListener for QuotaAlertListener {
    fn on_event(&self, event: &TimelineEvent) {
        if !self.wanted(event) {
            return;
        }
        self.stats.received.fetch_add(1, Ordering::Relaxed);
        if self.tx.send(event.clone()).is_err() {
            // Only after the runtime shut the writer down.
            self.stats.done.fetch_add(1, Ordering::Release);
            self.stats.lost.fetch_add(1, Ordering::Relaxed);
            tracing::error!(brand = %event.brand, kind = event.kind.name(), "alert dropped: the outbox writer has stopped");
        }
    }
}

/// The outbox message id of an event for a sink: `sink/kind/brand/metric/period/threshold/at`.
/// Brand ids and metric keys cannot contain `/`, so ids never collide, and the same event
/// always gets the same id (the enqueue is idempotent on it).
pub fn message_id(sink: &str, event: &TimelineEvent) -> String {
    let threshold = match &event.kind {
        EventKind::ThresholdCrossed { threshold, .. }
        | EventKind::AlertResolved { threshold, .. } => threshold.to_string(),
        _ => "-".into(),
    };
    format!(
        "{sink}/{}/{}/{}/{}/{threshold}/{}",
        event.kind.name(),
        event.brand,
        event.metric.as_deref().unwrap_or("-"),
        event.period,
        event.at.timestamp_micros()
    )
}

struct Writer {
    outbox: Arc<dyn OutboxStore>,
    sinks: Vec<String>,
    clock: Arc<dyn Clock>,
    stats: Arc<ListenerStats>,
}

impl Writer {
    async fn run(self, mut rx: mpsc::UnboundedReceiver<TimelineEvent>) {
        while let Some(event) = rx.recv().await {
            self.write(&event).await;
            self.stats.done.fetch_add(1, Ordering::Release);
        }
    }

    async fn write(&self, event: &TimelineEvent) {
        let payload = match serde_json::to_value(event) {
            Ok(p) => p,
            Err(e) => {
                self.stats.lost.fetch_add(1, Ordering::Relaxed);
                tracing::error!(error = %e, "alert event does not serialize");
                return;
            }
        };
        for sink in &self.sinks {
            let message = OutboxMessage::new(
                message_id(sink, event),
                sink,
                payload.clone(),
                self.clock.now(),
            );
            self.enqueue(&message).await;
        }
    }

    async fn enqueue(&self, message: &OutboxMessage) {
        let mut delay = Duration::from_millis(50);
        for attempt in 1..=ENQUEUE_ATTEMPTS {
            match self.outbox.enqueue(message).await {
                Ok(true) => {
                    self.stats.enqueued.fetch_add(1, Ordering::Relaxed);
                    return;
                }
                Ok(false) => {
                    self.stats.duplicates.fetch_add(1, Ordering::Relaxed);
                    return;
                }
                Err(error) => {
                    tracing::warn!(%error, id = %message.id, attempt, "outbox enqueue failed, retrying");
                }
            }
            if attempt < ENQUEUE_ATTEMPTS {
                tokio::time::sleep(delay).await;
                delay = delay.saturating_mul(2).min(Duration::from_secs(8));
            }
        }
        self.stats.lost.fetch_add(1, Ordering::Relaxed);
        tracing::error!(id = %message.id, sink = %message.sink, "alert lost: the outbox refused every enqueue attempt");
    }
}
