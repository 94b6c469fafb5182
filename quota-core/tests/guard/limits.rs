//! What a consume is answered against each kind of limit: a hard limit, charged overage
//! and its spend cap, a gauge, an unlimited metric; and what bad input gets.

use chrono::{Duration, TimeZone, Utc};
use quota_core::domain::MAX_UNITS;
use quota_core::{Catalog, Denial, Overage, QuotaError, Subscription, Verdict};

use crate::common::{B, fixture, fixture_with, kinds, nov_25};

#[tokio::test]
async fn denies_the_unit_past_a_hard_limit_and_suggests_an_upgrade() {
    let f = fixture("free").await; // renders_2d: 20, block
    let d = f.guard.consume(B, "renders_2d", 20, None).await.unwrap();
    assert_eq!(d.verdict, Verdict::Allowed);
    assert_eq!((d.used, d.limit, d.remaining()), (20, Some(20), Some(0)));
    assert_eq!(
        d.resets_at,
        Some(Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap())
    );
    let d = f.guard.consume(B, "renders_2d", 1, None).await.unwrap();
    assert_eq!(
        d.verdict,
        Verdict::Denied(Box::new(Denial {
            requested: 1,
            suggested_plan: Some("starter".into())
        }))
    );
    assert_eq!(d.used, 20, "a denial changes nothing");
    let again = f.guard.consume(B, "renders_2d", 1, None).await.unwrap();
    assert!(!again.is_allowed());
    let blocked = kinds(&f.alerts).iter().filter(|k| *k == "blocked").count();
    assert_eq!(
        blocked, 1,
        "one blocked event per period, however many denials"
    );
}

#[tokio::test]
async fn overage_is_admitted_priced_and_capped() {
    let f = fixture("free").await; // ai: 100 included, 10 cents/unit, cap 2000 cents
    f.guard
        .consume(B, "ai_generations", 100, None)
        .await
        .unwrap();
    let d = f.guard.consume(B, "ai_generations", 5, None).await.unwrap();
    match d.verdict {
        Verdict::AllowedWithOverage(o) => {
            let Overage {
                overage_units,
                charge,
                period_overage_units,
                period_charge,
            } = *o;
            assert_eq!((overage_units, period_overage_units), (5, 5));
            assert_eq!((charge.amount_minor, period_charge.amount_minor), (50, 50));
            assert_eq!(charge.currency.as_str(), "EUR");
        }
        other => panic!("expected overage, got {other:?}"),
    }
    // The cap admits 200 overage units in all.
    assert!(
        f.guard
            .consume(B, "ai_generations", 195, None)
            .await
            .unwrap()
            .is_allowed()
    );
    let d = f.guard.consume(B, "ai_generations", 1, None).await.unwrap();
    assert!(!d.is_allowed(), "the spend cap is a hard stop");
    assert_eq!(d.used, 300);
}

#[tokio::test]
async fn check_has_no_side_effect() {
    let f = fixture("free").await;
    let d = f.guard.check(B, "renders_2d", 15).await.unwrap();
    assert!(d.is_allowed());
    assert_eq!(d.used, 0);
    let d = f.guard.check(B, "renders_2d", 21).await.unwrap();
    assert!(!d.is_allowed());
    let d = f.guard.check(B, "ai_generations", 150).await.unwrap();
    assert!(matches!(
        d.verdict,
        Verdict::AllowedWithOverage(ref o) if o.overage_units == 50
    ));
    assert_eq!(
        f.guard
            .consume(B, "renders_2d", 0, None)
            .await
            .unwrap()
            .used,
        0
    );
    assert!(f.alerts.events().is_empty());
}

