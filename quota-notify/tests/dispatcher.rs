//! The dispatcher on its own, with in-process sinks (no network) and paused tokio time:
//! claims, leases, backoff on the clock, delivery timeouts and idleness, each checked
//! exactly rather than after a pause.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{TimeZone, Utc};
use quota_core::clock::FakeClock;
use quota_core::outbox::{OutboxStatus, OutboxStore};
use quota_core::{Catalog, Clock, MemoryStore, QuotaGuard, Subscription};
use quota_notify::testing::{wait_idle, wait_until};
use quota_notify::{
    Delivery, DeliveryError, Dispatcher, ListenerTask, NotifyConfig, QuotaAlertListener,
    RetryPolicy, Sink,
};
use tokio::sync::watch;

const CATALOG: &str = r#"
    currency = "EUR"
    [[metrics]]
    key = "renders_2d"
    kind = "counter"
    [[plans]]
    id = "starter"
    price = 1900
    [plans.limits.renders_2d]
    included = 100
    overage = { policy = "block" }
"#;

const SINK: &str = "test";
const WAIT: Duration = Duration::from_secs(30);

/// A sink that holds every delivery until the gate opens, then records its id; can be told
/// to fail the first attempts (retryable) or never to answer.
#[derive(Debug)]
struct Gate {
    open: watch::Sender<bool>,
    waiting: AtomicUsize,
    calls: AtomicUsize,
    fail_first: usize,
    hang: bool,
    delivered: Mutex<Vec<String>>,
}

impl Gate {
    fn new(open: bool) -> Arc<Gate> {
        Gate::with(open, 0, false)
    }

    fn with(open: bool, fail_first: usize, hang: bool) -> Arc<Gate> {
        Arc::new(Gate {
            open: watch::channel(open).0,
            waiting: AtomicUsize::new(0),
            calls: AtomicUsize::new(0),
            fail_first,
            hang,
            delivered: Mutex::new(Vec::new()),
        })
    }

    fn waiting(&self) -> usize {
        self.waiting.load(Ordering::SeqCst)
    }

    fn delivered(&self) -> Vec<String> {
        self.delivered.lock().unwrap().clone()
    }
}

#[async_trait]
impl Sink for Gate {
    fn name(&self) -> &str {
        SINK
    }

    async fn deliver(&self, d: &Delivery<'_>) -> Result<(), DeliveryError> {
        let call = self.calls.fetch_add(1, Ordering::SeqCst);
        if self.hang {
            std::future::pending::<()>().await;
        }
        if call < self.fail_first {
            return Err(DeliveryError::retryable(format!("failure {}", call + 1)));
        }
        self.waiting.fetch_add(1, Ordering::SeqCst);
        let mut open = self.open.subscribe();
        open.wait_for(|o| *o).await.unwrap();
        self.waiting.fetch_sub(1, Ordering::SeqCst);
        self.delivered.lock().unwrap().push(d.id.to_owned());
        Ok(())
    }
}

fn config(batch: usize) -> NotifyConfig {
    NotifyConfig::builder()
        .retry(RetryPolicy::new(
            5,
            Duration::from_secs(10),
            Duration::from_secs(60),
        ))
        .lease(Duration::from_secs(30))
        .delivery_timeout(Duration::from_secs(2))
        .poll_interval(Duration::from_millis(100))
        .batch_size(batch)
        .build()
        .unwrap()
}

struct Setup {
    store: Arc<MemoryStore>,
    clock: FakeClock,
    listener: Arc<QuotaAlertListener>,
    _writer: ListenerTask,
}

