//! The projection's band and the forecaster's robustness: properties over any input, and
//! the cockpit's reading after a reset, with a previous period, and of a steady brand.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_possible_wrap,
    clippy::cast_precision_loss
)]

use std::num::NonZeroU64;
use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use proptest::prelude::*;
use quota_core::clock::FakeClock;
use quota_core::domain::MAX_UNITS;
use quota_core::period::{BillingAnchor, BillingPeriod};
use quota_core::report::{ProjectionInput, ProjectionStatus, project};
use quota_core::reset::ResetRequest;
use quota_core::{
    Catalog, Clock, Currency, Limit, MemoryStore, OveragePolicy, QuotaGuard, Subscription,
};

const B: &str = "brand_forecast";

/// Daily units: mostly ordinary, sometimes zero, huge, or a spike.
fn day_units() -> impl Strategy<Value = u64> {
    prop_oneof![
        6 => 0u64..1_000,
        2 => Just(0u64),
        1 => 0u64..=MAX_UNITS,
        1 => Just(MAX_UNITS),
    ]
}

fn limit() -> impl Strategy<Value = Limit> {
    prop_oneof![
        (0u64..=MAX_UNITS).prop_map(Limit::block),
        (
            0u64..=MAX_UNITS,
            0u64..500,
            1u64..50,
            proptest::option::of(0u64..20_000)
        )
            .prop_map(|(included, unit_price, per, cap)| {
                Limit::with_policy(
                    included,
                    OveragePolicy::Charge {
                        unit_price,
                        per_units: NonZeroU64::new(per).unwrap(),
                        cap,
                    },
                )
            }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    /// Whatever the input (empty, all zeros, huge, a period of 28 to 31 days, `now` before,
    /// inside or after the period): no panic, low ≤ median ≤ high, all at least the usage so
    /// far and at most MAX_UNITS, finite numbers.
    #[test]
    fn the_band_is_ordered_and_bounded(
        anchor in 1u8..=31,
        month in 0i64..48,
        daily in proptest::collection::vec(day_units(), 0..40),
        previous in proptest::collection::vec(day_units(), 0..35),
        offset_hours in -900i64..1_700,
        used_is_sum in any::<bool>(),
        used in 0u64..=MAX_UNITS,
        allowance in proptest::option::of(0u64..=MAX_UNITS),
        limit in limit(),
    ) {
        let at = Utc.with_ymd_and_hms(2026, 1, 15, 0, 0, 0).unwrap() + Duration::days(month * 30);
        let period = BillingPeriod::containing(BillingAnchor::day(anchor).unwrap(), at);
        prop_assert!((28..=31).contains(&period.length_days()));
        let used = if used_is_sum {
            daily.iter().fold(0u64, |a, b| a.saturating_add(*b)).min(MAX_UNITS)
        } else {
            used
        };
        let p = project(&ProjectionInput {
            period,
            now: period.start + Duration::hours(offset_hours),
            daily: &daily,
            previous: &previous,
            used,
            allowance,
            limit: &limit,
            currency: Currency::EUR,
            reset: None,
        });
        prop_assert!(p.projected_low <= p.projected_used, "{p:?}");
        prop_assert!(p.projected_used <= p.projected_high, "{p:?}");
        prop_assert!(p.projected_low >= used, "{p:?}");
        prop_assert!(p.projected_high <= MAX_UNITS, "{p:?}");
        prop_assert!(p.pace.is_finite() && p.pace >= 0.0, "{p:?}");
        prop_assert!(p.days_until_exhaustion.is_none_or(|d| d.is_finite() && d >= 0.0), "{p:?}");
        prop_assert!(p.projected_ratio.is_none_or(f64::is_finite), "{p:?}");
        if offset_hours >= i64::from(period.length_days()) * 24 {
            // After the period: nothing more to come.
            prop_assert_eq!((p.projected_low, p.projected_high), (used, used));
        }
    }

    /// A spike of any size on any past day is not extrapolated: the projection of a steady
    /// brand with one bulk import is the steady projection plus the import.
    #[test]
    fn a_one_off_import_adds_once(
        pace in 20u64..5_000,
        day in 1usize..12,
        size in 20u64..200,
        elapsed in 14i64..25,
    ) {
        let period = BillingPeriod::containing(BillingAnchor::default(), Utc.with_ymd_and_hms(2026, 11, 5, 0, 0, 0).unwrap());
        let limit = Limit::unlimited();
        let mut daily = vec![pace; elapsed as usize];
        let steady = project(&input(period, elapsed, &daily, &limit));
        daily[day] += pace * size;
        let spiked = project(&input(period, elapsed, &daily, &limit));
        prop_assert_eq!(spiked.projected_used, steady.projected_used + pace * size);
    }
}

fn input<'a>(
    period: BillingPeriod,
    days: i64,
    daily: &'a [u64],
    limit: &'a Limit,
) -> ProjectionInput<'a> {
    ProjectionInput {
        period,
        now: period.start + Duration::days(days),
        daily,
        previous: &[],
        used: daily.iter().sum(),
        allowance: None,
        limit,
        currency: Currency::EUR,
        reset: None,
    }
}

fn at(day: u32, hour: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, day, hour, 0, 0).unwrap()
}

async fn guard(plan: &str, clock: &FakeClock) -> QuotaGuard<MemoryStore> {
    let guard = QuotaGuard::builder(Catalog::demo())
        .clock(Arc::new(clock.clone()))
        .build(Arc::new(MemoryStore::new()));
    guard
        .subscribe(Subscription::new(B, plan, clock.now()))
        .await
        .unwrap();
    guard
}

