//! Behaviour of `QuotaGuard` over the in-memory store, on a fake clock.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use quota_core::alert::CollectingListener;
use quota_core::clock::FakeClock;
use quota_core::domain::MAX_UNITS;
use quota_core::period::BillingAnchor;
use quota_core::report::EventKind;
use quota_core::store::CounterKey;
use quota_core::threshold::Severity;
use quota_core::topup::TopUpStatus;
use quota_core::{
    AlertStore, Catalog, Denial, MemoryStore, Overage, QuotaError, QuotaGuard, Subscription,
    Verdict,
};

fn nov_25() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 25, 10, 0, 0).unwrap()
}

struct Fixture {
    guard: QuotaGuard<MemoryStore>,
    clock: FakeClock,
    alerts: Arc<CollectingListener>,
}

async fn fixture(plan: &str) -> Fixture {
    fixture_with(Catalog::demo(), plan).await
}

async fn fixture_with(catalog: Catalog, plan: &str) -> Fixture {
    let clock = FakeClock::at(nov_25());
    let alerts = Arc::new(CollectingListener::new());
    let guard = QuotaGuard::builder(catalog)
        .clock(Arc::new(clock.clone()))
        .listener(alerts.clone())
        .build(Arc::new(MemoryStore::new()));
    guard
        .subscribe(Subscription::new("brand_dashboard", plan, clock.now_utc()))
        .await
        .unwrap();
    Fixture {
        guard,
        clock,
        alerts,
    }
}

trait NowUtc {
    fn now_utc(&self) -> DateTime<Utc>;
}
impl NowUtc for FakeClock {
    fn now_utc(&self) -> DateTime<Utc> {
        quota_core::Clock::now(self)
    }
}

const B: &str = "brand_dashboard";