impl Setup {
    /// `brands` brands each cross 90 %: one message per brand for [`SINK`] in the outbox.
    async fn with_alerts(brands: usize) -> Setup {
        let clock = FakeClock::at(Utc.with_ymd_and_hms(2026, 11, 20, 12, 0, 0).unwrap());
        let shared: Arc<dyn Clock> = Arc::new(clock.clone());
        let store = Arc::new(MemoryStore::new());
        let outbox: Arc<dyn OutboxStore> = store.clone();
        let (listener, writer) =
            QuotaAlertListener::for_sinks(outbox, vec![SINK.into()], 90, Arc::clone(&shared))
                .unwrap();
        let listener = Arc::new(listener);
        let guard = QuotaGuard::builder(Catalog::from_toml(CATALOG).unwrap())
            .clock(shared)
            .listener(listener.clone())
            .build(Arc::clone(&store));
        for i in 0..brands {
            let brand = format!("b{i}");
            guard
                .subscribe(Subscription::new(brand.as_str(), "starter", clock.now()))
                .await
                .unwrap();
            assert!(
                guard
                    .consume(&brand, "renders_2d", 90, None)
                    .await
                    .unwrap()
                    .is_allowed()
            );
        }
        let stats = Arc::clone(listener.stats());
        wait_until(WAIT, || stats.pending() == 0, || "listener queue".into()).await;
        assert_eq!(stats.enqueued(), brands as u64);
        Setup {
            store,
            clock,
            listener,
            _writer: writer,
        }
    }

    fn dispatcher(&self, sink: &Arc<Gate>, batch: usize) -> Dispatcher {
        let sink: Arc<dyn Sink> = sink.clone();
        Dispatcher::new(
            self.store.clone(),
            vec![sink],
            config(batch),
            Arc::new(self.clock.clone()),
        )
    }

    async fn records(&self, status: OutboxStatus) -> Vec<quota_core::outbox::OutboxRecord> {
        self.store.outbox_records(SINK, status, 100).await.unwrap()
    }
}

async fn wait_for_waiting(gate: &Gate, n: usize) {
    wait_until(
        WAIT,
        || gate.waiting() == n,
        || format!("{} of {n} deliveries held", gate.waiting()),
    )
    .await;
}

#[tokio::test(start_paused = true)]
async fn two_dispatchers_claim_disjoint_batches_and_both_deliver() {
    let s = Setup::with_alerts(6).await;
    let gate = Gate::new(false);
    let d1 = s.dispatcher(&gate, 3);
    let d2 = s.dispatcher(&gate, 3);

    // d1 claims a batch of 3 and holds it; d2 claims the 3 others; nothing is left to claim.
    let t1 = tokio::spawn({
        let d1 = d1.clone();
        async move { d1.run_once().await.unwrap() }
    });
    wait_for_waiting(&gate, 3).await;
    assert_eq!(d1.stats().in_flight(), 3);
    let t2 = tokio::spawn({
        let d2 = d2.clone();
        async move { d2.run_once().await.unwrap() }
    });
    wait_for_waiting(&gate, 6).await;
    assert_eq!(d2.stats().in_flight(), 3);
    let backlog = d1.backlog().await.unwrap();
    assert_eq!((backlog.pending, backlog.due, backlog.in_flight), (6, 6, 3));
    assert!(!backlog.is_idle());
    let third = d1.run_once().await.unwrap();
    assert_eq!(third.claimed, 0, "every message is leased");

    gate.open.send_replace(true);
    let (r1, r2) = (t1.await.unwrap(), t2.await.unwrap());
    assert_eq!((r1.claimed, r1.delivered, r1.retried), (3, 3, 0));
    assert_eq!((r2.claimed, r2.delivered, r2.retried), (3, 3, 0));
    assert_eq!(d1.stats().delivered(), 3);
    assert_eq!(d2.stats().delivered(), 3);
    let ids = gate.delivered();
    assert_eq!(ids.len(), 6);
    assert_eq!(ids.iter().collect::<HashSet<_>>().len(), 6, "{ids:?}");
    assert_eq!(s.records(OutboxStatus::Delivered).await.len(), 6);
    assert!(d1.backlog().await.unwrap().is_idle());
    assert!(d2.backlog().await.unwrap().is_idle());
}

