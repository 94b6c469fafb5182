//! Store metrics: [`TimedStore`] wraps any [`Store`] and records each operation's latency
//! ([`super::STORE_LATENCY`]) and failures ([`super::STORE_OP_ERRORS`]), labelled with the
//! operation's name (a fixed set: the trait's methods); [`probe`] sets [`super::STORE_UP`].
//!
//! An in-process store's synchronous consume ([`UsageStore::in_process`]) is handed through
//! untimed: it answers in the calling thread without I/O.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use quota_core::period::PeriodKey;
use quota_core::report::TimelineEvent;
use quota_core::store::{
    ConsumeOutcome, ConsumeRequest, CounterKey, CounterReset, GaugeOutcome, StoreResult, Usage,
};
use quota_core::topup::{TopUpStatus, TopUpTransition, UsageTopUp};
use quota_core::{
    AlertStore, ConsumeNow, Store, Subscription, SubscriptionStore, TopUpStore, UsageStore,
};

/// How long the store may take to answer the scrape's ping.
pub const PING_TIMEOUT: Duration = Duration::from_secs(2);

/// A [`Store`] whose operations are timed and counted.
#[derive(Debug)]
pub struct TimedStore<S: ?Sized> {
    inner: Arc<S>,
}

impl<S: Store + ?Sized> TimedStore<S> {
    /// Times the operations of `inner`.
    pub fn new(inner: Arc<S>) -> Self {
        TimedStore { inner }
    }

    /// The wrapped store.
    pub fn get_ref(&self) -> &Arc<S> {
        &self.inner
    }
}

async fn timed<T>(op: &'static str, fut: impl Future<Output = StoreResult<T>>) -> StoreResult<T> {
    let started = Instant::now();
    let out = fut.await;
    metrics::histogram!(super::STORE_LATENCY, "op" => op).record(started.elapsed().as_secs_f64());
    if out.is_err() {
        metrics::counter!(super::STORE_OP_ERRORS, "op" => op).increment(1);
    }
    out
}

/// Pings `store` (within [`PING_TIMEOUT`]) and sets [`super::STORE_UP`] to 1 or 0.
pub async fn probe<S: Store + ?Sized>(store: &S) -> bool {
    let up = matches!(
        tokio::time::timeout(PING_TIMEOUT, store.ping()).await,
        Ok(Ok(()))
    );
    metrics::gauge!(super::STORE_UP).set(if up { 1.0 } else { 0.0 });
    up
}

#[async_trait]
impl<S: Store + ?Sized> UsageStore for TimedStore<S> {
    async fn consume(&self, req: &ConsumeRequest<'_>) -> StoreResult<ConsumeOutcome> {
        timed("consume", self.inner.consume(req)).await
    }

    fn in_process(&self) -> Option<&dyn ConsumeNow> {
        self.inner.in_process()
    }

    async fn release(&self, key: CounterKey<'_>, quantity: u64, day: u16) -> StoreResult<Usage> {
        timed("release", self.inner.release(key, quantity, day)).await
    }

    async fn usage(&self, key: CounterKey<'_>) -> StoreResult<Usage> {
        timed("usage", self.inner.usage(key)).await
    }

    async fn daily_usage(&self, key: CounterKey<'_>) -> StoreResult<Vec<u64>> {
        timed("daily_usage", self.inner.daily_usage(key)).await
    }

    async fn adjust_gauge(
        &self,
        brand: &str,
        metric: &str,
        delta: i64,
        ceiling: Option<u64>,
    ) -> StoreResult<GaugeOutcome> {
        timed(
            "adjust_gauge",
            self.inner.adjust_gauge(brand, metric, delta, ceiling),
        )
        .await
    }

    async fn set_gauge(&self, brand: &str, metric: &str, level: u64) -> StoreResult<u64> {
        timed("set_gauge", self.inner.set_gauge(brand, metric, level)).await
    }

    async fn gauge(&self, brand: &str, metric: &str) -> StoreResult<u64> {
        timed("gauge", self.inner.gauge(brand, metric)).await
    }

    async fn reset_period(
        &self,
        brand: &str,
        metric: Option<&str>,
        period: PeriodKey,
    ) -> StoreResult<()> {
        timed(
            "reset_period",
            self.inner.reset_period(brand, metric, period),
        )
        .await
    }

    async fn reset_counter(&self, reset: &CounterReset<'_>) -> StoreResult<Usage> {
        timed("reset_counter", self.inner.reset_counter(reset)).await
    }

    async fn ping(&self) -> StoreResult<()> {
        timed("ping", self.inner.ping()).await
    }
}

#[async_trait]
impl<S: Store + ?Sized> TopUpStore for TimedStore<S> {
    async fn insert_topup(&self, topup: &UsageTopUp) -> StoreResult<()> {
        timed("insert_topup", self.inner.insert_topup(topup)).await
    }

    async fn topup(&self, id: &str) -> StoreResult<Option<UsageTopUp>> {
        timed("topup", self.inner.topup(id)).await
    }

    async fn set_topup_status(
        &self,
        id: &str,
        to: TopUpStatus,
        at: DateTime<Utc>,
    ) -> StoreResult<TopUpTransition> {
        timed("set_topup_status", self.inner.set_topup_status(id, to, at)).await
    }

    async fn topups(&self, brand: &str) -> StoreResult<Vec<UsageTopUp>> {
        timed("topups", self.inner.topups(brand)).await
    }

    async fn recent_topups(&self, brand: &str, limit: usize) -> StoreResult<Vec<UsageTopUp>> {
        timed("recent_topups", self.inner.recent_topups(brand, limit)).await
    }
}

#[async_trait]
impl<S: Store + ?Sized> AlertStore for TimedStore<S> {
    async fn claim_alert(&self, key: CounterKey<'_>, threshold: u16) -> StoreResult<bool> {
        timed("claim_alert", self.inner.claim_alert(key, threshold)).await
    }

    async fn release_alert(&self, key: CounterKey<'_>, threshold: u16) -> StoreResult<bool> {
        timed("release_alert", self.inner.release_alert(key, threshold)).await
    }

    async fn claimed_alerts(&self, key: CounterKey<'_>) -> StoreResult<Vec<u16>> {
        timed("claimed_alerts", self.inner.claimed_alerts(key)).await
    }

    async fn append_event(&self, event: &TimelineEvent) -> StoreResult<u64> {
        timed("append_event", self.inner.append_event(event)).await
    }

    async fn events(&self, brand: &str, limit: usize) -> StoreResult<Vec<TimelineEvent>> {
        timed("events", self.inner.events(brand, limit)).await
    }
}

#[async_trait]
impl<S: Store + ?Sized> SubscriptionStore for TimedStore<S> {
    async fn put_subscription(&self, sub: &Subscription) -> StoreResult<()> {
        timed("put_subscription", self.inner.put_subscription(sub)).await
    }

    async fn subscription(&self, brand: &str) -> StoreResult<Option<Subscription>> {
        timed("subscription", self.inner.subscription(brand)).await
    }

    async fn subscriptions(&self) -> StoreResult<Vec<Subscription>> {
        timed("subscriptions", self.inner.subscriptions()).await
    }
}
