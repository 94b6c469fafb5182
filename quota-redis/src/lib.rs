//! Usage Quota Guardian on Redis: [`RedisStore`] implements every store trait of `quota-core`
//! (usage, top-ups, alerts, subscriptions and the alert outbox) on one Redis server or a Redis
//! Cluster, for services that run several instances. Every decision — check-and-consume with
//! its idempotency key, release, gauge change, top-up completion, alert claim, timeline
//! append, period or counter reset — is one Lua script run with EVALSHA (loaded again on
//! NOSCRIPT): one round trip, atomic on the server, so N instances never admit one unit past
//! a hard limit between them. All keys of a brand share the `{brand}` hash tag, so scripts
//! never hit CROSSSLOT on a cluster. A dead or slow Redis yields
//! [`quota_core::StoreError::Unavailable`] or [`quota_core::StoreError::Timeout`] within the
//! response timeout, and the same store works again once Redis is back.
//!
//! ```
//! use chrono::Utc;
//! use quota_core::period::PeriodKey;
//! use quota_core::UsageStore;
//! use quota_core::store::{ConsumeRequest, CounterKey};
//! use quota_redis::{RedisOptions, RedisStore};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), quota_core::StoreError> {
//! # if let Some(why) = quota_testkit::service::unreachable_node("redis://127.0.0.1:6379") {
//! #     quota_testkit::skip("quota_redis (crate example)", &why);
//! #     return Ok(());
//! # }
//! let store = RedisStore::connect("redis://127.0.0.1:6379", RedisOptions::new()).await?;
//! let now = Utc::now();
//! let key = CounterKey::new("brand_dashboard", "ai_generations", PeriodKey(20261101));
//! let outcome = store
//!     .consume(&ConsumeRequest {
//!         key,
//!         quantity: 1,
//!         ceiling: Some(100),
//!         free_units: Some(80),
//!         idempotency_key: Some("request-42"),
//!         fingerprint: quota_core::store::fingerprint("ai_generations", 1, "POST /generate"),
//!         day: 24,
//!         at_us: now.timestamp_micros(),
//!         retain_until: now + chrono::Duration::days(40),
//!     })
//!     .await?;
//! // Admitted; sent again with the same key, the request is answered the same, not counted.
//! assert!(outcome.admitted);
//! # store.reset_period(key.brand, None, key.period).await?;
//! # Ok(())
//! # }
//! ```
//!
//! For a cluster, use [`RedisStore::connect_cluster`] with the nodes' URLs. An application
//! that already holds a connection (its own TLS, credentials, timeouts) hands it over instead:
//! [`RedisStore::from_manager`] for one server, [`RedisStore::from_cluster_connection`] for a
//! cluster.
//!
//! # Key layout
//!
//! Every key of a brand starts with `<prefix>:{<brand>}:` (prefix `q` by default):
//!
//! | key | type | content |
//! |---|---|---|
//! | `c:<metric>:<period>` | hash | `u` used, `t` completed top-up units, `o` overage units, `d<day>` day buckets |
//! | `m:<period>` | set | metrics touched in the period (what `reset_period` clears) |
//! | `a:<metric>:<period>` | set | claimed alert thresholds |
//! | `i:<idempotency key>` | string | `fingerprint:prior used:quantity:topup:prior overage:charged:deadline_µs` of the first admitted consume |
//! | `g` | hash | metric -> gauge level |
//! | `e` | sorted set | timeline: `<seq, 20 digits>:<event JSON>` scored by the event's time in Unix µs |
//! | `es` | string | the last timeline sequence number given (`INCR`) |
//! | `tu:<id>` / `tul` | hash / list | a top-up (`base` JSON, `status`, `settled`) / the ids |
//! | `s` | string | subscription JSON |
//!
//! Outside any brand: `<prefix>:topup:<id>` (a top-up as inserted, to find its brand from its
//! id alone) and `<prefix>:subs` (the brands with a subscription). Being in another slot, the
//! top-up index is claimed with `SET NX` before the brand's script that inserts the top-up
//! (`insert_topup`, `reset_counter`); `reset_counter` gives the claim back when its script
//! refuses, so a refused reset leaves nothing behind.
//!
//! Counters, claims and metric sets expire at the request's `retain_until` (the period end
//! plus a retention grace), or — for writes that only know the period — 31 days after the
//! period start plus [`RedisOptions::set_retention_grace`]; never sooner than one grace after
//! the write. Idempotency keys live [`RedisOptions::set_idempotency_ttl`]. Gauges, top-ups,
//! the timeline and subscriptions do not expire.
//!
//! The timeline keeps every event (it is not trimmed); events of one instant read in
//! reverse append order, and times are kept to the microsecond.
//!
//! # Numbers
//!
//! Every total stays within [`quota_core::domain::MAX_UNITS`] (10^15 < 2^53), where the
//! scripts' Lua (double) numbers are exact: a consume, a gauge increase or a top-up
//! completion that would pass it is refused. Arguments past the domain (a quantity or a
//! ceiling may be any `u64`) are clamped before they reach a script to a value that decides
//! the same way. Timeline scores are Unix microseconds, exact in a double for any time within
//! ±285 years of 1970.
#![forbid(unsafe_code)]

mod alerts;
mod conn;
mod keys;
mod lua;
mod options;
mod outbox;
mod share_links;
mod store;
mod subscriptions;
mod topups;
mod usage;

pub use options::RedisOptions;
pub use store::RedisStore;
