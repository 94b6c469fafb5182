//! Property tests of the quota math.
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
use quota_core::domain::{DEFAULT_MAX_PER_REQUEST, MAX_UNITS};
use quota_core::period::{BillingAnchor, BillingPeriod};
use quota_core::report::{ProjectionInput, plan_cost, project, recommend};
use quota_core::store::{CounterKey, Usage};
use quota_core::{
    Catalog, Currency, Limit, MemoryStore, MetricDef, MetricKind, Money, OveragePolicy, Plan,
    QuotaError, QuotaGuard, Subscription, UsageStore,
};
use quota_testkit::conformance;

fn policy() -> impl Strategy<Value = OveragePolicy> {
    prop_oneof![
        Just(OveragePolicy::Block),
        (0u64..500, 1u64..50, proptest::option::of(0u64..20_000)).prop_map(|(p, per, cap)| {
            OveragePolicy::Charge {
                unit_price: p,
                per_units: NonZeroU64::new(per).unwrap(),
                cap,
            }
        }),
    ]
}

/// A limit that is bounded (hard allowance exists): Block, or Charge with a cap and price.
fn bounded_limit() -> impl Strategy<Value = Limit> {
    (
        0u64..2_000,
        prop_oneof![
            Just(OveragePolicy::Block),
            (1u64..500, 1u64..50, 0u64..5_000).prop_map(|(p, per, cap)| OveragePolicy::Charge {
                unit_price: p,
                per_units: NonZeroU64::new(per).unwrap(),
                cap: Some(cap),
            }),
        ],
        0u8..=100,
    )
        .prop_map(|(inc, pol, grace)| Limit::with_policy(inc, pol).grace(grace))
}

fn catalog_with(limit: Limit) -> Catalog {
    let plan = Plan::new("p", "P", Money::zero(Currency::EUR)).with_limit("m", limit);
    Catalog::new(
        Currency::EUR,
        vec![MetricDef::new("m", MetricKind::Counter, "M")],
        vec![plan],
        None,
    )
    .unwrap()
}

