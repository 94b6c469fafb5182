//! Usage Quota Guardian core: a [`QuotaGuard`] turns a [`Catalog`] of plans into atomic
//! quota [`Decision`]s (with overage, top-ups and alerts) over a pluggable [`Store`]
//! ([`MemoryStore`] here; Redis and Postgres in their own crates), doing no I/O of its own:
//! time comes from a [`Clock`] and money is integer minor units ([`Money`]). The crate root
//! is this enforcement API; everything else lives in a module named by its concept: the
//! read models (snapshot, projections, recommendations, timeline) in [`report`], and
//! [`reset`], [`outbox`], [`alert`] listeners, [`topup`], [`period`], [`threshold`],
//! [`ids`], the numeric [`domain`], the store contract's types in [`store`] and the test
//! clock in [`clock`].
//!
//! ```
//! use std::sync::Arc;
//! use quota_core::{Catalog, MemoryStore, QuotaGuard, Subscription, Verdict};
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! // A plan: 3 renders a month, hard limit.
//! let catalog = Catalog::from_toml(r#"
//!     currency = "EUR"
//!     [[metrics]]
//!     key = "renders_2d"
//!     kind = "counter"
//!     [[plans]]
//!     id = "free"
//!     price = 0
//!     [plans.limits.renders_2d]
//!     included = 3
//!     overage = { policy = "block" }
//! "#)?;
//! let guard = QuotaGuard::new(catalog, Arc::new(MemoryStore::new()));
//! guard.subscribe(Subscription::new("acme", "free", chrono::Utc::now())).await?;
//!
//! // Consume: atomic check-and-add.
//! let d = guard.consume("acme", "renders_2d", 3, None).await?;
//! assert!(d.is_allowed());
//! assert_eq!(d.remaining(), Some(0));
//! let d = guard.consume("acme", "renders_2d", 1, None).await?;
//! assert!(matches!(d.verdict, Verdict::Denied { .. }));
//!
//! // Read the snapshot the cockpit shows.
//! let snap = guard.snapshot("acme").await?;
//! assert_eq!(snap.metrics[0].percent, Some(100));
//! assert_eq!(snap.timeline[0].kind.name(), "blocked");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```
#![forbid(unsafe_code)]
#![cfg_attr(test, allow(clippy::arithmetic_side_effects))]

// The enforcement API: re-exported below, reachable by no other path.
mod catalog;
mod decision;
mod error;
mod guard;
mod memory;
mod metric;
mod money;
mod overage;
mod plan;
mod subscription;

// Everything else, by concept.
pub mod alert;
pub mod clock;
pub mod domain;
pub mod ids;
pub mod outbox;
pub mod period;
pub mod report;
pub mod reset;
pub mod store;
pub mod threshold;
pub mod topup;

pub use catalog::Catalog;
pub use clock::system::{Clock, SystemClock};
pub use decision::{Decision, Denial, LimitState, Overage, Verdict};
pub use error::{CatalogError, QuotaError, Result, StoreError};
pub use guard::{ConsumeFuture, GuardBuilder, QuotaGuard};
pub use memory::MemoryStore;
pub use metric::{MetricDef, MetricKind};
pub use money::{Currency, Money};
pub use overage::OveragePolicy;
pub use plan::{Limit, Plan};
pub use store::traits::{
    AlertStore, ConsumeNow, CounterSlot, Store, SubscriptionStore, TopUpStore, UsageStore,
};
pub use subscription::Subscription;

/// The README's quick start, compiled as a doc test so it stays true.
#[doc = include_str!("../../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
