//! The store contract's vocabulary: the keys, requests and outcomes that the store traits
//! take and return, and the arithmetic every backend shares.
//!
//! The traits themselves ([`Store`](crate::Store), made of [`UsageStore`](crate::UsageStore),
//! [`TopUpStore`](crate::TopUpStore), [`AlertStore`](crate::AlertStore) and
//! [`SubscriptionStore`](crate::SubscriptionStore)) are at the crate root: what a backend
//! (memory, Redis, Postgres) must provide, with the atomicity each operation needs. All are
//! object safe: `Arc<dyn Store>` picks a backend at run time, a concrete type gives static
//! dispatch.
//!
//! A store knows nothing of plans: the [`QuotaGuard`](crate::QuotaGuard) turns a plan's limit
//! into a `ceiling` and the store applies it atomically together with the period's top-ups.

pub(crate) mod traits;

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::StoreError;
use crate::domain::{MAX_UNITS, add_units, bound_units};
use crate::period::PeriodKey;
use crate::report::TimelineEvent;
use crate::topup::UsageTopUp;

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
    /// [`MAX_UNITS`], whatever the ceiling.
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

    /// The check-and-add arithmetic of [`UsageStore::consume`](crate::UsageStore::consume) on this state: `None` when
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
/// [`UsageStore::reset_counter`](crate::UsageStore::reset_counter)).
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
