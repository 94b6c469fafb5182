//! The fixture every test starts from: the demo catalog (or another), a brand on a plan, a
//! fake clock on 2026-11-25 and a listener collecting the guard's events.

use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};
use quota_core::alert::CollectingListener;
use quota_core::clock::FakeClock;
use quota_core::report::EventKind;
use quota_core::{Catalog, Clock, MemoryStore, QuotaGuard, Subscription};

/// The brand of the fixture.
pub(crate) const B: &str = "brand_dashboard";

/// 2026-11-25T10:00:00Z: the fixture's time, in the last week of the November period.
pub(crate) fn nov_25() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 25, 10, 0, 0).unwrap()
}

pub(crate) struct Fixture {
    pub(crate) guard: QuotaGuard<MemoryStore>,
    pub(crate) clock: FakeClock,
    pub(crate) alerts: Arc<CollectingListener>,
}

/// [`B`] on `plan` of the demo catalog.
pub(crate) async fn fixture(plan: &str) -> Fixture {
    fixture_with(Catalog::demo(), plan).await
}

/// [`B`] on `plan` of `catalog`.
pub(crate) async fn fixture_with(catalog: Catalog, plan: &str) -> Fixture {
    let clock = FakeClock::at(nov_25());
    let alerts = Arc::new(CollectingListener::new());
    let guard = QuotaGuard::builder(catalog)
        .clock(Arc::new(clock.clone()))
        .listener(alerts.clone())
        .build(Arc::new(MemoryStore::new()));
    guard
        .subscribe(Subscription::new(B, plan, clock.now()))
        .await
        .unwrap();
    Fixture {
        guard,
        clock,
        alerts,
    }
}

/// The events heard so far, oldest first: `crossed:<percent>`, `resolved:<percent>` or the
/// event's name.
pub(crate) fn kinds(alerts: &CollectingListener) -> Vec<String> {
    alerts
        .events()
        .iter()
        .map(|e| match &e.kind {
            EventKind::ThresholdCrossed { threshold, .. } => format!("crossed:{threshold}"),
            EventKind::AlertResolved { threshold, .. } => format!("resolved:{threshold}"),
            other => other.name().to_owned(),
        })
        .collect()
}