/// The issue's case: two days after a reset to 92 %, the cockpit showed 1722 % and "out in
/// 0.1 day". The reset's target is a level, not a pace.
#[tokio::test]
async fn two_days_after_a_reset_to_92_percent_the_pace_is_the_usual_one() {
    let clock = FakeClock::at(at(1, 12));
    let g = guard("starter", &clock).await;
    for day in 1..=12 {
        clock.set(at(day, 12));
        g.consume(B, "ai_generations", 10, None).await.unwrap();
    }
    clock.set(at(13, 12));
    g.apply_reset(&ResetRequest::new(B, "ai_generations", 92).with_topup(25))
        .await
        .unwrap();
    for day in 14..=15 {
        clock.set(at(day, 12));
        g.consume(B, "ai_generations", 10, None).await.unwrap();
    }
    clock.set(at(15, 18));
    let s = g.snapshot(B).await.unwrap();
    let ai = &s.metrics[0];
    assert_eq!((ai.used, ai.limit), (480, Some(525)));
    let p = ai.projection.as_ref().unwrap();
    // 480 + about 10 a day for the 15.25 days left.
    assert!((600..=700).contains(&p.projected_used), "{p:?}");
    assert!(p.projected_low <= p.projected_used && p.projected_used <= p.projected_high);
    // 45 units left at 10 a day: 4.5 days at the median, but one post-reset day is little
    // to go on, and the 90th percentile runs out within 3 days.
    assert!(
        (4.0..5.0).contains(&p.days_until_exhaustion.unwrap()),
        "{p:?}"
    );
    assert_eq!(p.status, ProjectionStatus::ImmediateAction, "{p:?}");
}

/// Right after `quota reset --target 92` (nothing used since), the projection is the level
/// the reset set, read from the timeline: not the naive line through it (that showed 1182 %).
#[tokio::test]
async fn right_after_a_reset_the_projection_is_its_level() {
    let clock = FakeClock::at(at(1, 12));
    let g = guard("starter", &clock).await;
    for day in 1..=12 {
        clock.set(at(day, 12));
        g.consume(B, "ai_generations", 10, None).await.unwrap();
    }
    clock.set(at(13, 12));
    g.apply_reset(&ResetRequest::new(B, "ai_generations", 92))
        .await
        .unwrap();
    clock.set(at(13, 12) + chrono::Duration::minutes(1));
    let s = g.snapshot(B).await.unwrap();
    let ai = &s.metrics[0];
    assert_eq!((ai.used, ai.limit), (460, Some(500)));
    let p = ai.projection.as_ref().unwrap();
    assert_eq!(p.projected_used, 460, "{p:?}");
    assert_eq!(p.projected_low, 460, "{p:?}");
    assert_eq!(p.status, ProjectionStatus::UnderStrain, "{p:?}"); // 92 % > 90 %
    // The timeline says so: the event carries the level.
    let reset = s
        .timeline
        .iter()
        .find(|e| e.kind.name() == "period_reset")
        .unwrap();
    assert!(matches!(
        reset.kind,
        quota_core::report::EventKind::PeriodReset {
            level: Some(460),
            ..
        }
    ));
    // Usage after it is pace again: 20 units in the next 6 hours.
    clock.set(at(13, 18));
    g.consume(B, "ai_generations", 20, None).await.unwrap();
    let p = g.snapshot(B).await.unwrap().metrics[0]
        .projection
        .clone()
        .unwrap();
    assert!(p.projected_used > 480 + 500, "{p:?}"); // 80 a day for 17.25 days
    assert_eq!(p.status, ProjectionStatus::ImmediateAction, "{p:?}");
}

/// Early in a period, the previous period's level is a prior: a busy first day does not
/// set the pace of the month on its own.
#[tokio::test]
async fn the_previous_period_steadies_the_first_days() {
    let clock = FakeClock::at(Utc.with_ymd_and_hms(2026, 10, 1, 12, 0, 0).unwrap());
    let g = guard("pro", &clock).await;
    for day in 1..=31 {
        clock.set(Utc.with_ymd_and_hms(2026, 10, day, 12, 0, 0).unwrap());
        g.consume(B, "ai_generations", 20, None).await.unwrap();
    }
    clock.set(at(1, 12));
    g.consume(B, "ai_generations", 30, None).await.unwrap();
    clock.set(at(2, 0));
    let p = g.snapshot(B).await.unwrap().metrics[0]
        .projection
        .clone()
        .unwrap();
    // Alone, 30 a day for 30 days: 900; with October's 20 a day as a prior: about 670.
    assert!((600..=720).contains(&p.projected_used), "{p:?}");
}

/// A steady brand's band is narrow late in the period and holds the straight line.
#[tokio::test]
async fn a_steady_brand_late_in_the_period() {
    let clock = FakeClock::at(at(1, 12));
    let g = guard("starter", &clock).await;
    for day in 1..=20 {
        clock.set(at(day, 12));
        g.consume(B, "renders_2d", 3, None).await.unwrap();
    }
    clock.set(at(21, 0));
    let s = g.snapshot(B).await.unwrap();
    let p = s.metrics[1].projection.as_ref().unwrap();
    assert_eq!(p.projected_used, 90);
    assert!(p.projected_low < 90 && p.projected_low >= 80, "{p:?}");
    // Counts vary at least like Poisson counts: 3 a day for 10 days is 30 ± 5.5.
    assert!(p.projected_high > 90 && p.projected_high <= 105, "{p:?}");
    assert_eq!(p.status, ProjectionStatus::Stable);
    let json = serde_json::to_value(p).unwrap();
    assert_eq!(json["projectedLow"], p.projected_low);
    assert_eq!(json["projectedHigh"], p.projected_high);
    let rec = serde_json::to_value(s.recommendation.as_ref().unwrap()).unwrap();
    assert!(rec.get("risk").is_some());
}
