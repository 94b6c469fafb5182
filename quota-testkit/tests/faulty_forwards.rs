//! `FaultyStore` forwards every method of every store trait, the provided ones included, to
//! the wrapped store's own: a recording store answers each call with a mark of its own, and
//! the answer through the wrapper must be that mark.
//!
//! `call` matches every `Op` without a wildcard: a new `Op` does not compile until it is
//! called here. The recorder implements every method (none left to a trait default), so a
//! new required method fails to compile here and in the wrapper alike.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use quota_core::outbox::{
    ClaimRequest, ClaimedMessage, OutboxLease, OutboxMessage, OutboxRecord, OutboxStatus,
    OutboxStore,
};
use quota_core::period::PeriodKey;
use quota_core::report::{EventKind, TimelineEvent};
use quota_core::store::{
    ConsumeOutcome, ConsumeRequest, CounterKey, CounterReset, GaugeOutcome, StoreResult, Usage,
};
use quota_core::threshold::Severity;
use quota_core::topup::{TopUpStatus, TopUpTransition, UsageTopUp};
use quota_core::{
    AlertStore, ConsumeNow, Store, StoreError, Subscription, SubscriptionStore, TopUpStore,
    UsageStore,
};
use quota_testkit::conformance::{PERIOD, now, period_end, request};
use quota_testkit::{FaultyStore, Op};

/// Records the operations it is asked for and answers each with [`mark`].
#[derive(Default)]
struct Recorder {
    seen: Mutex<Vec<Op>>,
}

impl Recorder {
    fn saw<T>(&self, op: Op) -> StoreResult<T> {
        self.seen.lock().unwrap().push(op);
        Err(mark(op))
    }

    fn take(&self) -> Vec<Op> {
        std::mem::take(&mut *self.seen.lock().unwrap())
    }
}

fn mark(op: Op) -> StoreError {
    StoreError::NotFound(format!("answered by the recorder: {op}"))
}

impl ConsumeNow for Recorder {
    fn consume_now(&self, _: &ConsumeRequest<'_>) -> StoreResult<ConsumeOutcome> {
        self.saw(Op::ConsumeNow)
    }
}

#[async_trait]
impl UsageStore for Recorder {
    async fn consume(&self, _: &ConsumeRequest<'_>) -> StoreResult<ConsumeOutcome> {
        self.saw(Op::Consume)
    }
    fn in_process(&self) -> Option<&dyn ConsumeNow> {
        let _ = self.saw::<()>(Op::InProcess);
        Some(self)
    }
    async fn release(&self, _: CounterKey<'_>, _: u64, _: u16) -> StoreResult<Usage> {
        self.saw(Op::Release)
    }
    async fn usage(&self, _: CounterKey<'_>) -> StoreResult<Usage> {
        self.saw(Op::Usage)
    }
    async fn daily_usage(&self, _: CounterKey<'_>) -> StoreResult<Vec<u64>> {
        self.saw(Op::DailyUsage)
    }
    async fn adjust_gauge(
        &self,
        _: &str,
        _: &str,
        _: i64,
        _: Option<u64>,
    ) -> StoreResult<GaugeOutcome> {
        self.saw(Op::AdjustGauge)
    }
    async fn set_gauge(&self, _: &str, _: &str, _: u64) -> StoreResult<u64> {
        self.saw(Op::SetGauge)
    }
    async fn gauge(&self, _: &str, _: &str) -> StoreResult<u64> {
        self.saw(Op::Gauge)
    }
    async fn reset_period(&self, _: &str, _: Option<&str>, _: PeriodKey) -> StoreResult<()> {
        self.saw(Op::ResetPeriod)
    }
    async fn reset_counter(&self, _: &CounterReset<'_>) -> StoreResult<Usage> {
        self.saw(Op::ResetCounter)
    }
    async fn ping(&self) -> StoreResult<()> {
        self.saw(Op::Ping)
    }
}