fn instant() -> impl Strategy<Value = DateTime<Utc>> {
    // 1970 .. 2100
    (0i64..4_102_444_800).prop_map(|s| DateTime::from_timestamp(s, 0).unwrap())
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Unit requests from concurrent tasks: admitted == min(demand, hard allowance).
    #[test]
    fn admitted_units_equal_min_of_demand_and_allowance(
        limit in bounded_limit(),
        tasks in 1usize..6,
        per_task in 0usize..300,
    ) {
        let ceiling = limit.ceiling_without_topups().unwrap();
        let guard = QuotaGuard::new(catalog_with(limit), Arc::new(MemoryStore::new()));
        let admitted = rt().block_on(async {
            guard.subscribe(Subscription::new("b", "p", Utc::now())).await.unwrap();
            let mut handles = Vec::new();
            for _ in 0..tasks {
                let g = guard.clone();
                handles.push(tokio::spawn(async move {
                    let mut n = 0u64;
                    for _ in 0..per_task {
                        if g.consume("b", "m", 1, None).await.unwrap().is_allowed() {
                            n += 1;
                        }
                    }
                    n
                }));
            }
            let mut total = 0;
            for h in handles {
                total += h.await.unwrap();
            }
            total
        });
        let demand = (tasks * per_task) as u64;
        prop_assert_eq!(admitted, demand.min(ceiling));
    }

    /// Arbitrary quantities: never past the allowance, every denial was necessary, and a
    /// quantity past the per-request ceiling is refused as such and changes nothing.
    #[test]
    fn never_past_a_hard_allowance(
        limit in bounded_limit(),
        quantities in proptest::collection::vec(prop_oneof![0u64..100, Just(u64::MAX), 0u64..5_000], 0..60),
    ) {
        let ceiling = limit.ceiling_without_topups().unwrap();
        let guard = QuotaGuard::new(catalog_with(limit), Arc::new(MemoryStore::new()));
        rt().block_on(async {
            guard.subscribe(Subscription::new("b", "p", Utc::now())).await.unwrap();
            let mut used = 0u64;
            for q in quantities {
                if q > DEFAULT_MAX_PER_REQUEST {
                    let err = guard.consume("b", "m", q, None).await.unwrap_err();
                    let refused = matches!(err, QuotaError::QuantityTooLarge { quantity, .. } if quantity == q);
                    prop_assert!(refused, "{}", err);
                    prop_assert_eq!(guard.check("b", "m", 0).await.unwrap().used, used);
                    continue;
                }
                let d = guard.consume("b", "m", q, None).await.unwrap();
                let fits = used.checked_add(q).is_some_and(|a| a <= ceiling);
                prop_assert_eq!(d.is_allowed(), fits, "q={} used={} ceiling={}", q, used, ceiling);
                if fits {
                    used += q;
                }
                prop_assert_eq!(d.used, used);
                prop_assert!(d.used <= ceiling);
            }
            Ok(())
        })?;
    }

    /// Periods tile time: each instant is in exactly the period `containing` gives, and
    /// consecutive periods touch with no gap or overlap.
    #[test]
    fn periods_tile_time(anchor in 1u8..=31, at in instant()) {
        let a = BillingAnchor::day(anchor).unwrap();
        let p = BillingPeriod::containing(a, at);
        prop_assert!(p.contains(at));
        let next = p.next(a);
        prop_assert_eq!(next.start, p.end);
        prop_assert_eq!(BillingPeriod::containing(a, p.end), next);
        prop_assert_eq!(BillingPeriod::containing(a, p.end - Duration::microseconds(1)), p);
        prop_assert_eq!(BillingPeriod::containing(a, p.start), p);
        let prev = BillingPeriod::containing(a, p.start - Duration::microseconds(1));
        prop_assert_eq!(prev.end, p.start);
        prop_assert!((28..=31).contains(&p.length_days()), "{:?}", p);
    }

    /// A constant daily pace projects exactly onto its true end-of-period value.
    #[test]
    fn constant_pace_projects_the_true_end_value(
        anchor in 1u8..=31, at in instant(), pace in 0u64..100_000, elapsed_frac in 0.0f64..1.0,
    ) {
        let period = BillingPeriod::containing(BillingAnchor::day(anchor).unwrap(), at);
        let len = u64::from(period.length_days());
        let k = 1 + ((len - 1) as f64 * elapsed_frac) as u64; // whole days elapsed, >= 1
        let daily = vec![pace; k as usize];
        let p = project(&ProjectionInput {
            period,
            now: period.start + Duration::days(k as i64),
            daily: &daily,
            previous: &[],
            used: pace * k,
            allowance: Some(u64::MAX / 4),
            limit: &Limit::block(u64::MAX / 4),
            currency: Currency::EUR,
            reset: None,
        });
        prop_assert_eq!(p.projected_used, pace * len);
    }

    /// The recommendation is never costlier than another feasible plan, and exists whenever
    /// a feasible plan does.
    #[test]
    fn recommendation_is_the_cheapest_feasible_plan(
        plans in proptest::collection::vec((0i64..50_000, 0u64..3_000, policy(), 0u64..3_000, policy()), 1..6),
        usage_a in 0u64..6_000,
        usage_b in 0u64..6_000,
        current in 0usize..6,
    ) {
        let plans: Vec<Plan> = plans.into_iter().enumerate().map(|(i, (price, ia, pa, ib, pb))| {
            Plan::new(format!("p{i}"), "P", Money::new(price, Currency::EUR))
                .with_limit("a", Limit::with_policy(ia, pa))
                .with_limit("b", Limit::with_policy(ib, pb))
        }).collect();
        let n = plans.len();
        let catalog = Catalog::new(
            Currency::EUR,
            vec![MetricDef::new("a", MetricKind::Counter, "A"), MetricDef::new("b", MetricKind::Counter, "B")],
            plans,
            None,
        ).unwrap();
        let current = format!("p{}", current % n);
        let projected = [("a", usage_a), ("b", usage_b)];
        let r = recommend(&catalog, &current, None, &projected).unwrap();
        let feasible: Vec<Money> = catalog.plans().iter()
            .map(|p| plan_cost(p, &projected, None, Currency::EUR))
            .filter(|c| c.feasible)
            .map(|c| c.total)
            .collect();
        match &r.recommended {
            None => prop_assert!(feasible.is_empty()),
            Some(best) => {
                prop_assert!(best.feasible);
                for total in feasible {
                    prop_assert!(best.total.amount_minor <= total.amount_minor);
                }
            }
        }
    }

    /// Overage charges grow with units and never pass the cap.
    #[test]
    fn overage_charge_is_monotone_and_capped(p in policy(), a in 0u64..1_000_000, b in 0u64..1_000_000) {
        let (lo, hi) = (a.min(b), a.max(b));
        let c_lo = p.charge(lo, Currency::EUR).amount_minor;
        let c_hi = p.charge(hi, Currency::EUR).amount_minor;
        prop_assert!(c_lo <= c_hi);
        if let OveragePolicy::Charge { cap: Some(cap), .. } = p {
            prop_assert!(c_hi as u64 <= cap);
        }
        if let Some(max) = p.max_billable_units()
            && let OveragePolicy::Charge { cap: Some(cap), .. } = p {
                prop_assert!(p.charge(max, Currency::EUR).amount_minor as u64 <= cap);
            }
    }
}

