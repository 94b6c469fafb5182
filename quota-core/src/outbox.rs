//! The alert outbox: durable messages waiting to be delivered to a sink (Slack, email, a
//! webhook), shared by every server instance on a store.
//!
//! The life of a message:
//!
//! 1. [`OutboxStore::enqueue`] stores it as [`OutboxStatus::Pending`], once per id: the id names
//!    one (event, sink) pair, so enqueueing the same event twice delivers it once.
//! 2. A dispatcher [`claims`](OutboxStore::claim_due) due messages with a lease. While the lease
//!    runs, no other claimer sees the message; each claim counts one attempt and the
//!    [`OutboxLease`] it returns names that attempt.
//! 3. After delivering, the dispatcher [`acks`](OutboxStore::ack) it
//!    ([`OutboxStatus::Delivered`], kept so a late re-enqueue of the same id stays a no-op);
//!    after a failure it [`reschedules`](OutboxStore::reschedule) it to a later due time (the
//!    attempt count is kept), or gives up with [`OutboxStore::dead_letter`].
//!
//! A claimer that dies mid-delivery loses nothing: its lease expires and another claimer gets
//! the message. Delivery is therefore at least once; it is exactly once as long as a delivery
//! (including its timeout) finishes within the lease, which the dispatcher guarantees by
//! bounding its delivery time well under the lease. Sinks that can deduplicate get the
//! message id for that purpose.
//!
//! Time is passed in by the caller (`now`), like every store operation of the core, so a fake
//! clock drives the whole outbox in tests.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::store::StoreResult;

/// A message to deliver.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct OutboxMessage {
    /// Unique id, stable for one (event, sink) pair: the idempotency key of the enqueue.
    pub id: String,
    /// The sink that delivers it (`slack`, `email`, `webhook`, ...).
    pub sink: String,
    /// What to deliver; the sink renders it.
    pub payload: serde_json::Value,
    /// Not claimable before this time.
    pub due_at: DateTime<Utc>,
}

impl OutboxMessage {
    /// Builds a message.
    pub fn new(
        id: impl Into<String>,
        sink: impl Into<String>,
        payload: serde_json::Value,
        due_at: DateTime<Utc>,
    ) -> Self {
        OutboxMessage {
            id: id.into(),
            sink: sink.into(),
            payload,
            due_at,
        }
    }
}

/// Where a message is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum OutboxStatus {
    /// Waiting for its due time, or claimed and being delivered.
    Pending,
    /// Delivered and acknowledged.
    Delivered,
    /// Given up after too many failures (kept for inspection).
    Dead,
}

impl OutboxStatus {
    /// `pending`, `delivered` or `dead`.
    pub fn as_str(&self) -> &'static str {
        match self {
            OutboxStatus::Pending => "pending",
            OutboxStatus::Delivered => "delivered",
            OutboxStatus::Dead => "dead",
        }
    }
}

impl fmt::Display for OutboxStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A stored message with its delivery state.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct OutboxRecord {
    /// The message (its `due_at` is the current one, after reschedules).
    pub message: OutboxMessage,
    /// Its state.
    pub status: OutboxStatus,
    /// Claims so far (each claim is one delivery attempt).
    pub attempts: u32,
    /// While claimed: when the lease ends.
    pub leased_until: Option<DateTime<Utc>>,
    /// The error of the last failed attempt.
    pub last_error: Option<String>,
}

impl OutboxRecord {
    /// Builds a record (for store implementations).
    pub fn new(
        message: OutboxMessage,
        status: OutboxStatus,
        attempts: u32,
        leased_until: Option<DateTime<Utc>>,
        last_error: Option<String>,
    ) -> Self {
        OutboxRecord {
            message,
            status,
            attempts,
            leased_until,
            last_error,
        }
    }
}

/// The right to finish one delivery attempt: returned by a claim, required to reschedule or
/// dead-letter the message so a claimer whose lease ran out cannot undo a newer attempt.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct OutboxLease {
    /// The message id.
    pub id: String,
    /// The attempt number this lease covers (the message's `attempts` after the claim).
    pub attempt: u32,
}