#[async_trait]
impl TopUpStore for Recorder {
    async fn insert_topup(&self, _: &UsageTopUp) -> StoreResult<()> {
        self.saw(Op::InsertTopup)
    }
    async fn topup(&self, _: &str) -> StoreResult<Option<UsageTopUp>> {
        self.saw(Op::Topup)
    }
    async fn set_topup_status(
        &self,
        _: &str,
        _: TopUpStatus,
        _: DateTime<Utc>,
    ) -> StoreResult<TopUpTransition> {
        self.saw(Op::SetTopupStatus)
    }
    async fn topups(&self, _: &str) -> StoreResult<Vec<UsageTopUp>> {
        self.saw(Op::Topups)
    }
    async fn recent_topups(&self, _: &str, _: usize) -> StoreResult<Vec<UsageTopUp>> {
        self.saw(Op::RecentTopups)
    }
}

#[async_trait]
impl AlertStore for Recorder {
    async fn claim_alert(&self, _: CounterKey<'_>, _: u16) -> StoreResult<bool> {
        self.saw(Op::ClaimAlert)
    }
    async fn release_alert(&self, _: CounterKey<'_>, _: u16) -> StoreResult<bool> {
        self.saw(Op::ReleaseAlert)
    }
    async fn claimed_alerts(&self, _: CounterKey<'_>) -> StoreResult<Vec<u16>> {
        self.saw(Op::ClaimedAlerts)
    }
    async fn append_event(&self, _: &TimelineEvent) -> StoreResult<u64> {
        self.saw(Op::AppendEvent)
    }
    async fn events(&self, _: &str, _: usize) -> StoreResult<Vec<TimelineEvent>> {
        self.saw(Op::Events)
    }
}

#[async_trait]
impl SubscriptionStore for Recorder {
    async fn put_subscription(&self, _: &Subscription) -> StoreResult<()> {
        self.saw(Op::PutSubscription)
    }
    async fn subscription(&self, _: &str) -> StoreResult<Option<Subscription>> {
        self.saw(Op::Subscription)
    }
    async fn subscriptions(&self) -> StoreResult<Vec<Subscription>> {
        self.saw(Op::Subscriptions)
    }
}

#[async_trait]
impl OutboxStore for Recorder {
    async fn enqueue(&self, _: &OutboxMessage) -> StoreResult<bool> {
        self.saw(Op::Enqueue)
    }
    async fn claim_due(&self, _: &ClaimRequest<'_>) -> StoreResult<Vec<ClaimedMessage>> {
        self.saw(Op::ClaimDue)
    }
    async fn ack(&self, _: &str) -> StoreResult<bool> {
        self.saw(Op::Ack)
    }
    async fn reschedule(&self, _: &OutboxLease, _: DateTime<Utc>, _: &str) -> StoreResult<bool> {
        self.saw(Op::Reschedule)
    }
    async fn dead_letter(&self, _: &OutboxLease, _: &str) -> StoreResult<bool> {
        self.saw(Op::DeadLetter)
    }
    async fn outbox_record(&self, _: &str) -> StoreResult<Option<OutboxRecord>> {
        self.saw(Op::OutboxRecord)
    }
    async fn outbox_records(
        &self,
        _: &str,
        _: OutboxStatus,
        _: usize,
    ) -> StoreResult<Vec<OutboxRecord>> {
        self.saw(Op::OutboxRecords)
    }
    async fn purge_outbox(&self, _: DateTime<Utc>) -> StoreResult<u64> {
        self.saw(Op::PurgeOutbox)
    }
}

