//! The store traits for [`FaultyStore`]: every method passes its gate, then calls the wrapped
//! store's own method (never a trait default, so a store's overrides are what gets tested).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use quota_core::outbox::{
    ClaimRequest, ClaimedMessage, OutboxLease, OutboxMessage, OutboxRecord, OutboxStatus,
    OutboxStore,
};
use quota_core::period::PeriodKey;
use quota_core::report::TimelineEvent;
use quota_core::store::{
    ConsumeOutcome, ConsumeRequest, CounterKey, CounterReset, GaugeOutcome, StoreResult, Usage,
};
use quota_core::topup::{TopUpStatus, TopUpTransition, UsageTopUp};
use quota_core::{
    AlertStore, ConsumeNow, StoreError, Subscription, SubscriptionStore, TopUpStore, UsageStore,
};

use super::{Fault, FaultyStore, Op, unavailable};

/// The wrapped store's synchronous consume, behind the faults of [`Op::ConsumeNow`]; reached
/// only through [`UsageStore::in_process`] of a wrapped in-process store. Counter slots
/// ([`ConsumeNow::counter_slot`]) are not forwarded: every consume goes through
/// `consume_now`, where the faults apply.
impl<S: UsageStore> ConsumeNow for FaultyStore<S> {
    fn consume_now(&self, req: &ConsumeRequest<'_>) -> StoreResult<ConsumeOutcome> {
        match self.gate_now(Op::ConsumeNow) {
            None => match self.inner.in_process() {
                Some(local) => local.consume_now(req),
                None => Err(StoreError::Backend {
                    message: "the wrapped store is not in-process".into(),
                    source: None,
                }),
            },
            Some(Fault::Unavailable) => Err(unavailable(Op::ConsumeNow)),
            Some(Fault::Hang) => Err(StoreError::Timeout(std::time::Duration::ZERO)),
        }
    }
}

#[async_trait]
impl<S: UsageStore> UsageStore for FaultyStore<S> {
    async fn consume(&self, req: &ConsumeRequest<'_>) -> StoreResult<ConsumeOutcome> {
        self.gate(Op::Consume).await?;
        self.inner.consume(req).await
    }

    fn in_process(&self) -> Option<&dyn ConsumeNow> {
        match self.gate_now(Op::InProcess) {
            // A synchronous consume cannot wait: the caller goes to `consume`, which can.
            Some(Fault::Hang) => None,
            _ => self.inner.in_process().map(|_| self as &dyn ConsumeNow),
        }
    }

    async fn release(&self, key: CounterKey<'_>, quantity: u64, day: u16) -> StoreResult<Usage> {
        self.gate(Op::Release).await?;
        self.inner.release(key, quantity, day).await
    }

    async fn usage(&self, key: CounterKey<'_>) -> StoreResult<Usage> {
        self.gate(Op::Usage).await?;
        self.inner.usage(key).await
    }

    async fn daily_usage(&self, key: CounterKey<'_>) -> StoreResult<Vec<u64>> {
        self.gate(Op::DailyUsage).await?;
        self.inner.daily_usage(key).await
    }

    async fn adjust_gauge(
        &self,
        brand: &str,
        metric: &str,
        delta: i64,
        ceiling: Option<u64>,
    ) -> StoreResult<GaugeOutcome> {
        self.gate(Op::AdjustGauge).await?;
        self.inner.adjust_gauge(brand, metric, delta, ceiling).await
    }

    async fn set_gauge(&self, brand: &str, metric: &str, level: u64) -> StoreResult<u64> {
        self.gate(Op::SetGauge).await?;
        self.inner.set_gauge(brand, metric, level).await
    }

    async fn gauge(&self, brand: &str, metric: &str) -> StoreResult<u64> {
        self.gate(Op::Gauge).await?;
        self.inner.gauge(brand, metric).await
    }

    async fn reset_period(
        &self,
        brand: &str,
        metric: Option<&str>,
        period: PeriodKey,
    ) -> StoreResult<()> {
        self.gate(Op::ResetPeriod).await?;
        self.inner.reset_period(brand, metric, period).await
    }

    async fn reset_counter(&self, reset: &CounterReset<'_>) -> StoreResult<Usage> {
        self.gate(Op::ResetCounter).await?;
        self.inner.reset_counter(reset).await
    }

    async fn ping(&self) -> StoreResult<()> {
        self.gate(Op::Ping).await?;
        self.inner.ping().await
    }
}

#[async_trait]
impl<S: TopUpStore> TopUpStore for FaultyStore<S> {
    async fn insert_topup(&self, topup: &UsageTopUp) -> StoreResult<()> {
        self.gate(Op::InsertTopup).await?;
        self.inner.insert_topup(topup).await
    }

