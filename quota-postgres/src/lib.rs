//! Postgres store for Usage Quota Guardian: durable, auditable usage that any number of
//! server instances share.
//!
//! [`PostgresStore`] implements every store trait of `quota-core` (`UsageStore`,
//! `TopUpStore`, `AlertStore`, `SubscriptionStore`) on sqlx with runtime queries. Its
//! versioned migrations are embedded ([`MIGRATOR`]) and run at start-up, idempotently.
//! A consume is one statement (the `quota_consume` function: a conditional upsert on the
//! counter row, the day's bucket and an append-only ledger row), exact under READ COMMITTED
//! from any number of pools; an idempotent replay returns the first outcome, and a denied
//! consume does not burn its key. A keyless consume of an existing counter takes a shorter
//! way to the same effect: one prepared data-modifying statement (conditional update and
//! ledger row), falling back to `quota_consume` when it admits nothing. Consumes run on
//! dedicated connections reused without sqlx's per-release ping
//! ([`PostgresOptions::set_consume_connections`]).
//!
//! Values are `u64` in Rust and `BIGINT` (`i64`) in Postgres: a quantity that cannot be
//! stored is denied, ceilings are clamped to `i64::MAX`, and other values above `i64::MAX`
//! (gauge levels, top-up units, reset targets) are refused with
//! [`quota_core::StoreError::Backend`], never wrapped.
//!
//! ```no_run
//! use quota_core::PeriodKey;
//! use quota_core::store::{ConsumeRequest, CounterKey, UsageStore};
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
//!         idempotency_key: Some("req-42"),
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

pub use error::BIGINT_MAX;
pub use options::PostgresOptions;
pub use store::{MIGRATOR, PostgresStore};
pub use usage::ResetRequest;