/// Calls `op` through `store` and returns the error it answered with (the recorder's mark
/// when forwarded); a counter handle answers with the `Op` it holds.
async fn call(store: &FaultyStore<Recorder>, op: Op) -> String {
    fn text<T>(answer: StoreResult<T>) -> String {
        match answer {
            Ok(_) => "Ok".to_owned(),
            Err(e) => e.to_string(),
        }
    }
    let key = CounterKey::new("b", "m", PERIOD);
    let req = request("b", "m", 1, Some(10), Some("k"));
    let topup = UsageTopUp::pending("t", "b", "m", 5, PERIOD, now(), period_end());
    let event = TimelineEvent::new(
        "b",
        now(),
        PERIOD,
        None,
        Severity::Info,
        EventKind::PeriodReset {
            reason: "test".into(),
            level: None,
        },
    );
    let lease = OutboxLease {
        id: "o".into(),
        attempt: 1,
    };
    let message = OutboxMessage::new("o", "slack", serde_json::json!({}), now());
    match op {
        Op::Consume => text(store.consume(&req).await),
        Op::InProcess => format!("in process: {}", store.in_process().is_some()),
        Op::ConsumeNow => text(ConsumeNow::consume_now(store, &req)),
        Op::Release => text(store.release(key, 1, 0).await),
        Op::Usage => text(store.usage(key).await),
        Op::DailyUsage => text(store.daily_usage(key).await),
        Op::AdjustGauge => text(store.adjust_gauge("b", "g", 1, None).await),
        Op::SetGauge => text(store.set_gauge("b", "g", 1).await),
        Op::Gauge => text(store.gauge("b", "g").await),
        Op::ResetPeriod => text(store.reset_period("b", None, PERIOD).await),
        Op::ResetCounter => text(
            store
                .reset_counter(&CounterReset::new(key, 0, 0, period_end()))
                .await,
        ),
        Op::Ping => text(store.ping().await),
        Op::InsertTopup => text(store.insert_topup(&topup).await),
        Op::Topup => text(store.topup("t").await),
        Op::SetTopupStatus => text(
            store
                .set_topup_status("t", TopUpStatus::Completed, now())
                .await,
        ),
        Op::Topups => text(store.topups("b").await),
        Op::RecentTopups => text(store.recent_topups("b", 3).await),
        Op::ClaimAlert => text(store.claim_alert(key, 50).await),
        Op::ReleaseAlert => text(store.release_alert(key, 50).await),
        Op::ClaimedAlerts => text(store.claimed_alerts(key).await),
        Op::AppendEvent => text(store.append_event(&event).await),
        Op::Events => text(store.events("b", 3).await),
        Op::PutSubscription => text(
            store
                .put_subscription(&Subscription::new("b", "free", now()))
                .await,
        ),
        Op::Subscription => text(store.subscription("b").await),
        Op::Subscriptions => text(store.subscriptions().await),
        Op::Enqueue => text(store.enqueue(&message).await),
        Op::ClaimDue => text(
            store
                .claim_due(&ClaimRequest::new(
                    &["slack"],
                    now(),
                    std::time::Duration::from_secs(30),
                    10,
                ))
                .await,
        ),
        Op::Ack => text(store.ack("o").await),
        Op::Reschedule => text(store.reschedule(&lease, now(), "boom").await),
        Op::DeadLetter => text(store.dead_letter(&lease, "boom").await),
        Op::OutboxRecord => text(store.outbox_record("o").await),
        Op::OutboxRecords => text(
            store
                .outbox_records("slack", OutboxStatus::Pending, 10)
                .await,
        ),
        Op::PurgeOutbox => text(store.purge_outbox(now()).await),
    }
}

#[tokio::test]
async fn every_method_reaches_the_wrapped_store() {
    let store = FaultyStore::new(Recorder::default());
    for &op in Op::ALL {
        let answer = call(&store, op).await;
        let want = if op == Op::InProcess {
            "in process: true".to_owned()
        } else {
            mark(op).to_string()
        };
        assert_eq!(answer, want, "{op} answers with the wrapped store's answer");
        // The synchronous consume is reached through the wrapped store's `in_process`.
        let reached = if op == Op::ConsumeNow {
            vec![Op::InProcess, op]
        } else {
            vec![op]
        };
        assert_eq!(
            store.get_ref().take(),
            reached,
            "{op} reaches the wrapped store once"
        );
        assert_eq!(store.calls(op), 1, "{op} is counted");
    }
}

#[test]
fn the_list_of_operations_is_complete_and_in_order() {
    assert_eq!(Op::ALL.len(), Op::COUNT);
    for (i, op) in Op::ALL.iter().enumerate() {
        assert_eq!(op.index(), i, "{op}");
    }
    // Each method has one name, the one it has in its trait.
    let mut names: Vec<&str> = Op::ALL.iter().map(|op| op.method()).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), Op::COUNT);
}

/// A `FaultyStore` is a `Store` and an `OutboxStore` when what it wraps is.
#[test]
fn wraps_into_every_trait_object() {
    let store = Arc::new(FaultyStore::new(Recorder::default()));
    let _: Arc<dyn Store> = store.clone();
    let _: Arc<dyn OutboxStore> = store;
}
