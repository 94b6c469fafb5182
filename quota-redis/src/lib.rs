//! Usage Quota Guardian on Redis: a [`quota_core::Store`] for services that run several
//! instances against one Redis server or one Redis Cluster.
//!
//! Every decision — check-and-consume with its idempotency key, release, gauge change,
//! top-up completion, alert claim, period reset — is one Lua script run with EVALSHA (loaded
//! again on NOSCRIPT): one round trip, atomic on the server, so N instances never admit one
//! unit past a hard limit between them. All keys of a brand share the `{brand}` hash tag, so
//! scripts never hit CROSSSLOT on a cluster. A dead or slow Redis yields
//! [`quota_core::StoreError::Unavailable`] or [`quota_core::StoreError::Timeout`] within the
//! response timeout, and the same store works again once Redis is back.
//!
//! ```no_run
//! use chrono::Utc;
//! use quota_core::PeriodKey;
//! use quota_core::store::{ConsumeRequest, CounterKey, UsageStore};
//! use quota_redis::{RedisOptions, RedisStore};
//!
//! # async fn demo() -> Result<(), quota_core::StoreError> {
//! let store = RedisStore::connect("redis://127.0.0.1:6379", RedisOptions::new()).await?;
//! let now = Utc::now();
//! let outcome = store
//!     .consume(&ConsumeRequest {
//!         key: CounterKey::new("brand_dashboard", "ai_generations", PeriodKey(20261101)),
//!         quantity: 1,
//!         ceiling: Some(100),
//!         idempotency_key: Some("request-42"),
//!         day: 24,
//!         at_us: now.timestamp_micros(),
//!         retain_until: now + chrono::Duration::days(40),
//!     })
//!     .await?;
//! assert!(outcome.admitted);
//! # Ok(())
//! # }
//! ```
//!
//! For a cluster, use [`RedisStore::connect_cluster`] with the nodes' URLs.
//!
//! # Key layout
//!
//! Every key of a brand starts with `<prefix>:{<brand>}:` (prefix `q` by default):
//!
//! | key | type | content |
//! |---|---|---|
//! | `c:<metric>:<period>` | hash | `u` used, `t` completed top-up units, `d<day>` day buckets |
//! | `m:<period>` | set | metrics touched in the period (what `reset_period` clears) |
//! | `a:<metric>:<period>` | set | claimed alert thresholds |
//! | `i:<idempotency key>` | string | `prior:quantity:topup:deadline_µs` of the first admitted consume |
//! | `g` | hash | metric -> gauge level |
//! | `t` | list | timeline events (JSON), oldest first |
//! | `tu:<id>` / `tul` | hash / list | a top-up (`base` JSON, `status`, `settled`) / the ids |
//! | `s` | string | subscription JSON |
//!
//! Outside any brand: `<prefix>:topup:<id>` (a top-up as inserted, to find its brand from its
//! id alone) and `<prefix>:subs` (the brands with a subscription).
//!
//! Counters, claims and metric sets expire at the request's `retain_until` (the period end
//! plus a retention grace), or — for writes that only know the period — 31 days after the
//! period start plus [`RedisOptions::set_retention_grace`]; never sooner than one grace after
//! the write. Idempotency keys live [`RedisOptions::set_idempotency_ttl`]. Gauges, top-ups,
//! the timeline and subscriptions do not expire.
//!
//! # Numbers
//!
//! Every `u64` is exact over its whole range: Lua numbers are doubles, so values of 10^15 and
//! more go through a split decimal arithmetic in the scripts, and replies carry integers only
//! (each value as two parts `hi * 10^10 + lo`).
#![forbid(unsafe_code)]

mod conn;
mod keys;
mod lua;
mod options;
mod store;

pub use options::RedisOptions;
pub use store::RedisStore;
