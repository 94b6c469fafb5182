//! The cases of the store contract ([`Store`]): one public `async fn(Arc<dyn Store>)` per
//! case, grouped by the part of the contract they check, and
//! [`store_conformance_tests!`](crate::store_conformance_tests), which runs them all.

use std::sync::Arc;

use chrono::Duration;
use quota_core::Store;
use quota_core::period::PeriodKey;
use quota_core::report::{EventKind, TimelineEvent};
use quota_core::store::CounterKey;
use quota_core::threshold::Severity;
use quota_core::topup::UsageTopUp;

use super::{PERIOD, now, period_end};

mod alerts;
mod counters;
mod gauges;
mod idempotency;
mod overage;
mod resets;
mod subscriptions;
mod topups;

pub use alerts::*;
pub use counters::*;
pub use gauges::*;
pub use idempotency::*;
pub use overage::*;
pub use resets::*;
pub use subscriptions::*;
pub use topups::*;

/// Units used of a counter of [`PERIOD`] (or another period).
async fn used(store: &Arc<dyn Store>, brand: &str, metric: &str, period: PeriodKey) -> u64 {
    store
        .usage(CounterKey::new(brand, metric, period))
        .await
        .unwrap()
        .used
}

fn event(brand: &str, n: i64) -> TimelineEvent {
    TimelineEvent::new(
        brand,
        now() + Duration::seconds(n),
        PERIOD,
        Some("m".into()),
        Severity::Info,
        EventKind::ThresholdCrossed {
            threshold: 50,
            used: u64::try_from(n).unwrap(),
            limit: 100,
        },
    )
}

fn topup(id: &str, brand: &str, units: u64) -> UsageTopUp {
    UsageTopUp::pending(id, brand, "m", units, PERIOD, now(), period_end())
}

/// Expands into one `#[tokio::test]` per conformance case, inside a module named
/// `store_conformance`, for the store returned by the async function `$make`
/// (`async fn() -> Arc<dyn Store>`). The caller needs `tokio` with `macros` and
/// `rt-multi-thread`.
#[macro_export]
macro_rules! store_conformance_tests {
    ($make:path) => {
        mod store_conformance {
            #[allow(unused_imports)]
            use super::*;
            $crate::store_conformance_tests!(@cases $make;
                exact_counts_under_concurrency,
                denies_the_unit_past_the_ceiling,
                totals_stay_within_the_domain,
                consumes_near_the_bounds_follow_the_model,
                idempotent_replay_counts_once,
                idempotency_keys_are_bound_to_their_request,
                overage_units_are_counted_when_admitted,
                denied_consume_does_not_burn_its_key,
                concurrent_replays_count_once,
                daily_buckets_and_release,
                gauges,
                topups,
                alert_claims_exactly_once,
                timeline_order,
                period_isolation,
                reset_leaves_others_alone,
                reset_counter_is_all_or_nothing,
                subscriptions
            );
        }
    };
    (@cases $make:path; $($case:ident),+ $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $case() {
                $crate::conformance::store::$case($make().await).await;
            }
        )+
    };
}