#[test]
fn fake_clock_drives_period_boundaries() {
    let clock = FakeClock::at(Utc.with_ymd_and_hms(2024, 2, 29, 23, 59, 59).unwrap());
    let p = BillingPeriod::containing(BillingAnchor::default(), quota_core::Clock::now(&clock));
    clock.advance(Duration::seconds(1));
    assert!(!p.contains(quota_core::Clock::now(&clock)));
}

/// A consume near the domain's bounds: quantity, ceiling and free units around
/// [`MAX_UNITS`] and `u64::MAX`.
fn bound_consume() -> impl Strategy<Value = (u64, Option<u64>, Option<u64>)> {
    let units = prop_oneof![
        Just(0u64),
        Just(1u64),
        0u64..1_000,
        (MAX_UNITS - 1_000)..=MAX_UNITS,
        Just(MAX_UNITS + 1),
        Just(u64::MAX),
        any::<u64>(),
    ];
    let bound = prop_oneof![
        Just(None),
        Just(Some(u64::MAX)),
        ((MAX_UNITS - 1_000)..=MAX_UNITS).prop_map(Some),
        (0u64..=MAX_UNITS).prop_map(Some),
    ];
    (units, bound.clone(), bound)
}

proptest! {
    /// Random sequences of consumes near the bounds on the memory store: every outcome is
    /// the contract's model, no total passes the domain, and a refused consume leaves the
    /// counter exactly as it was.
    #[test]
    fn consumes_near_the_bounds_never_wrap(
        steps in proptest::collection::vec(bound_consume(), 1..80),
    ) {
        let store = MemoryStore::new();
        let brand = "b";
        let key = CounterKey::new(brand, "m", conformance::PERIOD);
        rt().block_on(async {
            let mut state = Usage::default();
            for (quantity, ceiling, free_units) in steps {
                let mut req = conformance::request(brand, "m", quantity, ceiling, None);
                req.free_units = free_units;
                let (want, after) = conformance::model_consume(state, &req);
                let got = store.consume(&req).await.unwrap();
                prop_assert_eq!(got, want);
                let now = store.usage(key).await.unwrap();
                prop_assert_eq!(now, after);
                prop_assert!(now.used <= MAX_UNITS && now.overage_units <= now.used);
                if !got.admitted {
                    prop_assert_eq!(now, state, "a refused consume changes nothing");
                }
                state = after;
            }
            Ok(())
        })?;
    }
}
