//! What the top-up tests share: a `QuotaGuard` on a memory store and a fake clock, with
//! the demo catalog's `brand_dashboard` on the free plan, and the payment pieces around it.
// Each test binary uses part of it.
#![allow(dead_code)]

use std::sync::Arc;

use chrono::{TimeZone, Utc};
use quota_core::clock::FakeClock;
use quota_core::{Catalog, Clock, MemoryStore, QuotaGuard, Subscription};
use quota_payments::{PendingCheckouts, RedirectPolicy, SimulatedProvider};

pub(crate) const BRAND: &str = "brand_dashboard";
pub(crate) const METRIC: &str = "ai_generations"; // free plan: 100 included, 10 cents a unit
/// The public origin checkout redirects must stay on.
pub(crate) const ORIGIN: &str = "https://quota.example.com";

pub(crate) struct Env {
    pub(crate) clock: FakeClock,
    pub(crate) guard: QuotaGuard<MemoryStore>,
    pub(crate) sim: SimulatedProvider,
    pub(crate) redirects: RedirectPolicy,
    /// At most 3 open checkouts per brand, for an hour.
    pub(crate) pending: PendingCheckouts,
}

pub(crate) async fn env() -> Env {
    let clock = FakeClock::at(Utc.with_ymd_and_hms(2026, 11, 10, 9, 0, 0).unwrap());
    let guard = QuotaGuard::builder(Catalog::demo())
        .clock(Arc::new(clock.clone()))
        .build(Arc::new(MemoryStore::new()));
    guard
        .subscribe(Subscription::new(BRAND, "free", clock.now()))
        .await
        .unwrap();
    Env {
        guard,
        sim: SimulatedProvider::new().with_clock(Arc::new(clock.clone())),
        redirects: RedirectPolicy::new(ORIGIN).unwrap(),
        pending: PendingCheckouts::new(3, std::time::Duration::from_secs(3600)).unwrap(),
        clock,
    }
}
