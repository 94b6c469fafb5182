//! Store traits: what a backend (memory, Redis, Postgres) must provide, with the atomicity
//! each operation needs. All traits are object safe: `Arc<dyn Store>` picks a backend at run
//! time, a concrete type gives static dispatch.
//!
//! A store knows nothing of plans: the [`crate::QuotaGuard`] turns a plan's limit into a
//! `ceiling` and the store applies it atomically together with the period's top-ups.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::domain::{MAX_UNITS, add_units, bound_units};
use crate::error::StoreError;
use crate::period::PeriodKey;
use crate::subscription::Subscription;
use crate::timeline::TimelineEvent;
use crate::topup::{TopUpStatus, TopUpTransition, UsageTopUp};

/// Result of store operations.
pub type StoreResult<T> = Result<T, StoreError>;

/// Default time an idempotency key is remembered.
pub const DEFAULT_IDEMPOTENCY_TTL: Duration = Duration::from_secs(24 * 3600);

/// The alert claim id used for the "blocked" event (real thresholds are 1..=1000 %).
pub const BLOCKED_CLAIM: u16 = 0;

/// Identifies one usage counter: a brand's metric in a period.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CounterKey<'a> {
    /// The brand.
    pub brand: &'a str,
    /// The metric.
    pub metric: &'a str,
    /// The period.
    pub period: PeriodKey,
}

impl<'a> CounterKey<'a> {
    /// Builds a key.
    pub fn new(brand: &'a str, metric: &'a str, period: PeriodKey) -> Self {
        CounterKey {
            brand,
            metric,
            period,
        }
    }
}

/// An atomic check-and-add on a counter.
#[derive(Clone, Copy, Debug)]
pub struct ConsumeRequest<'a> {
    /// The counter.
    pub key: CounterKey<'a>,
    /// Units to add (0 is a valid no-op that still reports usage). The guard keeps it within
    /// the metric's per-request ceiling; a store only needs it to be a `u64`.
    pub quantity: u64,
    /// Highest usage admitted, top-ups excluded; the store adds the period's completed
    /// top-up units. `None` = no bound but the domain's: a total never passes
    /// [`MAX_UNITS`](crate::domain::MAX_UNITS), whatever the ceiling.
    pub ceiling: Option<u64>,
    /// Units free of charge in the period (included + grace), top-ups excluded. Each unit
    /// is paid once: by the free units, by a top-up, or as overage. So an admitted unit
    /// past `free_units + top-up units + overage units` (all as they stand when it is
    /// admitted) is an overage unit, counted by the store in [`Usage::overage_units`].
    /// `None` when nothing is ever billed.
    pub free_units: Option<u64>,
    /// When set, a consume with the same key (per brand) and the same `fingerprint` returns
    /// the first admitted outcome and adds nothing; the same key with another fingerprint
    /// is refused ([`ConsumeOutcome::key_reused`]) and changes nothing. A denied consume
    /// does not remember its key.
    pub idempotency_key: Option<&'a str>,
    /// What the key is bound to (see [`fingerprint`]); ignored without a key.
    pub fingerprint: u64,
    /// Zero-based day of the period, for the daily bucket.
    pub day: u16,
    /// The time of the consume (ledgers, key expiry), microseconds since the Unix epoch: the
    /// request path never builds a calendar date. [`ConsumeRequest::at`] gives the date-time.
    pub at_us: i64,
    /// When the period's data may be dropped (period end plus a retention grace).
    pub retain_until: DateTime<Utc>,
}

impl ConsumeRequest<'_> {
    /// The time of the consume as a date-time (saturating at chrono's range).
    pub fn at(&self) -> DateTime<Utc> {
        crate::clock::from_micros(self.at_us)
    }
}

/// What a store did with a [`ConsumeRequest`].
///
/// A replay carries the first outcome's numbers (`used`, `topup_units`, `overage_units`,
/// `charged_units` as they were then), so the answer rebuilt from it is the first answer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct ConsumeOutcome {
    /// Whether the units were added.
    pub admitted: bool,
    /// Usage after the call (the current usage when denied).
    pub used: u64,
    /// Completed top-up units of the period, as used for the decision.
    pub topup_units: u64,
    /// Overage units of the period after the call (see [`Usage::overage_units`]).
    pub overage_units: u64,
    /// How many of this call's units were overage units.
    pub charged_units: u64,
    /// Whether this is a replay of an earlier consume with the same idempotency key.
    pub replayed: bool,
    /// The idempotency key was first used for another request (another fingerprint):
    /// nothing was added and `admitted` is false.
    pub key_reused: bool,
}

impl ConsumeOutcome {
    /// An admitted or denied outcome that is neither a replay nor a reused key.
    pub fn new(
        admitted: bool,
        used: u64,
        topup_units: u64,
        overage_units: u64,
        charged_units: u64,
    ) -> Self {
        ConsumeOutcome {
            admitted,
            used,
            topup_units,
            overage_units,
            charged_units,
            replayed: false,
            key_reused: false,
        }
    }

    /// The outcome of a key first used for another request.
    pub fn key_reused() -> Self {
        ConsumeOutcome {
            key_reused: true,
            ..ConsumeOutcome::default()
        }
    }

