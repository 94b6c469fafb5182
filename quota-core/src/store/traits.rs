//! The store traits, re-exported at the crate root (see [`crate::store`] for the types they
//! take and return).

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{
    ConsumeOutcome, ConsumeRequest, CounterKey, CounterReset, GaugeOutcome, StoreResult, Usage,
};
use crate::period::PeriodKey;
use crate::report::TimelineEvent;
use crate::subscription::Subscription;
use crate::topup::{TopUpStatus, TopUpTransition, UsageTopUp};

/// The synchronous consume of an in-process store (see [`UsageStore::in_process`]): the same
/// contract as [`UsageStore::consume`], answered in the calling thread without waiting on
/// I/O.
pub trait ConsumeNow: Send + Sync {
    /// [`UsageStore::consume`], decided at once.
    fn consume_now(&self, req: &ConsumeRequest<'_>) -> StoreResult<ConsumeOutcome>;

    /// A handle on the counter of `key` that consumes without finding the counter again,
    /// when the store keeps one (the default: `None`). The guard asks once per brand,
    /// metric and period it caches and then sends that counter's consumes without an
    /// idempotency key through the handle; keyed consumes always go through
    /// [`ConsumeNow::consume_now`].
    fn counter_slot(&self, key: CounterKey<'_>) -> Option<Arc<dyn CounterSlot>> {
        let _ = key;
        None
    }
}

/// One counter of an in-process store, held by the guard (see [`ConsumeNow::counter_slot`]).
pub trait CounterSlot: Send + Sync {
    /// [`ConsumeNow::consume_now`] for a request on this slot's counter without an
    /// idempotency key, with the same atomicity. `None` when the slot cannot decide (for
    /// example the store has dropped the counter since): the guard then calls
    /// [`ConsumeNow::consume_now`].
    fn consume(&self, req: &ConsumeRequest<'_>) -> Option<ConsumeOutcome>;
}

/// Counters, daily buckets and gauges.
#[async_trait]
pub trait UsageStore: Send + Sync {
    /// Atomically: if the idempotency key is known, replay its first outcome when the
    /// fingerprint matches, else answer [`ConsumeOutcome::key_reused`]; otherwise add
    /// `quantity` if `used + quantity <= min(ceiling + topups, MAX_UNITS)`, count the units
    /// past `free_units + topups + overage` as overage units
    /// (`charged = after - max(used, free_units + topups + overage)`, at least 0), bump the
    /// day's bucket and remember the key with the outcome (for the store's idempotency TTL,
    /// 24 h by default). Must be exact under any concurrency, across processes for shared
    /// backends.
    async fn consume(&self, req: &ConsumeRequest<'_>) -> StoreResult<ConsumeOutcome>;

    /// The store's synchronous consume, when it has one: an in-process store decides in
    /// the calling thread and the guard's `consume` completes without a future. `None`
    /// (the default) for stores that talk to a server; the guard then awaits
    /// [`UsageStore::consume`]. Either way the guard builds the request once.
    fn in_process(&self) -> Option<&dyn ConsumeNow> {
        None
    }

    /// Gives back up to `quantity` units (saturating at zero), also from the day's bucket;
    /// the overage units drop by as much (saturating at zero).
    async fn release(&self, key: CounterKey<'_>, quantity: u64, day: u16) -> StoreResult<Usage>;

    /// Reads a counter (zero when absent).
    async fn usage(&self, key: CounterKey<'_>) -> StoreResult<Usage>;

    /// Units per day of the period, index 0 = first day; trailing days without usage may be
    /// omitted.
    async fn daily_usage(&self, key: CounterKey<'_>) -> StoreResult<Vec<u64>>;

    /// Atomically adds `delta` to a gauge. An increase is refused when the level would pass
    /// `ceiling` or [`MAX_UNITS`](crate::domain::MAX_UNITS); a decrease always applies and
    /// saturates at zero.
    async fn adjust_gauge(
        &self,
        brand: &str,
        metric: &str,
        delta: i64,
        ceiling: Option<u64>,
    ) -> StoreResult<GaugeOutcome>;

    /// Sets a gauge, returning the previous level. The guard keeps `level` within
    /// [`MAX_UNITS`](crate::domain::MAX_UNITS); a store refuses a higher one with
    /// [`StoreError::OutOfRange`](crate::StoreError::OutOfRange) and changes nothing.
    async fn set_gauge(&self, brand: &str, metric: &str, level: u64) -> StoreResult<u64>;

    /// Reads a gauge (zero when absent).
    async fn gauge(&self, brand: &str, metric: &str) -> StoreResult<u64>;

    /// Deletes one brand's usage, overage units, daily buckets and alert claims of
    /// `period`, for `metric` only or for all metrics (`None`). Other brands, metrics and
    /// periods, top-ups (and their units), gauges and the timeline stay.
    async fn reset_period(
        &self,
        brand: &str,
        metric: Option<&str>,
        period: PeriodKey,
    ) -> StoreResult<()>;

    /// The support reset of one counter, all or nothing: clears its usage, overage units,
    /// daily buckets and alert claims as [`UsageStore::reset_period`] does, writes `used`
    /// units in the bucket of `day` (no ceiling; not overage), inserts the completed
    /// `topup` and adds its units (a top-up id that exists already is a
    /// [`StoreError::Conflict`](crate::StoreError::Conflict)), and appends the `events`. If any step fails, nothing has
    /// changed. Returns the counter's state after.
    async fn reset_counter(&self, reset: &CounterReset<'_>) -> StoreResult<Usage>;

    /// Checks the backend answers.
    async fn ping(&self) -> StoreResult<()> {
        Ok(())
    }
}

/// Top-up records and the allowance they add.
#[async_trait]
pub trait TopUpStore: Send + Sync {
    /// Inserts a new top-up (`Conflict` if the id exists).
    async fn insert_topup(&self, topup: &UsageTopUp) -> StoreResult<()>;

    /// Reads a top-up.
    async fn topup(&self, id: &str) -> StoreResult<Option<UsageTopUp>>;

    /// Atomically moves a top-up to `to` (see [`TopUpStatus::can_become`]; `Conflict` when
    /// not allowed, `NotFound` when absent). `Pending -> Completed` adds its units to its
    /// period's top-up units in the same step, exactly once; `OutOfRange` (and no change)
    /// when they would pass [`MAX_UNITS`](crate::domain::MAX_UNITS). A pending top-up whose
    /// `expires_at <= at` becomes `Expired` instead of `Completed`.
    async fn set_topup_status(
        &self,
        id: &str,
        to: TopUpStatus,
        at: DateTime<Utc>,
    ) -> StoreResult<TopUpTransition>;

    /// A brand's top-ups, newest first.
    async fn topups(&self, brand: &str) -> StoreResult<Vec<UsageTopUp>>;

    /// A brand's `limit` newest top-ups, newest first: what a snapshot reads, bounded however
    /// many checkouts were started. The default reads them all; stores override it.
    async fn recent_topups(&self, brand: &str, limit: usize) -> StoreResult<Vec<UsageTopUp>> {
        let mut all = self.topups(brand).await?;
        all.truncate(limit);
        Ok(all)
    }
}

/// Alert claims (exactly-once arbitration between instances) and the timeline.
#[async_trait]
pub trait AlertStore: Send + Sync {
    /// Claims the alert for a threshold; `true` for exactly one caller until released.
    async fn claim_alert(&self, key: CounterKey<'_>, threshold: u16) -> StoreResult<bool>;

    /// Releases a claim; `true` for exactly one caller when it was claimed.
    async fn release_alert(&self, key: CounterKey<'_>, threshold: u16) -> StoreResult<bool>;

    /// Claimed thresholds of a counter, ascending.
    async fn claimed_alerts(&self, key: CounterKey<'_>) -> StoreResult<Vec<u16>>;

    /// Appends an event to the brand's timeline and returns the sequence number the store
    /// gave it: increasing per brand in append order (gaps allowed). The event's own `seq`
    /// is ignored.
    async fn append_event(&self, event: &TimelineEvent) -> StoreResult<u64>;

    /// The brand's `limit` latest events, newest first in a total order: by time, then by
    /// sequence number (so events of the same instant read in reverse append order). Each
    /// event carries its `seq`.
    async fn events(&self, brand: &str, limit: usize) -> StoreResult<Vec<TimelineEvent>>;
}

/// Subscriptions (brand -> plan).
#[async_trait]
pub trait SubscriptionStore: Send + Sync {
    /// Creates or replaces a subscription.
    async fn put_subscription(&self, sub: &Subscription) -> StoreResult<()>;

    /// Reads a brand's subscription.
    async fn subscription(&self, brand: &str) -> StoreResult<Option<Subscription>>;

    /// All subscriptions (for metrics export and admin listings), by brand.
    async fn subscriptions(&self) -> StoreResult<Vec<Subscription>>;
}

/// Everything a backend provides; implemented for every type that has the four parts.
pub trait Store: UsageStore + TopUpStore + AlertStore + SubscriptionStore {}

impl<T: UsageStore + TopUpStore + AlertStore + SubscriptionStore + ?Sized> Store for T {}
