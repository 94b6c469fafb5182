//! End-to-end alert delivery over loopback: a guard over `MemoryStore` with the listener, a
//! dispatcher, and real HTTP and SMTP endpoints on random ports.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use quota_core::clock::FakeClock;
use quota_core::outbox::{OutboxStatus, OutboxStore};
use quota_core::{Catalog, Clock, MemoryStore, QuotaGuard, Subscription, SystemClock};
use quota_notify::sink::webhook::{
    DELIVERY_HEADER, SIGNATURE_HEADER, SignatureError, TIMESTAMP_HEADER,
};
use quota_notify::testing::{HttpReceiver, SmtpSink, wait_idle, wait_quiet, wait_until};
use quota_notify::{
    Dispatcher, DispatcherHandle, ListenerTask, NotifyConfig, NotifyConfigBuilder,
    QuotaAlertListener, RetryPolicy, verify_signature,
};

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

const SECRET: &str = "whsec_test_0123456789abcdef";
const WAIT: Duration = Duration::from_secs(10);

/// Fast retries so that "later" is milliseconds in tests.
fn config() -> NotifyConfigBuilder {
    NotifyConfig::builder()
        .frontend_url("https://cockpit.test")
        .retry(RetryPolicy::new(
            50,
            Duration::from_millis(20),
            Duration::from_millis(100),
        ))
        .delivery_timeout(Duration::from_secs(2))
        .lease(Duration::from_secs(6))
        .poll_interval(Duration::from_millis(10))
}

struct Harness {
    store: Arc<MemoryStore>,
    guard: QuotaGuard<MemoryStore>,
    listener: Arc<QuotaAlertListener>,
    clock: Arc<dyn Clock>,
    _writer: ListenerTask,
}

impl Harness {
    /// On the system clock: retries fall due as real time passes.
    async fn new(config: &NotifyConfig) -> Harness {
        Harness::with_clock(config, Arc::new(SystemClock)).await
    }

    /// Guard, listener and dispatchers all on `clock`.
    async fn with_clock(config: &NotifyConfig, clock: Arc<dyn Clock>) -> Harness {
        let store = Arc::new(MemoryStore::new());
        let outbox: Arc<dyn OutboxStore> = store.clone();
        let (listener, writer) =
            QuotaAlertListener::start(outbox, config, Arc::clone(&clock)).unwrap();
        let listener = Arc::new(listener);
        let guard = QuotaGuard::builder(Catalog::from_toml(CATALOG).unwrap())
            .clock(Arc::clone(&clock))
            .listener(listener.clone())
            .build(Arc::clone(&store));
        Harness {
            store,
            guard,
            listener,
            clock,
            _writer: writer,
        }
    }

    async fn brand(&self, brand: &str) {
        self.guard
            .subscribe(Subscription::new(brand, "starter", self.clock.now()))
            .await
            .unwrap();
    }

    async fn consume(&self, brand: &str, units: u64) {
        let d = self
            .guard
            .consume(brand, "renders_2d", units, None)
            .await
            .unwrap();
        assert!(d.is_allowed());
    }

    fn outbox(&self) -> Arc<dyn OutboxStore> {
        self.store.clone()
    }

    fn dispatcher(&self, config: &NotifyConfig) -> Dispatcher {
        Dispatcher::from_config(self.outbox(), config.clone(), Arc::clone(&self.clock)).unwrap()
    }

    fn start_dispatcher(&self, config: &NotifyConfig) -> (Dispatcher, DispatcherHandle) {
        let d = self.dispatcher(config);
        let h = d.spawn().unwrap();
        (d, h)
    }

    /// Waits until the listener wrote everything it received to the outbox.
    async fn flushed(&self) {
        let stats = Arc::clone(self.listener.stats());
        wait_until(WAIT, || stats.pending() == 0, || "listener queue".into()).await;
    }

    /// Waits until everything queued went out (or was given up): see [`wait_idle`].
    async fn idle(&self, dispatcher: &Dispatcher) {
        wait_idle(dispatcher, self.listener.stats(), WAIT).await;
    }