fn kinds(alerts: &CollectingListener) -> Vec<String> {
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
async fn idempotent_consume_counts_once_and_says_replayed() {
    let f = fixture("free").await;
    let a = f
        .guard
        .consume(B, "renders_2d", 2, Some("req-1"))
        .await
        .unwrap();
    let b = f
        .guard
        .consume(B, "renders_2d", 2, Some("req-1"))
        .await
        .unwrap();
    assert!(!a.replayed && b.replayed);
    assert_eq!((a.used, b.used), (2, 2));
    assert_eq!(f.guard.check(B, "renders_2d", 0).await.unwrap().used, 2);
    let bad = f
        .guard
        .consume(B, "renders_2d", 1, Some(""))
        .await
        .unwrap_err();
    assert!(matches!(bad, QuotaError::InvalidArgument(_)));
    let long = "k".repeat(300);
    let too_long = f
        .guard
        .consume(B, "renders_2d", 1, Some(&long))
        .await
        .unwrap_err();
    assert!(
        matches!(&too_long, QuotaError::InvalidArgument(m) if m.starts_with("idempotency key must be 1 to")),
        "{too_long}"
    );
    assert_eq!(f.guard.check(B, "renders_2d", 0).await.unwrap().used, 2);
}

#[tokio::test]
async fn thresholds_fire_once_each_with_their_severity() {
    let f = fixture("free").await; // renders 20
    for _ in 0..25 {
        let _ = f.guard.consume(B, "renders_2d", 1, None).await.unwrap();
    }
    assert_eq!(
        kinds(&f.alerts),
        [
            "crossed:50",
            "crossed:75",
            "crossed:90",
            "crossed:100",
            "blocked"
        ]
    );
    let sev: Vec<Severity> = f.alerts.events().iter().map(|e| e.severity).collect();
    assert_eq!(
        sev,
        [
            Severity::Info,
            Severity::Warning,
            Severity::Critical,
            Severity::Blocked,
            Severity::Blocked
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_consumers_admit_exactly_the_limit_and_alert_once() {
    let f = fixture("starter").await; // renders 100
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let g = f.guard.clone();
        tasks.push(tokio::spawn(async move {
            let mut n = 0;
            for _ in 0..50 {
                if g.consume(B, "renders_2d", 1, None)
                    .await
                    .unwrap()
                    .is_allowed()
                {
                    n += 1;
                }
            }
            n
        }));
    }
    let mut admitted = 0;
    for t in tasks {
        admitted += t.await.unwrap();
    }
    assert_eq!(admitted, 100);
    let mut k = kinds(&f.alerts);
    k.sort();
    assert_eq!(
        k,
        [
            "blocked",
            "crossed:100",
            "crossed:50",
            "crossed:75",
            "crossed:90"
        ]
    );
}

#[tokio::test]
async fn a_top_up_raises_the_allowance_and_resolves_alerts() {
    let f = fixture("free").await;
    f.guard
        .consume(B, "ai_generations", 100, None)
        .await
        .unwrap();
    let refused = f.guard.start_topup(B, "renders_2d", 10).await.unwrap_err();
    assert!(
        matches!(refused, QuotaError::TopUpNotAllowed { .. }),
        "{refused}"
    );
    let zero = f
        .guard
        .start_topup(B, "ai_generations", 0)
        .await
        .unwrap_err();
    assert!(matches!(zero, QuotaError::InvalidArgument(_)), "{zero}");
    assert!(f.guard.topups(B).await.unwrap().is_empty());
    let t = f.guard.start_topup(B, "ai_generations", 25).await.unwrap();
    assert_eq!(t.status, TopUpStatus::Pending);
    let done = f.guard.complete_topup(&t.id).await.unwrap();
    assert_eq!(done.status, TopUpStatus::Completed);
    let again = f.guard.complete_topup(&t.id).await.unwrap();
    assert_eq!(again.status, TopUpStatus::Completed);
    // One jump to 100 %: one alert, for the highest threshold. 100 / 125 = 80 %: the 90
    // and 100 claims are released with one resolution, 50 and 75 stay.
    let k = kinds(&f.alerts);
    assert_eq!(k, ["crossed:100", "topup_completed", "resolved:100"]);
    let key = CounterKey::new(B, "ai_generations", f.guard.period(B).await.unwrap().key());
    assert_eq!(
        f.guard.store().claimed_alerts(key).await.unwrap(),
        vec![50, 75]
    );
    let d = f
        .guard
        .consume(B, "ai_generations", 25, None)
        .await
        .unwrap();
    assert_eq!(d.verdict, Verdict::Allowed, "top-up units are not billed");
    assert_eq!(d.limit, Some(125));
    let list = f.guard.topups(B).await.unwrap();
    assert_eq!(list.len(), 1);
    let failed = f.guard.fail_topup(&t.id).await.unwrap_err();
    assert!(
        matches!(failed, QuotaError::TopUpTransition { .. }),
        "{failed}"
    );
    assert!(matches!(
        f.guard.complete_topup("nope").await.unwrap_err(),
        QuotaError::UnknownTopUp(_)
    ));
}

#[tokio::test]
async fn an_unpaid_top_up_expires_with_its_period() {
    let f = fixture("free").await;
    let t = f.guard.start_topup(B, "ai_generations", 10).await.unwrap();
    f.clock.advance(Duration::days(7));
    let err = f.guard.complete_topup(&t.id).await.unwrap_err();
    assert!(
        matches!(
            err,
            QuotaError::TopUpTransition {
                from: TopUpStatus::Expired,
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(
        f.guard.topups(B).await.unwrap()[0].status,
        TopUpStatus::Expired
    );
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
async fn an_upgrade_unblocks_and_resolves() {
    let f = fixture("free").await;
    f.guard.consume(B, "renders_2d", 20, None).await.unwrap();
    assert!(
        !f.guard
            .consume(B, "renders_2d", 1, None)
            .await
            .unwrap()
            .is_allowed()
    );
    f.guard.change_plan(B, "starter").await.unwrap();
    let d = f.guard.consume(B, "renders_2d", 1, None).await.unwrap();
    assert!(d.is_allowed());
    assert_eq!(d.limit, Some(100));
    // One alert for the jump to 100 %, the block at the first refusal, one resolution for
    // the highest threshold the upgrade brought usage back under (20 / 100 = 20 %).
    let k = kinds(&f.alerts);
    assert_eq!(
        k,
        ["crossed:100", "blocked", "plan_changed", "resolved:100"]
    );
    let key = CounterKey::new(B, "renders_2d", f.guard.period(B).await.unwrap().key());
    assert!(
        f.guard
            .store()
            .claimed_alerts(key)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(matches!(
        f.guard.change_plan(B, "gold").await.unwrap_err(),
        QuotaError::UnknownPlan(_)
    ));
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
async fn the_snapshot_gathers_plan_usage_projection_recommendation_and_timeline() {
    let f = fixture("starter").await;
    // 25 days in: 600 ai generations (100 over 500 at 8 cents), renders at 80 % (projected 98 %).
    for day in 1..=20 {
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
    assert_eq!(p.status, quota_core::report::ProjectionStatus::UnderStrain);
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
    let req = quota_core::reset::ResetRequest::new(B, "ai_generations", 92).with_topup(25);
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
    let renders = quota_core::reset::ResetRequest::new(B, "renders_2d", 85).with_topup(5);
    let plan = f.guard.plan_reset(&renders).await.unwrap();
    assert!(plan.topup_refused.is_some());
    assert_eq!(plan.target_units, 17);
    let gauge = quota_core::reset::ResetRequest::new(B, "team_members", 50);
    assert!(matches!(
        f.guard.plan_reset(&gauge).await,
        Err(QuotaError::WrongMetricKind { .. })
    ));
    let too_much = quota_core::reset::ResetRequest::new(B, "ai_generations", 5000);
    assert!(matches!(
        f.guard.plan_reset(&too_much).await,
        Err(QuotaError::InvalidArgument(_))
    ));
}

#[tokio::test]
async fn a_default_memory_store_remembers_idempotency_keys() {
    let guard = QuotaGuard::new(Catalog::demo(), Arc::new(MemoryStore::default()));
    guard
        .subscribe(Subscription::new(B, "free", Utc::now()))
        .await
        .unwrap();
    guard.consume(B, "renders_2d", 1, Some("k")).await.unwrap();
    let replay = guard.consume(B, "renders_2d", 1, Some("k")).await.unwrap();
    assert!(replay.replayed);
    assert_eq!(replay.used, 1);
    assert!(replay.period_start.unwrap() < replay.resets_at.unwrap());
}

/// Keyed and unkeyed consumes (the keyed ones take the store's brand path, the others its
/// per-counter fast path) race with a top-up completing: the counter stays exact.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn keyed_and_unkeyed_consumes_racing_a_top_up_stay_exact() {
    // Free: 100 included + at most 200 billable (cap 2000 / 10) = a hard 300, then +50 paid.
    let f = fixture("free").await;
    let topup = f.guard.start_topup(B, "ai_generations", 50).await.unwrap();
    let mut tasks = Vec::new();
    for t in 0..8 {
        let g = f.guard.clone();
        tasks.push(tokio::spawn(async move {
            let mut n = 0u64;
            for i in 0..100 {
                let key = format!("task-{t}-{i}");
                let keyed = i % 2 == 0;
                let d = g
                    .consume(B, "ai_generations", 1, keyed.then_some(key.as_str()))
                    .await
                    .unwrap();
                if d.is_allowed() {
                    n += 1;
                    if keyed {
                        // A replay counts nothing and says so.
                        let again = g.consume(B, "ai_generations", 1, Some(&key)).await.unwrap();
                        assert!(again.replayed);
                        assert_eq!(again.used, d.used, "the first answer, replayed");
                    }
                }
            }
            n
        }));
    }
    let g = f.guard.clone();
    let id = topup.id.clone();
    let paying = tokio::spawn(async move { g.complete_topup(&id).await.unwrap() });
    let mut admitted = 0;
    for t in tasks {
        admitted += t.await.unwrap();
    }
    assert_eq!(paying.await.unwrap().status, TopUpStatus::Completed);
    // Whatever the interleaving, the rest of the allowance is still there, unit by unit.
    while f
        .guard
        .consume(B, "ai_generations", 1, None)
        .await
        .unwrap()
        .is_allowed()
    {
        admitted += 1;
    }
    assert_eq!(admitted, 350);
    let snap = f.guard.snapshot(B).await.unwrap();
    let m = snap
        .metrics
        .iter()
        .find(|m| m.metric == "ai_generations")
        .unwrap();
    assert_eq!((m.used, m.topup_units), (350, 50));
}