    /// This outcome marked as a replay.
    #[must_use]
    pub fn as_replay(self) -> Self {
        ConsumeOutcome {
            replayed: true,
            ..self
        }
    }
}

/// A counter's state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Usage {
    /// Units used in the period.
    pub used: u64,
    /// Completed top-up units of the period.
    pub topup_units: u64,
    /// Units of the period that were billed as overage when they were admitted: each
    /// admitted unit that neither the free units nor the top-ups completed at that moment
    /// pay for counts once. Top-ups completed later do not lower it (credits cover future
    /// usage; overage already incurred stays billed, and the units it paid for use no
    /// credit); a release lowers it first (the last units admitted are the billed ones), a
    /// reset clears it.
    pub overage_units: u64,
}

impl Usage {
    /// A counter's state.
    pub fn new(used: u64, topup_units: u64, overage_units: u64) -> Self {
        Usage {
            used,
            topup_units,
            overage_units,
        }
    }

    /// The check-and-add arithmetic of [`UsageStore::consume`] on this state: `None` when
    /// `quantity` more units do not fit `min(ceiling + top-ups, MAX_UNITS)`, else the usage
    /// after and how many of the units are billed as overage (see
    /// [`Usage::billed_past`]). In-process stores and `QuotaGuard::check` use it; the Lua
    /// and SQL of the other stores implement the same.
    #[inline]
    pub fn admit(
        &self,
        quantity: u64,
        ceiling: Option<u64>,
        free_units: Option<u64>,
    ) -> Option<(u64, u64)> {
        let limit = ceiling.map_or(MAX_UNITS, |c| bound_units(c, self.topup_units));
        let after = add_units(self.used, quantity).filter(|a| *a <= limit)?;
        let charged = free_units.map_or(0, |free| self.billed_past(free, after));
        Some((after, charged))
    }

    /// How many units from `used` up to `total` are billed as overage: those that neither
    /// the `free_units`, the top-ups nor the overage already billed pay for.
    #[inline]
    pub fn billed_past(&self, free_units: u64, total: u64) -> u64 {
        let paid = bound_units(
            bound_units(free_units, self.topup_units),
            self.overage_units,
        );
        total.saturating_sub(self.used.max(paid))
    }
}

/// The fingerprint an idempotency key is bound to: metric, quantity and `scope` (the route
/// or operation the key was sent to). Stable across processes and versions (the first 8
/// bytes of a SHA-256), so every instance sharing a store agrees on it.
pub fn fingerprint(metric: &str, quantity: u64, scope: &str) -> u64 {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for part in [metric.as_bytes(), scope.as_bytes()] {
        h.update(u64::try_from(part.len()).unwrap_or(u64::MAX).to_be_bytes());
        h.update(part);
    }
    h.update(quantity.to_be_bytes());
    let digest = h.finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(digest.get(..8).unwrap_or(&[0; 8]));
    // Postgres stores it as BIGINT: keep it within i64 so every store holds the same value.
    u64::from_be_bytes(first) >> 1
}

/// The support reset of one counter as one atomic store operation (see
/// [`UsageStore::reset_counter`]).
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub struct CounterReset<'a> {
    /// The counter.
    pub key: CounterKey<'a>,
    /// The usage written after clearing (`0` = none), in the bucket of `day`.
    pub used: u64,
    /// Zero-based day of the period of the usage point.
    pub day: u16,
    /// When the period's data may be dropped.
    pub retain_until: DateTime<Utc>,
    /// A top-up to insert, already `Completed`, whose units join the period's top-up units.
    pub topup: Option<&'a UsageTopUp>,
    /// Events appended to the brand's timeline, in this order.
    pub events: &'a [TimelineEvent],
}

impl<'a> CounterReset<'a> {
    /// A reset of `key` to `used` units on `day`, with no top-up and no event.
    pub fn new(key: CounterKey<'a>, used: u64, day: u16, retain_until: DateTime<Utc>) -> Self {
        CounterReset {
            key,
            used,
            day,
            retain_until,
            topup: None,
            events: &[],
        }
    }

    /// Adds a completed top-up.
    #[must_use]
    pub fn with_topup(mut self, topup: &'a UsageTopUp) -> Self {
        self.topup = Some(topup);
        self
    }

    /// Sets the events to append.
    #[must_use]
    pub fn with_events(mut self, events: &'a [TimelineEvent]) -> Self {
        self.events = events;
        self
    }
}

/// What a store did with a gauge adjustment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GaugeOutcome {
    /// Whether the change was applied.
    pub admitted: bool,
    /// The level after the call (the current level when refused).
    pub level: u64,
}

/// The synchronous consume of an in-process store (see [`UsageStore::in_process`]): the same
/// contract as [`UsageStore::consume`], answered in the calling thread without waiting on
/// I/O.
pub trait ConsumeNow: Send + Sync {
    /// [`UsageStore::consume`], decided at once.
    fn consume_now(&self, req: &ConsumeRequest<'_>) -> StoreResult<ConsumeOutcome>;
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
    /// [`StoreError::OutOfRange`] and changes nothing.
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
    /// [`StoreError::Conflict`]), and appends the `events`. If any step fails, nothing has
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