/// What [`OutboxStore::claim_due`] claims.
///
/// The claim is scoped to sinks so that an instance only takes the messages it can deliver
/// (one without SMTP settings leaves the email messages to the others).
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub struct ClaimRequest<'a> {
    /// Sinks whose messages to claim.
    pub sinks: &'a [&'a str],
    /// The current time.
    pub now: DateTime<Utc>,
    /// How long the claimed messages stay invisible to other claimers.
    pub lease: Duration,
    /// At most this many messages.
    pub limit: usize,
}

impl<'a> ClaimRequest<'a> {
    /// Builds a claim request.
    pub fn new(sinks: &'a [&'a str], now: DateTime<Utc>, lease: Duration, limit: usize) -> Self {
        ClaimRequest {
            sinks,
            now,
            lease,
            limit,
        }
    }
}

/// A message handed to one claimer.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct ClaimedMessage {
    /// The message.
    pub message: OutboxMessage,
    /// The attempt number (1 for the first delivery).
    pub attempt: u32,
    /// When the lease ends; after that another claimer may take the message.
    pub leased_until: DateTime<Utc>,
}

impl ClaimedMessage {
    /// Builds a claimed message (for store implementations).
    pub fn new(message: OutboxMessage, attempt: u32, leased_until: DateTime<Utc>) -> Self {
        ClaimedMessage {
            message,
            attempt,
            leased_until,
        }
    }

    /// The lease to pass to [`OutboxStore::reschedule`] or [`OutboxStore::dead_letter`].
    pub fn lease(&self) -> OutboxLease {
        OutboxLease {
            id: self.message.id.clone(),
            attempt: self.attempt,
        }
    }
}

/// A durable outbox shared by server instances. Object safe; every operation is atomic, across
/// processes for shared backends.
#[async_trait]
pub trait OutboxStore: Send + Sync {
    /// Stores a pending message unless a message with the same id exists (in any status).
    /// `true` when it was stored, `false` for a duplicate (which changes nothing).
    async fn enqueue(&self, message: &OutboxMessage) -> StoreResult<bool>;

    /// Claims up to `req.limit` pending messages of `req.sinks` with `due_at <= req.now`
    /// whose lease (if any) ended at or before `req.now`, oldest due first. Each claimed
    /// message gets `leased_until = now + lease` and one more attempt; exactly one
    /// concurrent claimer gets a given message.
    async fn claim_due(&self, req: &ClaimRequest<'_>) -> StoreResult<Vec<ClaimedMessage>>;

    /// Marks a pending message delivered (whoever holds its lease: the delivery happened).
    /// `true` when this call did it, `false` when it was already delivered, dead or absent.
    async fn ack(&self, id: &str) -> StoreResult<bool>;

    /// After a failed attempt: makes the message due again at `due_at`, ends the lease and
    /// keeps the attempt count. `false` (and no change) when `lease` is not the message's
    /// latest attempt or the message is no longer pending.
    async fn reschedule(
        &self,
        lease: &OutboxLease,
        due_at: DateTime<Utc>,
        error: &str,
    ) -> StoreResult<bool>;

    /// Gives up on a message: status [`OutboxStatus::Dead`], kept for inspection. Same lease
    /// rule as [`OutboxStore::reschedule`].
    async fn dead_letter(&self, lease: &OutboxLease, error: &str) -> StoreResult<bool>;

    /// Reads a message and its state.
    async fn outbox_record(&self, id: &str) -> StoreResult<Option<OutboxRecord>>;

    /// Messages of `sink` in `status`, oldest due first, at most `limit` (admin listings,
    /// dead letters).
    async fn outbox_records(
        &self,
        sink: &str,
        status: OutboxStatus,
        limit: usize,
    ) -> StoreResult<Vec<OutboxRecord>>;

    /// Deletes delivered and dead messages due before `before` (housekeeping); returns how
    /// many were removed. Pending messages always stay.
    async fn purge_outbox(&self, before: DateTime<Utc>) -> StoreResult<u64>;
}

/// `now + lease`, saturating at the end of time.
pub fn lease_deadline(now: DateTime<Utc>, lease: Duration) -> DateTime<Utc> {
    chrono::Duration::from_std(lease)
        .ok()
        .and_then(|d| now.checked_add_signed(d))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}
