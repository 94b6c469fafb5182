//! The store conformance suites: one set of async tests that every backend passes unchanged.
//!
//! [`store`] holds the cases of the [`Store`](quota_core::Store) contract and
//! [`store_conformance_tests!`](crate::store_conformance_tests), [`outbox`] those of the alert
//! outbox ([`OutboxStore`](quota_core::outbox::OutboxStore)) and
//! [`outbox_conformance_tests!`](crate::outbox_conformance_tests), separate so that a store
//! without an outbox still runs the store suite. A test file expands a macro with a function
//! that returns a fresh handle to the store under test:
//!
//! ```text
//! async fn make_store() -> std::sync::Arc<dyn quota_core::Store> {
//!     std::sync::Arc::new(quota_core::MemoryStore::new())
//! }
//! quota_testkit::store_conformance_tests!(make_store);
//! ```
//!
//! Each case uses brand ids of its own ([`unique_brand`]), so cases can run in parallel on one
//! shared server without flushing it. Every case asserts exact values: counts under
//! concurrency are never "roughly" right. The fixtures below (a fixed period, a fixed "now",
//! [`request`]) and the reference [`model_consume`] serve other store tests too.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, Duration, TimeZone, Utc};
use quota_core::period::PeriodKey;
use quota_core::store::{ConsumeRequest, CounterKey, fingerprint};

mod model;
pub mod outbox;
pub mod store;

pub use model::model_consume;

/// The period most cases use.
pub const PERIOD: PeriodKey = PeriodKey(20261101);
/// Another period, for isolation cases.
pub const NEXT_PERIOD: PeriodKey = PeriodKey(20261201);

/// A fixed "now" inside [`PERIOD`].
pub fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0).unwrap()
}

/// End of [`PERIOD`].
pub fn period_end() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap()
}

/// A brand id unique to this process and call, e.g. `ct-exact-1f2e-3`.
pub fn unique_brand(tag: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = Utc::now().timestamp_nanos_opt().unwrap_or(0);
    format!("ct-{tag}-{}-{nanos:x}-{n}", std::process::id())
}

/// A consume request on [`PERIOD`] at [`now`].
pub fn request<'a>(
    brand: &'a str,
    metric: &'a str,
    quantity: u64,
    ceiling: Option<u64>,
    key: Option<&'a str>,
) -> ConsumeRequest<'a> {
    ConsumeRequest {
        key: CounterKey::new(brand, metric, PERIOD),
        quantity,
        ceiling,
        free_units: None,
        idempotency_key: key,
        fingerprint: key.map_or(0, |_| fingerprint(metric, quantity, "")),
        day: 24,
        at_us: now().timestamp_micros(),
        retain_until: period_end() + Duration::days(35),
    }
}