    async fn topup(&self, id: &str) -> StoreResult<Option<UsageTopUp>> {
        self.gate(Op::Topup).await?;
        self.inner.topup(id).await
    }

    async fn set_topup_status(
        &self,
        id: &str,
        to: TopUpStatus,
        at: DateTime<Utc>,
    ) -> StoreResult<TopUpTransition> {
        self.gate(Op::SetTopupStatus).await?;
        self.inner.set_topup_status(id, to, at).await
    }

    async fn topups(&self, brand: &str) -> StoreResult<Vec<UsageTopUp>> {
        self.gate(Op::Topups).await?;
        self.inner.topups(brand).await
    }

    async fn recent_topups(&self, brand: &str, limit: usize) -> StoreResult<Vec<UsageTopUp>> {
        self.gate(Op::RecentTopups).await?;
        self.inner.recent_topups(brand, limit).await
    }
}

#[async_trait]
impl<S: AlertStore> AlertStore for FaultyStore<S> {
    async fn claim_alert(&self, key: CounterKey<'_>, threshold: u16) -> StoreResult<bool> {
        self.gate(Op::ClaimAlert).await?;
        self.inner.claim_alert(key, threshold).await
    }

    async fn release_alert(&self, key: CounterKey<'_>, threshold: u16) -> StoreResult<bool> {
        self.gate(Op::ReleaseAlert).await?;
        self.inner.release_alert(key, threshold).await
    }

    async fn claimed_alerts(&self, key: CounterKey<'_>) -> StoreResult<Vec<u16>> {
        self.gate(Op::ClaimedAlerts).await?;
        self.inner.claimed_alerts(key).await
    }

    async fn append_event(&self, event: &TimelineEvent) -> StoreResult<u64> {
        self.gate(Op::AppendEvent).await?;
        self.inner.append_event(event).await
    }

    async fn events(&self, brand: &str, limit: usize) -> StoreResult<Vec<TimelineEvent>> {
        self.gate(Op::Events).await?;
        self.inner.events(brand, limit).await
    }
}

#[async_trait]
impl<S: SubscriptionStore> SubscriptionStore for FaultyStore<S> {
    async fn put_subscription(&self, sub: &Subscription) -> StoreResult<()> {
        self.gate(Op::PutSubscription).await?;
        self.inner.put_subscription(sub).await
    }

    async fn subscription(&self, brand: &str) -> StoreResult<Option<Subscription>> {
        self.gate(Op::Subscription).await?;
        self.inner.subscription(brand).await
    }

    async fn subscriptions(&self) -> StoreResult<Vec<Subscription>> {
        self.gate(Op::Subscriptions).await?;
        self.inner.subscriptions().await
    }
}

#[async_trait]
impl<S: OutboxStore> OutboxStore for FaultyStore<S> {
    async fn enqueue(&self, message: &OutboxMessage) -> StoreResult<bool> {
        self.gate(Op::Enqueue).await?;
        self.inner.enqueue(message).await
    }

    async fn claim_due(&self, req: &ClaimRequest<'_>) -> StoreResult<Vec<ClaimedMessage>> {
        self.gate(Op::ClaimDue).await?;
        self.inner.claim_due(req).await
    }

    async fn ack(&self, id: &str) -> StoreResult<bool> {
        self.gate(Op::Ack).await?;
        self.inner.ack(id).await
    }

    async fn reschedule(
        &self,
        lease: &OutboxLease,
        due_at: DateTime<Utc>,
        error: &str,
    ) -> StoreResult<bool> {
        self.gate(Op::Reschedule).await?;
        self.inner.reschedule(lease, due_at, error).await
    }

    async fn dead_letter(&self, lease: &OutboxLease, error: &str) -> StoreResult<bool> {
        self.gate(Op::DeadLetter).await?;
        self.inner.dead_letter(lease, error).await
    }

    async fn outbox_record(&self, id: &str) -> StoreResult<Option<OutboxRecord>> {
        self.gate(Op::OutboxRecord).await?;
        self.inner.outbox_record(id).await
    }

    async fn outbox_records(
        &self,
        sink: &str,
        status: OutboxStatus,
        limit: usize,
    ) -> StoreResult<Vec<OutboxRecord>> {
        self.gate(Op::OutboxRecords).await?;
        self.inner.outbox_records(sink, status, limit).await
    }

    async fn purge_outbox(&self, before: DateTime<Utc>) -> StoreResult<u64> {
        self.gate(Op::PurgeOutbox).await?;
        self.inner.purge_outbox(before).await
    }
}
