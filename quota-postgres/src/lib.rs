//! Postgres store for Usage Quota Guardian: durable, auditable usage that any number of
//! server instances share.
//!
//! [`PostgresStore`] implements every store trait of `quota-core` (`UsageStore`,
//! `TopUpStore`, `AlertStore`, `SubscriptionStore`, `OutboxStore`) on sqlx with runtime
//! queries. Its schema is one embedded migration ([`MIGRATOR`]), run at start-up,
//! idempotently; a database holding a pre-release schema of this crate is refused with a
//! [`SchemaError`]. A consume is one statement (the `quota_consume` function: a conditional
//! upsert on the counter row with its day's bucket and overage units, and an append-only
//! ledger row), exact under READ COMMITTED from any number of pools; a replayed idempotency
//! key returns the first outcome, a key sent with another request (fingerprint) is refused,
//! and a denied consume does not burn its key. A keyless consume of an existing counter takes
//! a shorter way to the same effect: one prepared data-modifying statement (conditional update
//! and ledger row), falling back to `quota_consume` when it admits nothing. Consumes run on
//! dedicated connections reused without sqlx's per-release ping
//! ([`PostgresOptions::set_consume_connections`]). Every call has a client-side deadline
//! ([`PostgresOptions::set_request_timeout`]), so a stalled server gives
//! [`quota_core::StoreError::Timeout`], never a hang.
//!
//! Values are `u64` in Rust and `BIGINT` (`i64`) in Postgres; totals stay within
//! [`quota_core::domain::MAX_UNITS`] (10^15), far inside BIGINT. Quantities, ceilings and
//! free units may be any `u64` (a consume that would pass the domain is denied); a gauge
//! level, usage point or top-up completion past the domain is refused with
//! [`quota_core::StoreError::OutOfRange`], and so are top-up units above `i64::MAX`. Nothing
//! wraps.
//!
//! ```no_run
//! use quota_core::period::PeriodKey;
//! use quota_core::UsageStore;
//! use quota_core::store::{ConsumeRequest, CounterKey};
//! use quota_postgres::{PostgresOptions, PostgresStore};
//!
//! # async fn run() -> Result<(), quota_core::StoreError> {
//! let store = PostgresStore::connect(
//!     "postgres://postgres@127.0.0.1:5432/quota",
//!     PostgresOptions::new().set_max_connections(16),
//! )
//! .await?;
//! let now = chrono::Utc::now();
//! let outcome = store
//!     .consume(&ConsumeRequest {
//!         key: CounterKey::new("brand_dashboard", "ai_generations", PeriodKey(20261101)),
//!         quantity: 1,
//!         ceiling: Some(100),
//!         free_units: Some(80),
//!         idempotency_key: Some("req-42"),
//!         fingerprint: quota_core::store::fingerprint("ai_generations", 1, "POST /renders"),
//!         day: 24,
//!         at_us: now.timestamp_micros(),
//!         retain_until: now + chrono::Duration::days(60),
//!     })
//!     .await?;
//! println!("admitted: {}, used: {}", outcome.admitted, outcome.used);
//! # Ok(())
//! # }
//! ```
#![forbid(unsafe_code)]

mod alerts;
mod error;
mod lane;
mod options;
mod outbox;
mod share_links;
mod store;
mod subscriptions;
mod topups;
mod usage;

pub use error::{BIGINT_MAX, SchemaError};
pub use options::PostgresOptions;
pub use store::{MIGRATOR, PostgresStore};