#[tokio::test]
async fn gauges_are_checked_on_increase_and_never_reset() {
    let f = fixture("free").await; // team_members: 1
    assert!(
        f.guard
            .consume(B, "team_members", 1, None)
            .await
            .unwrap()
            .is_allowed()
    );
    let d = f.guard.consume(B, "team_members", 1, None).await.unwrap();
    assert!(matches!(
        d.verdict,
        Verdict::Denied(ref denial) if denial.suggested_plan.as_deref() == Some("starter")
    ));
    assert_eq!(d.resets_at, None);
    let check = f.guard.check(B, "team_members", 1).await.unwrap();
    assert!(!check.is_allowed(), "Upgrade bloqué");
    f.clock.advance(Duration::days(10)); // next period
    assert_eq!(f.guard.check(B, "team_members", 0).await.unwrap().used, 1);
    assert_eq!(f.guard.release(B, "team_members", 5).await.unwrap(), 0);
    assert_eq!(f.guard.set_gauge(B, "team_members", 3).await.unwrap(), 0);
    let wrong = f.guard.set_gauge(B, "renders_2d", 3).await.unwrap_err();
    assert!(matches!(wrong, QuotaError::WrongMetricKind { .. }));
}

#[tokio::test]
async fn unlimited_metrics_stay_within_the_domain() {
    let catalog = Catalog::from_toml(
        r#"
        currency = "USD"
        [[metrics]]
        key = "calls"
        kind = "counter"
        maxPerRequest = 1000000000000000
        [[plans]]
        id = "ent"
        price = 100000
        [plans.limits.calls]
        included = "unlimited"
        "#,
    )
    .unwrap();
    let f = fixture_with(catalog, "ent").await;
    let d = f
        .guard
        .consume(B, "calls", MAX_UNITS - 1, None)
        .await
        .unwrap();
    assert!(d.is_allowed());
    assert_eq!((d.limit, d.remaining(), d.percent()), (None, None, None));
    let d = f.guard.consume(B, "calls", 2, None).await.unwrap();
    assert!(!d.is_allowed(), "a total past the domain is refused");
    assert_eq!(d.used, MAX_UNITS - 1);
    let d = f.guard.consume(B, "calls", 1, None).await.unwrap();
    assert!(d.is_allowed(), "the domain's last unit fits");
    assert_eq!(d.used, MAX_UNITS);
    let err = f
        .guard
        .consume(B, "calls", MAX_UNITS + 1, None)
        .await
        .unwrap_err();
    assert!(
        matches!(err, QuotaError::QuantityTooLarge { max: MAX_UNITS, .. }),
        "{err}"
    );
}

#[tokio::test]
async fn bad_input_gets_typed_errors_and_changes_nothing() {
    let f = fixture("free").await;
    let g = &f.guard;
    assert!(matches!(
        g.consume("nobody", "renders_2d", 1, None).await,
        Err(QuotaError::UnknownBrand(_))
    ));
    assert!(matches!(
        g.consume(B, "nope", 1, None).await,
        Err(QuotaError::UnknownMetric(_))
    ));
    assert!(matches!(
        g.consume("a}b", "renders_2d", 1, None).await,
        Err(QuotaError::Catalog(_))
    ));
    // Past the per-request ceiling (10^9 by default): refused, naming the limit.
    for metric in ["renders_2d", "team_members", "ai_generations"] {
        for quantity in [u64::MAX, 1 << 53, 1_000_000_001] {
            let err = g.consume(B, metric, quantity, None).await.unwrap_err();
            assert!(
                matches!(
                    err,
                    QuotaError::QuantityTooLarge { quantity: q, max: 1_000_000_000, .. } if q == quantity
                ),
                "{metric} {quantity}: {err}"
            );
            let err = g.check(B, metric, quantity).await.unwrap_err();
            assert!(matches!(err, QuotaError::QuantityTooLarge { .. }), "{err}");
        }
    }
    let err = g
        .consume(B, "ai_generations", 1_000_000_001, Some("big"))
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "1000000001 units of \"ai_generations\" is above the limit of 1000000000 per request"
    );
    assert_eq!(g.check(B, "ai_generations", 0).await.unwrap().used, 0);
    assert_eq!(g.check(B, "team_members", 0).await.unwrap().used, 0);
    assert_eq!(g.check(B, "renders_2d", 0).await.unwrap().used, 0);
    let bad_plan = Subscription::new("x", "gold", nov_25());
    assert!(matches!(
        g.subscribe(bad_plan).await,
        Err(QuotaError::UnknownPlan(_))
    ));
    let msg = g.consume(B, "nope", 1, None).await.unwrap_err().to_string();
    assert_eq!(msg, "unknown metric \"nope\"");
}
