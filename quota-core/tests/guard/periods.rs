//! Billing periods and resets: a new period starts from zero, anchors move the period, the
//! period reset and the runbook's support reset.

use chrono::{TimeZone, Utc};
use quota_core::period::BillingAnchor;
use quota_core::reset::ResetRequest;
use quota_core::{QuotaError, Subscription};

use crate::common::{B, fixture, kinds, nov_25};

#[tokio::test]
async fn a_new_period_starts_from_zero() {
    let f = fixture("free").await;
    f.guard.consume(B, "renders_2d", 20, None).await.unwrap();
    f.clock
        .set(Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap());
    let d = f.guard.consume(B, "renders_2d", 1, None).await.unwrap();
    assert!(d.is_allowed());
    assert_eq!(d.used, 1);
    let snap = f.guard.snapshot(B).await.unwrap();
    assert!(
        snap.stable,
        "Consommation stable: no event in the new period"
    );
    assert_eq!(snap.metrics[1].curve.last().unwrap().units, 1);
}

#[tokio::test]
async fn anchored_periods_follow_the_anchor_day() {
    let f = fixture("free").await;
    let sub = Subscription::new("anchored", "free", nov_25())
        .with_anchor(BillingAnchor::day(31).unwrap());
    f.guard.subscribe(sub).await.unwrap();
    let p = f.guard.period("anchored").await.unwrap();
    assert_eq!(
        p.start,
        Utc.with_ymd_and_hms(2026, 10, 31, 0, 0, 0).unwrap()
    );
    assert_eq!(p.end, Utc.with_ymd_and_hms(2026, 11, 30, 0, 0, 0).unwrap());
}

#[tokio::test]
async fn reset_period_starts_usage_again_and_is_recorded() {
    let f = fixture("free").await;
    f.guard.consume(B, "renders_2d", 20, None).await.unwrap();
    f.guard
        .reset_period(B, None, "quota reset (support)")
        .await
        .unwrap();
    let d = f.guard.consume(B, "renders_2d", 10, None).await.unwrap();
    assert_eq!(d.used, 10);
    assert!(kinds(&f.alerts).contains(&"period_reset".to_owned()));
    // Alerts can fire again after a reset.
    assert_eq!(kinds(&f.alerts).last().unwrap(), "crossed:50");
}

#[tokio::test]
async fn the_runbook_reset_aims_at_a_target_and_adds_a_top_up() {
    let f = fixture("free").await; // ai: 100 included, charged
    f.guard
        .consume(B, "ai_generations", 40, None)
        .await
        .unwrap();
    f.guard.consume(B, "renders_2d", 7, None).await.unwrap();
    let req = ResetRequest::new(B, "ai_generations", 92).with_topup(25);
    let dry = f.guard.plan_reset(&req).await.unwrap();
    assert_eq!(
        (dry.used_before, dry.target_units, dry.included),
        (40, 92, 100)
    );
    assert_eq!(
        f.guard.check(B, "ai_generations", 0).await.unwrap().used,
        40,
        "dry run writes nothing"
    );
    let done = f.guard.apply_reset(&req).await.unwrap();
    assert_eq!((done.used_after, done.limit_after), (92, 125));
    assert!(done.topup.is_some());
    assert_eq!(
        f.guard.check(B, "renders_2d", 0).await.unwrap().used,
        7,
        "other metrics stay"
    );
    // 92 / 125 = 73.6 %: crossing 75 % fires again after the reset.
    f.guard.consume(B, "ai_generations", 2, None).await.unwrap();
    assert_eq!(kinds(&f.alerts).last().unwrap(), "crossed:75");
    let renders = ResetRequest::new(B, "renders_2d", 85).with_topup(5);
    let plan = f.guard.plan_reset(&renders).await.unwrap();
    assert!(plan.topup_refused.is_some());
    assert_eq!(plan.target_units, 17);
    let gauge = ResetRequest::new(B, "team_members", 50);
    assert!(matches!(
        f.guard.plan_reset(&gauge).await,
        Err(QuotaError::WrongMetricKind { .. })
    ));
    let too_much = ResetRequest::new(B, "ai_generations", 5000);
    assert!(matches!(
        f.guard.plan_reset(&too_much).await,
        Err(QuotaError::InvalidArgument(_))
    ));
}