    async fn records(&self, sink: &str, status: OutboxStatus) -> usize {
        self.store
            .outbox_records(sink, status, 10_000)
            .await
            .unwrap()
            .len()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recording_past_90_percent_sends_one_slack_post_and_one_email_once() {
    let slack = HttpReceiver::start().await;
    let smtp = SmtpSink::start().await;
    let config = config()
        .slack(slack.url("/services/T0/B0/x"))
        .email(
            smtp.url(),
            vec!["ops@example.com".into()],
            "quota@example.com",
        )
        .min_threshold(90)
        .build()
        .unwrap();
    let h = Harness::new(&config).await;
    let (dispatcher, handle) = h.start_dispatcher(&config);
    h.brand("acme").await;

    h.consume("acme", 91).await;
    slack.wait_for(1, WAIT).await;
    smtp.wait_for(1, WAIT).await;

    // Same threshold again: nothing new.
    h.consume("acme", 1).await;
    h.consume("acme", 3).await;
    h.idle(&dispatcher).await;
    handle.shutdown().await;

    assert_eq!(slack.count(), 1, "exactly one Slack POST");
    assert_eq!(smtp.count(), 1, "exactly one email");
    assert_eq!(dispatcher.stats().delivered(), 2);
    assert_eq!(dispatcher.stats().dead_lettered(), 0);
    assert_eq!(h.listener.stats().enqueued(), 2);

    let post = &slack.requests()[0];
    assert_eq!(post.method, "POST");
    assert_eq!(post.path, "/services/T0/B0/x");
    assert_eq!(post.headers["content-type"], "application/json");
    let json = post.json();
    let text = json["text"].as_str().unwrap();
    assert!(
        text.contains("[critical] acme: renders_2d at 91 % (threshold 90 %)"),
        "{text}"
    );
    assert!(
        text.contains("https://cockpit.test/analytics?brandId=acme"),
        "{text}"
    );
    let fields = json["blocks"][1]["fields"].to_string();
    for needle in ["acme", "renders_2d", "91 / 100 (91 %)", "critical"] {
        assert!(fields.contains(needle), "{needle} in {fields}");
    }
    assert_eq!(
        json["blocks"][2]["elements"][0]["url"],
        "https://cockpit.test/analytics?brandId=acme"
    );

    let mail = &smtp.mails()[0];
    assert_eq!(mail.from, "<quota@example.com>");
    assert_eq!(mail.to, vec!["<ops@example.com>".to_owned()]);
    assert!(
        mail.data
            .contains("Subject: [critical] acme: renders_2d at 91 % (threshold 90 %)"),
        "{}",
        mail.data
    );
    assert!(
        mail.data.contains("Usage: 91 / 100 (91 %)"),
        "{}",
        mail.data
    );
    assert!(
        mail.data
            .contains("https://cockpit.test/analytics?brandId=acme"),
        "{}",
        mail.data
    );
    assert_eq!(h.records("slack", OutboxStatus::Delivered).await, 1);
    assert_eq!(h.records("email", OutboxStatus::Delivered).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_down_then_up_gets_the_alert_late_exactly_once() {
    // The receiver's port is bound from the start (no one else can take it) but does not
    // listen yet: connections are refused.
    let down = HttpReceiver::reserve();
    let config = config()
        .slack(down.url("/hook"))
        .min_threshold(90)
        .build()
        .unwrap();
    // A clock that only moves when told: a rescheduled attempt waits for it.
    let clock = FakeClock::at(chrono::Utc::now());
    let h = Harness::with_clock(&config, Arc::new(clock.clone())).await;
    let (dispatcher, handle) = h.start_dispatcher(&config);
    h.brand("late").await;
    h.consume("late", 95).await;

    // Each attempt fails, is rescheduled (backoff of at most 100 ms) and waits for its due
    // time; moving the clock by a second makes it due again.
    let stats = Arc::clone(dispatcher.stats());
    for attempt in 1..=3u32 {
        wait_until(
            WAIT,
            || stats.retried() == u64::from(attempt),
            || format!("{} failed attempts of {attempt}", stats.retried()),
        )
        .await;
        wait_quiet(&dispatcher, h.listener.stats(), WAIT).await;
        assert_eq!(stats.retried(), u64::from(attempt));
        assert_eq!(stats.delivered(), 0);
        let pending = h
            .store
            .outbox_records("slack", OutboxStatus::Pending, 10)
            .await
            .unwrap();
        assert_eq!(pending.len(), 1);
        assert_eq!(pending[0].attempts, attempt);
        assert!(pending[0].message.due_at > clock.now(), "rescheduled later");
        let error = pending[0].last_error.as_deref().unwrap();
        assert!(error.contains("cannot connect"), "{error}");
        if attempt < 3 {
            clock.advance(chrono::Duration::seconds(1));
        }
    }

    // The receiver comes up on that address and the retry falls due: the alert arrives, once.
    let slack = down.start();
    clock.advance(chrono::Duration::seconds(1));
    slack.wait_for(1, WAIT).await;
    h.idle(&dispatcher).await;
    handle.shutdown().await;
    assert_eq!(slack.count(), 1);
    assert!(
        slack.requests()[0].json()["text"]
            .as_str()
            .unwrap()
            .contains("late: renders_2d at 95 %")
    );
    let delivered = h
        .store
        .outbox_records("slack", OutboxStatus::Delivered, 10)
        .await
        .unwrap();
    assert_eq!(delivered.len(), 1);
    assert_eq!(delivered[0].attempts, 4);
    assert_eq!(h.records("slack", OutboxStatus::Pending).await, 0);
    assert_eq!(stats.delivered(), 1);
    assert_eq!(stats.retried(), 3);
    assert_eq!(stats.dead_lettered(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_dispatchers_on_one_store_deliver_each_message_once() {
    let slack = HttpReceiver::start().await;
    let config = config()
        .slack(slack.url("/hook"))
        .min_threshold(90)
        .batch_size(3)
        .build()
        .unwrap();
    let h = Harness::new(&config).await;
    let brands: Vec<String> = (0..40).map(|i| format!("brand-{i:02}")).collect();
    for b in &brands {
        h.brand(b).await;
    }
    // Queue everything first, then let two dispatchers race for it.
    for b in &brands {
        h.consume(b, 90).await;
    }
    h.flushed().await;
    assert_eq!(h.records("slack", OutboxStatus::Pending).await, 40);

    let (d1, h1) = h.start_dispatcher(&config);
    let (d2, h2) = h.start_dispatcher(&config);
    slack.wait_for(40, WAIT).await;
    // Both idle: nothing pending in the shared outbox, no attempt in flight in either.
    h.idle(&d1).await;
    h.idle(&d2).await;
    h1.shutdown().await;
    h2.shutdown().await;

    assert_eq!(slack.count(), 40, "each alert exactly once");
    let seen: HashSet<String> = slack
        .requests()
        .iter()
        .map(|r| {
            let text = r.json()["text"].as_str().unwrap().to_owned();
            text.split(':')
                .next()
                .unwrap()
                .trim_start_matches("[critical] ")
                .to_owned()
        })
        .collect();
    assert_eq!(seen, brands.iter().cloned().collect::<HashSet<_>>());
    // How the 40 split between the two depends on scheduling; the sum does not. That each
    // one takes its own batches is `dispatcher.rs`' concern.
    assert_eq!(d1.stats().delivered() + d2.stats().delivered(), 40);
    assert_eq!(d1.stats().retried() + d2.stats().retried(), 0);
    assert_eq!(h.records("slack", OutboxStatus::Delivered).await, 40);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_deliveries_are_signed_and_the_signature_verifies() {
    let hook = HttpReceiver::start().await;
    let config = config()
        .webhook(hook.url("/quota-events"), SECRET)
        .build()
        .unwrap();
    let h = Harness::new(&config).await;
    let (dispatcher, handle) = h.start_dispatcher(&config);
    h.brand("signed").await;
    h.consume("signed", 50).await; // crosses 50 % (info)
    hook.wait_for(1, WAIT).await;
    h.idle(&dispatcher).await;
    handle.shutdown().await;
    assert_eq!(hook.count(), 1);

    let req = &hook.requests()[0];
    let ts = &req.headers[TIMESTAMP_HEADER];
    let sig = &req.headers[SIGNATURE_HEADER];
    let now = chrono::Utc::now().timestamp();
    let tol = Duration::from_secs(300);
    assert_eq!(
        verify_signature(SECRET.as_bytes(), ts, sig, &req.body, now, tol),
        Ok(())
    );
    let mut tampered = req.body.clone();
    tampered[0] = b' ';
    assert_eq!(
        verify_signature(SECRET.as_bytes(), ts, sig, &tampered, now, tol),
        Err(SignatureError::Mismatch)
    );
    assert_eq!(
        verify_signature(b"another-secret-000000", ts, sig, &req.body, now, tol),
        Err(SignatureError::Mismatch)
    );
    assert_eq!(
        verify_signature(SECRET.as_bytes(), ts, sig, &req.body, now + 3600, tol),
        Err(SignatureError::Stale)
    );
    assert_eq!(
        verify_signature(SECRET.as_bytes(), "soon", sig, &req.body, now, tol),
        Err(SignatureError::BadTimestamp)
    );

    let body = req.json();
    assert_eq!(body["type"], "threshold_crossed");
    assert_eq!(body["alert"]["brand"], "signed");
    assert_eq!(body["alert"]["percent"], 50);
    assert_eq!(body["alert"]["severity"], "info");
    assert_eq!(body["event"]["threshold"], 50);
    assert_eq!(req.headers[DELIVERY_HEADER], body["id"].as_str().unwrap());
    assert!(
        body["id"]
            .as_str()
            .unwrap()
            .starts_with("webhook/threshold_crossed/signed/renders_2d/")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refusing_sink_dead_letters_at_once_and_a_failing_one_after_max_attempts() {
    let refusing = HttpReceiver::start().await;
    refusing.set_status(400);
    let failing = HttpReceiver::start().await;
    failing.set_status(503);
    let config = config()
        .slack(refusing.url("/hook"))
        .webhook(failing.url("/hook"), SECRET)
        .retry(RetryPolicy::new(
            4,
            Duration::from_millis(5),
            Duration::from_millis(20),
        ))
        .min_threshold(90)
        .build()
        .unwrap();
    let h = Harness::new(&config).await;
    let (dispatcher, handle) = h.start_dispatcher(&config);
    h.brand("dead").await;
    h.consume("dead", 90).await;
    let stats = Arc::clone(dispatcher.stats());
    wait_until(
        WAIT,
        || stats.dead_lettered() == 2,
        || format!("{} dead", stats.dead_lettered()),
    )
    .await;
    h.idle(&dispatcher).await;
    handle.shutdown().await;

    assert_eq!(refusing.hits(), 1, "a 400 is not retried");
    assert_eq!(failing.hits(), 4, "a 503 is retried up to max_attempts");
    assert_eq!(stats.retried(), 3);
    assert_eq!(stats.delivered(), 0);
    let dead = h
        .store
        .outbox_records("webhook", OutboxStatus::Dead, 10)
        .await
        .unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].attempts, 4);
    assert!(dead[0].last_error.as_deref().unwrap().contains("HTTP 503"));
    let dead = h
        .store
        .outbox_records("slack", OutboxStatus::Dead, 10)
        .await
        .unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].attempts, 1);
    assert!(dead[0].last_error.as_deref().unwrap().contains("HTTP 400"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resolutions_and_blocks_are_delivered_in_french() {
    let slack = HttpReceiver::start().await;
    let config = config()
        .slack(slack.url("/hook"))
        .lang(quota_notify::Lang::Fr)
        .min_threshold(90)
        .build()
        .unwrap();
    let h = Harness::new(&config).await;
    let (dispatcher, handle) = h.start_dispatcher(&config);
    h.brand("fr").await;
    h.consume("fr", 100).await; // one alert for the highest threshold crossed, 100 %
    let denied = h.guard.consume("fr", "renders_2d", 1, None).await.unwrap();
    assert!(!denied.is_allowed()); // blocked
    slack.wait_for(2, WAIT).await;
    h.guard.release("fr", "renders_2d", 50).await.unwrap(); // back under 90 and 100
    slack.wait_for(3, WAIT).await;
    h.idle(&dispatcher).await;
    handle.shutdown().await;

    let mut texts: Vec<String> = slack
        .requests()
        .iter()
        .map(|r| {
            r.json()["text"]
                .as_str()
                .unwrap()
                .split(" https://")
                .next()
                .unwrap()
                .to_owned()
        })
        .collect();
    texts.sort();
    assert_eq!(
        texts,
        vec![
            "[bloqué] fr : renders_2d est bloqué (100 % consommés)",
            "[bloqué] fr : renders_2d à 100 % (seuil 100 %)",
            "[résolu] fr : renders_2d repassé sous 100 % (50 % consommés)",
        ]
    );
}
