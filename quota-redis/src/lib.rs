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
//!         at: now,
//!         retain_until: now + chrono::Duration::days(40),
//!     })
//!     .await?;
//! assert!(outcome.admitted);
//! # Ok(())
//! # }
//! ```
//!
//! For a cluster, use [`RedisStore::connect_cluster`] with the nodes' URLs.
#![forbid(unsafe_code)]

mod conn;
mod keys;
mod lua;
mod options;
mod store;

pub use options::RedisOptions;
pub use store::RedisStore;
