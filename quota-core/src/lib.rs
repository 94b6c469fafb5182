//! Usage Quota Guardian core.
#![forbid(unsafe_code)]

pub mod catalog;
pub mod clock;
pub mod decision;
pub mod error;
pub mod ids;
pub mod memory;
pub mod metric;
pub mod money;
pub mod overage;
pub mod period;
pub mod plan;
pub mod store;
pub mod subscription;
#[cfg(feature = "testing")]
pub mod testing;
pub mod threshold;
pub mod timeline;
pub mod topup;

pub use catalog::{Catalog, PLAN_DEFINITIONS};
pub use clock::{Clock, FakeClock, SystemClock};
pub use decision::{Decision, Verdict};
pub use error::{CatalogError, QuotaError, Result, StoreError};
pub use ids::{validate_brand_id, validate_metric_key, validate_plan_id};
pub use memory::MemoryStore;
pub use metric::{MetricDef, MetricKind};
pub use money::{Currency, Money};
pub use overage::OveragePolicy;
pub use period::{BillingAnchor, BillingPeriod, PeriodKey};
pub use plan::{Limit, Plan};
pub use store::Store;
pub use subscription::Subscription;
pub use threshold::{Severity, Threshold};
pub use timeline::{EventKind, TimelineEvent};
pub use topup::{TopUpStatus, UsageTopUp};
