//! The snapshot: plan card, usage, projections, recommendation and timeline in one read.

use chrono::{TimeZone, Utc};
use quota_core::report::ProjectionStatus;
use quota_core::threshold::Severity;

use crate::common::{B, fixture, nov_25};

#[tokio::test]
async fn the_snapshot_gathers_plan_usage_projection_recommendation_and_timeline() {
    let f = fixture("starter").await;
    // 25 days in: 600 ai generations (100 over 500 at 8 cents), renders at 80 % and still
    // used every day (projected past 90 %).
    for day in 5..=24 {
        f.clock
            .set(Utc.with_ymd_and_hms(2026, 11, day, 12, 0, 0).unwrap());
        f.guard.consume(B, "renders_2d", 4, None).await.unwrap();
    }
    f.clock.set(nov_25());
    f.guard
        .consume(B, "ai_generations", 600, None)
        .await
        .unwrap();
    f.guard.set_gauge(B, "team_members", 2).await.unwrap();
    let s = f.guard.snapshot(B).await.unwrap();
    assert_eq!(s.plan.id, "starter");
    assert_eq!(s.plan.price.amount_minor, 2900);
    assert_eq!(s.plan.overage_so_far.amount_minor, 800);
    assert!(s.plan.estimated_overage.amount_minor >= 800);
    let ai = &s.metrics[0];
    assert_eq!((ai.used, ai.limit, ai.percent), (600, Some(500), Some(120)));
    assert_eq!(ai.overage_units, 100);
    assert!(ai.accepts_topups);
    let renders = &s.metrics[1];
    assert_eq!(renders.badge, Some(Severity::Warning));
    let p = renders.projection.as_ref().unwrap();
    assert_eq!(p.status, ProjectionStatus::UnderStrain);
    let team = &s.metrics[2];
    assert_eq!((team.used, team.limit), (2, Some(3)));
    assert!(team.projection.is_none());
    let rec = s.recommendation.as_ref().unwrap();
    assert_eq!(rec.current.plan, "starter");
    // Newest first, all of this period.
    assert!(!s.stable);
    assert!(s.timeline.windows(2).all(|w| w[0].at >= w[1].at));
    assert_eq!(s.timeline.last().unwrap().kind.name(), "threshold_crossed");
    let json = serde_json::to_value(&s).unwrap();
    assert_eq!(json["brandId"], "brand_dashboard");
    assert_eq!(json["metrics"][0]["metric"], "ai_generations");
}