#[tokio::test(start_paused = true)]
async fn a_failed_attempt_waits_for_its_backoff_on_the_clock_then_is_retried() {
    let s = Setup::with_alerts(1).await;
    let gate = Gate::with(true, 2, false);
    let d = s.dispatcher(&gate, 10);

    let r = d.run_once().await.unwrap();
    assert_eq!((r.claimed, r.delivered, r.retried), (1, 0, 1));
    let pending = s.records(OutboxStatus::Pending).await;
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].attempts, 1);
    assert_eq!(pending[0].last_error.as_deref(), Some("failure 1"));
    // First backoff: 10 s with equal jitter, so due in [5 s, 10 s].
    let wait = pending[0].message.due_at - s.clock.now();
    assert!(
        wait >= chrono::Duration::seconds(5) && wait <= chrono::Duration::seconds(10),
        "{wait}"
    );
    let backlog = d.backlog().await.unwrap();
    assert_eq!((backlog.pending, backlog.due, backlog.in_flight), (1, 0, 0));
    assert!(backlog.is_quiet() && !backlog.is_idle());

    // Not due yet: nothing is claimed however often the dispatcher looks.
    for _ in 0..3 {
        assert_eq!(d.run_once().await.unwrap().claimed, 0);
    }
    s.clock.advance(wait - chrono::Duration::milliseconds(1));
    assert_eq!(d.run_once().await.unwrap().claimed, 0);
    s.clock.advance(chrono::Duration::milliseconds(1));
    let r = d.run_once().await.unwrap();
    assert_eq!((r.claimed, r.delivered, r.retried), (1, 0, 1));

    // Second backoff: 20 s, so due in [10 s, 20 s]; then the third attempt goes through.
    s.clock.advance(chrono::Duration::seconds(20));
    let r = d.run_once().await.unwrap();
    assert_eq!((r.claimed, r.delivered, r.retried), (1, 1, 0));
    let delivered = s.records(OutboxStatus::Delivered).await;
    assert_eq!(delivered.len(), 1);
    assert_eq!(delivered[0].attempts, 3);
    assert_eq!(gate.delivered().len(), 1);
    assert_eq!(d.stats().retried(), 2);
    assert_eq!(d.stats().delivered(), 1);
    assert!(d.backlog().await.unwrap().is_idle());
}

#[tokio::test(start_paused = true)]
async fn a_sink_that_never_answers_is_cut_off_at_the_delivery_timeout_and_retried_later() {
    let s = Setup::with_alerts(1).await;
    let gate = Gate::with(true, 0, true);
    let d = s.dispatcher(&gate, 10);
    let started = tokio::time::Instant::now();
    let r = d.run_once().await.unwrap();
    assert_eq!(started.elapsed(), Duration::from_secs(2));
    assert_eq!((r.claimed, r.delivered, r.retried), (1, 0, 1));
    let pending = s.records(OutboxStatus::Pending).await;
    assert_eq!(
        pending[0].last_error.as_deref(),
        Some("test: no answer within 2s")
    );
    assert_eq!(d.stats().in_flight(), 0);
}

#[tokio::test(start_paused = true)]
async fn a_spawned_dispatcher_delivers_each_alert_once_and_then_stays_idle() {
    let s = Setup::with_alerts(4).await;
    let gate = Gate::new(true);
    let d = s.dispatcher(&gate, 3);
    let handle = d.spawn().unwrap();
    wait_idle(&d, s.listener.stats(), WAIT).await;
    assert_eq!(gate.delivered().len(), 4);
    // Fifty more polls (virtual time) find nothing to do.
    tokio::time::advance(Duration::from_secs(5)).await;
    tokio::task::yield_now().await;
    handle.shutdown().await;
    assert_eq!(gate.delivered().len(), 4);
    assert_eq!(d.stats().delivered(), 4);
    assert_eq!(s.records(OutboxStatus::Delivered).await.len(), 4);
}
