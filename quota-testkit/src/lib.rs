//! Test support shared by the crates of Usage Quota Guardian (dev only, never published).
//!
//! - [`conformance`]: the store and outbox conformance suites every backend runs unchanged
//!   ([`store_conformance_tests!`], [`outbox_conformance_tests!`]), with their fixtures.
//! - [`FaultyStore`]: wraps any store, forwards every call and lets a test make chosen
//!   operations fail (`Unavailable`), hang, or fail on their n-th call.
//! - [`ci`]: the one rule that says whether the tests run in CI.
//! - [`mod@skip`]: what a test does when a service it needs (Redis, Postgres, a tool) is missing:
//!   in CI it fails; elsewhere it says so on stderr and records the skip in the file named by
//!   `QUOTA_SKIP_LOG`, so that `scripts/test.sh` counts the skips in its summary and fails a
//!   CI run that recorded any.
//! - [`service`]: finds a service URL (environment variable, else a default) and checks that
//!   something answers there before a test relies on it.
//! - `pg` (feature `postgres`): a throwaway database per test, dropped afterwards.
//!
//! ```
//! fn redis_or_skip() -> Option<String> {
//!     quota_testkit::service::url_or_skip(
//!         quota_testkit::test_name!(),
//!         "REDIS_URL",
//!         "redis://127.0.0.1:6379",
//!         "run `eval \"$(bash scripts/redis-env.sh start)\"`",
//!     )
//! }
//! ```
#![forbid(unsafe_code)]

pub mod ci;
pub mod conformance;
pub mod faulty;
#[cfg(feature = "postgres")]
pub mod pg;
pub mod service;
pub mod skip;

pub use ci::in_ci;
pub use faulty::{Fault, FaultyStore, Op, Ops};
pub use skip::{current_test, require, skip};

/// The path of the enclosing function, e.g. `runbook_redis::idempotent_replays_count_once`:
/// the name a test reports in its skip line. Closures and `async` blocks (such as the body
/// `#[tokio::test]` generates) are left out of the path.
#[macro_export]
macro_rules! test_name {
    () => {{
        fn __quota_testkit_here() {}
        $crate::skip::function_path(::std::any::type_name_of_val(&__quota_testkit_here))
    }};
}
