#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]
//! The per-brand cap of open checkouts and their expiry, against a real `QuotaGuard`
//! (memory store, fake clock).

mod support;

use quota_core::topup::TopUpStatus;
use quota_core::{Clock, MemoryStore, QuotaGuard};
use quota_payments::{
    CheckoutError, SimulatedCheckoutError, SimulatedError, StartCheckout, settle_simulated,
    start_checkout,
};
use support::{BRAND, METRIC, env};

fn request(metric: &str, units: u64) -> StartCheckout {
    StartCheckout::new(BRAND, metric, units, "/ok", "/ko")
}

async fn topup_units(guard: &QuotaGuard<MemoryStore>) -> (u64, Option<u64>) {
    let snap = guard.snapshot(BRAND).await.unwrap();
    let m = snap.metrics.iter().find(|m| m.metric == METRIC).unwrap();
    (m.topup_units, m.limit)
}

#[tokio::test]
async fn a_brand_holds_at_most_the_cap_of_open_checkouts_until_they_settle_or_expire() {
    let e = env().await;
    let mut sessions = Vec::new();
    for _ in 0..3 {
        let s = start_checkout(
            &e.guard,
            &e.sim,
            &e.redirects,
            &e.pending,
            &request(METRIC, 5),
        )
        .await
        .unwrap();
        sessions.push(s.session.session_id);
    }
    let err = start_checkout(
        &e.guard,
        &e.sim,
        &e.redirects,
        &e.pending,
        &request(METRIC, 5),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(err, CheckoutError::TooManyPending { max: 3, .. }),
        "{err:?}"
    );
    assert_eq!(err.http_status(), 429);
    assert_eq!(
        e.guard.topups(BRAND).await.unwrap().len(),
        3,
        "the refused one stored nothing"
    );
    // Cancelling one frees its slot.
    settle_simulated(&e.guard, &e.sim, &e.pending, &sessions[0], false)
        .await
        .unwrap();
    let s4 = start_checkout(
        &e.guard,
        &e.sim,
        &e.redirects,
        &e.pending,
        &request(METRIC, 5),
    )
    .await
    .unwrap();
    assert!(
        start_checkout(
            &e.guard,
            &e.sim,
            &e.redirects,
            &e.pending,
            &request(METRIC, 5)
        )
        .await
        .is_err()
    );
    // An hour later every open checkout has expired: it cannot be paid, and the slots are free.
    e.clock.advance(chrono::Duration::hours(1));
    assert!(matches!(
        settle_simulated(&e.guard, &e.sim, &e.pending, &s4.session.session_id, true).await,
        Err(SimulatedCheckoutError::Session(SimulatedError::Expired(_)))
    ));
    assert_eq!(topup_units(&e.guard).await, (0, Some(100)));
    assert_eq!(e.pending.open(BRAND, e.clock.now()), 0);
    let before = e.sim.len();
    start_checkout(
        &e.guard,
        &e.sim,
        &e.redirects,
        &e.pending,
        &request(METRIC, 5),
    )
    .await
    .unwrap();
    assert_eq!(e.sim.len(), 1, "the {before} expired sessions were pruned");
    let statuses: Vec<_> = e
        .guard
        .topups(BRAND)
        .await
        .unwrap()
        .iter()
        .map(|t| t.status)
        .collect();
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == TopUpStatus::Expired)
            .count(),
        3,
        "{statuses:?}"
    );
}
