//! Usage Quota Guardian core: plans, billing periods, atomic quota decisions, overage,
//! top-ups, alerts, projections, plan recommendations and the brand snapshot — over a
//! pluggable store ([`MemoryStore`] here; Redis and Postgres in their own crates).
//!
//! The core does no I/O of its own: time comes from a [`Clock`], storage from the [`Store`]
//! traits, and money is integer minor units ([`Money`]).
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

pub mod alert;
pub mod catalog;
pub mod clock;
pub mod decision;
pub mod domain;
pub mod error;
pub mod guard;
pub mod ids;
pub mod memory;
pub mod metric;
pub mod money;
pub mod outbox;
pub mod overage;
pub mod period;
pub mod plan;
pub mod projection;
pub mod recommendation;
pub mod reset;
pub mod snapshot;
pub mod store;
pub mod subscription;
pub mod threshold;
pub mod timeline;
pub mod topup;

pub use alert::{AlertListener, CollectingListener};
pub use catalog::{Catalog, PLAN_DEFINITIONS};
pub use clock::{Clock, FakeClock, SystemClock};
pub use decision::{Decision, Denial, Overage, Verdict};
pub use error::{CatalogError, QuotaError, Result, StoreError};
pub use guard::{ConsumeFuture, GuardBuilder, QuotaGuard};
pub use ids::{validate_brand_id, validate_metric_key, validate_plan_id};
pub use memory::MemoryStore;
pub use metric::{MetricDef, MetricKind};
pub use money::{Currency, Money};
pub use outbox::{
    ClaimRequest, ClaimedMessage, OutboxLease, OutboxMessage, OutboxRecord, OutboxStatus,
    OutboxStore,
};
pub use overage::OveragePolicy;
pub use period::{BillingAnchor, BillingPeriod, PeriodKey};
pub use plan::{Limit, Plan};
pub use projection::{Projection, ProjectionStatus};
pub use recommendation::{Recommendation, RecommendationReason};
pub use reset::{ResetOutcome, ResetPlan, ResetRequest};
pub use snapshot::{MetricSnapshot, PlanCard, Snapshot};
pub use store::Store;
pub use subscription::Subscription;
pub use threshold::{LimitState, Severity, Threshold};
pub use timeline::{EventKind, TimelineEvent};
pub use topup::{TopUpStatus, UsageTopUp};

/// The README's quick start, compiled as a doc test so it stays true.
#[doc = include_str!("../../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
