//! The guard's answers are true: statuses say what happens to requests, money answered adds
//! up to money billed, keys are bound to their request, a reset is whole and reads the
//! clock once, and the suggested plan is the cockpit's.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    missing_docs
)]

use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use quota_core::alert::CollectingListener;
use quota_core::clock::FakeClock;
use quota_core::report::EventKind;
use quota_core::reset::ResetRequest;
use quota_core::store::CounterKey;
use quota_core::threshold::Severity;
use quota_core::topup::TopUpStatus;
use quota_core::{
    Catalog, Clock, MemoryStore, QuotaError, QuotaGuard, Subscription, UsageStore, Verdict,
};
use quota_testkit::{FaultyStore, Op};

const B: &str = "brand_dashboard";

fn nov_25() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 25, 10, 0, 0).unwrap()
}

struct Fixture {
    guard: QuotaGuard<MemoryStore>,
    clock: FakeClock,
    alerts: Arc<CollectingListener>,
}

async fn fixture_on(clock: FakeClock, plan: &str) -> Fixture {
    let alerts = Arc::new(CollectingListener::new());
    let guard = QuotaGuard::builder(Catalog::demo())
        .clock(Arc::new(clock.clone()))
        .listener(alerts.clone())
        .build(Arc::new(MemoryStore::new()));
    guard
        .subscribe(Subscription::new(B, plan, nov_25()))
        .await
        .unwrap();
    Fixture {
        guard,
        clock,
        alerts,
    }
}

async fn fixture(plan: &str) -> Fixture {
    fixture_on(FakeClock::at(nov_25()), plan).await
}

fn names(alerts: &CollectingListener) -> Vec<(String, Severity)> {
    alerts
        .events()
        .iter()
        .map(|e| {
            let name = match &e.kind {
                EventKind::ThresholdCrossed { threshold, .. } => format!("crossed:{threshold}"),
                other => other.name().to_owned(),
            };
            (name, e.severity)
        })
        .collect()
}

#[tokio::test]
async fn a_charged_metric_past_its_allowance_is_billed_overage_not_blocked() {
    let f = fixture("starter").await;
    let d = f
        .guard
        .consume(B, "ai_generations", 520, None)
        .await
        .unwrap();
    assert!(matches!(d.verdict, Verdict::AllowedWithOverage(_)));
    assert_eq!(
        names(&f.alerts),
        [("crossed:100".to_owned(), Severity::Overage)],
        "requests still pass: the 100 % alert is an overage alert"
    );
    let snap = f.guard.snapshot(B).await.unwrap();
    let ai = snap
        .metrics
        .iter()
        .find(|m| m.metric == "ai_generations")
        .unwrap();
    assert_eq!(ai.badge, Some(Severity::Overage));
    assert!(!ai.blocked);
    // A hard limit at 100 % refuses the next unit: that one is blocked.
    f.guard.consume(B, "renders_2d", 100, None).await.unwrap();
    let snap = f.guard.snapshot(B).await.unwrap();
    let renders = snap
        .metrics
        .iter()
        .find(|m| m.metric == "renders_2d")
        .unwrap();
    assert_eq!(renders.badge, Some(Severity::Blocked));
    assert!(renders.blocked);
}

#[tokio::test]
async fn a_request_that_does_not_fit_is_refused_not_blocked_and_noticed_once_an_hour() {
    let f = fixture("starter").await;
    f.guard.consume(B, "renders_2d", 12, None).await.unwrap();
    for _ in 0..5 {
        let d = f.guard.consume(B, "renders_2d", 95, None).await.unwrap();
        assert!(!d.is_allowed());
        assert_eq!(d.used, 12);
    }
    assert!(
        f.guard
            .consume(B, "renders_2d", 1, None)
            .await
            .unwrap()
            .is_allowed()
    );
    assert_eq!(
        names(&f.alerts),
        [("request_refused".to_owned(), Severity::Warning)],
        "one notice for five refusals within the hour, and no blocked state"
    );
    f.clock.advance(Duration::hours(1));
    f.guard.consume(B, "renders_2d", 95, None).await.unwrap();
    assert_eq!(
        names(&f.alerts).len(),
        2,
        "the next hour gets its own notice"
    );
    let snap = f.guard.snapshot(B).await.unwrap();
    let renders = snap
        .metrics
        .iter()
        .find(|m| m.metric == "renders_2d")
        .unwrap();
    assert!(!renders.blocked);
    match &snap.timeline[0].kind {
        EventKind::RequestRefused {
            requested,
            used,
            limit,
        } => assert_eq!((*requested, *used, *limit), (95, 13, 100)),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_jump_across_thresholds_alerts_once_for_the_highest() {
    let f = fixture("starter").await;
    // Seeding a gauge straight to its limit: one alert, not one per threshold.
    f.guard.set_gauge(B, "team_members", 3).await.unwrap();
    assert_eq!(
        names(&f.alerts),
        [("crossed:100".to_owned(), Severity::Blocked)],
        "a gauge at its limit refuses the next seat"
    );
    f.guard.set_gauge(B, "team_members", 0).await.unwrap();
    f.guard.set_gauge(B, "team_members", 3).await.unwrap();
    let again: Vec<String> = names(&f.alerts).into_iter().map(|(n, _)| n).collect();
    assert_eq!(
        again,
        ["crossed:100", "alert_resolved", "crossed:100"],
        "resolved, then crossed again"
    );
}

#[tokio::test]
async fn charges_answered_add_up_to_the_overage_billed_even_after_a_top_up() {
    let f = fixture("free").await;
    let mut answered = 0i64;
    let mut record = |d: &quota_core::Decision| {
        if let Verdict::AllowedWithOverage(o) = &d.verdict {
            answered += o.charge.amount_minor;
        }
    };
    for q in [60, 50, 3] {
        let d = f.guard.consume(B, "ai_generations", q, None).await.unwrap();
        record(&d);
    }
    // 113 of 100 at 10 cents: 1.30 EUR billed.
    let snap = f.guard.snapshot(B).await.unwrap();
    assert_eq!(snap.plan.overage_so_far.amount_minor, 130);
    let t = f.guard.start_topup(B, "ai_generations", 20).await.unwrap();
    f.guard.complete_topup(&t.id).await.unwrap();
    let snap = f.guard.snapshot(B).await.unwrap();
    assert_eq!(
        snap.plan.overage_so_far.amount_minor, 130,
        "credits cover future usage; the overage already billed stays"
    );
    for q in [5, 10, 4] {
        let d = f.guard.consume(B, "ai_generations", q, None).await.unwrap();
        record(&d);
    }
    // 132 used: 13 billed before the top-up, then 120 + 13 = 133 free: nothing more.
    let d = f.guard.consume(B, "ai_generations", 3, None).await.unwrap();
    record(&d);
    // 135: 2 more past 133.
    let snap = f.guard.snapshot(B).await.unwrap();
    assert_eq!(snap.plan.overage_so_far.amount_minor, 150);
    assert_eq!(answered, snap.plan.overage_so_far.amount_minor);
    let ai = &snap.metrics[0];
    assert_eq!((ai.used, ai.overage_units), (135, 15));
    assert!(
        snap.plan.estimated_overage.amount_minor >= 150,
        "the estimate starts from what is billed"
    );
}

#[tokio::test]
async fn idempotency_keys_are_bound_to_their_request() {
    let f = fixture("free").await;
    let g = &f.guard;
    let first = g
        .consume(B, "ai_generations", 105, Some("job-1"))
        .await
        .unwrap();
    assert!(matches!(first.verdict, Verdict::AllowedWithOverage(_)));
    g.consume(B, "ai_generations", 4, None).await.unwrap();
    let replay = g
        .consume(B, "ai_generations", 105, Some("job-1"))
        .await
        .unwrap();
    assert!(replay.replayed);
    let mut unmarked = replay.clone();
    unmarked.replayed = false;
    assert_eq!(
        unmarked, first,
        "the first answer, numbers as they were then"
    );
    for (metric, quantity) in [("ai_generations", 106), ("renders_2d", 105)] {
        let err = g
            .consume(B, metric, quantity, Some("job-1"))
            .await
            .unwrap_err();
        assert!(
            matches!(&err, QuotaError::IdempotencyKeyReused { key } if key == "job-1"),
            "{err}"
        );
    }
    let err = g
        .consume_scoped(B, "ai_generations", 105, "job-1", "POST /renders")
        .await
        .unwrap_err();
    assert!(matches!(err, QuotaError::IdempotencyKeyReused { .. }));
    assert_eq!(g.check(B, "ai_generations", 0).await.unwrap().used, 109);
    assert_eq!(g.check(B, "renders_2d", 0).await.unwrap().used, 0);
}

#[tokio::test]
async fn the_suggested_plan_is_the_cockpits_recommendation() {
    let f = fixture("free").await;
    // Heavy AI use early in the period: the projection makes Scale the cheapest plan that
    // fits, although Pro would hold the one renders request being refused.
    f.clock
        .set(Utc.with_ymd_and_hms(2026, 11, 3, 10, 0, 0).unwrap());
    f.guard
        .consume(B, "ai_generations", 300, None)
        .await
        .unwrap();
    f.guard.consume(B, "renders_2d", 20, None).await.unwrap();
    let snap = f.guard.snapshot(B).await.unwrap();
    let cockpit = snap
        .recommendation
        .unwrap()
        .recommended
        .map(|p| p.plan)
        .unwrap();
    let d = f.guard.consume(B, "renders_2d", 1, None).await.unwrap();
    let Verdict::Denied(why) = &d.verdict else {
        panic!("{d:?}")
    };
    assert_eq!(why.suggested_plan.as_deref(), Some(cockpit.as_str()));
    let c = f.guard.check(B, "renders_2d", 1).await.unwrap();
    let Verdict::Denied(why) = &c.verdict else {
        panic!("{c:?}")
    };
    assert_eq!(why.suggested_plan.as_deref(), Some(cockpit.as_str()));
}

#[tokio::test]
async fn a_reset_reads_the_clock_once_and_its_events_read_newest_first() {
    // Every reading of this clock is a microsecond later than the one before.
    let clock = FakeClock::at(nov_25()).ticking(Duration::microseconds(1));
    let f = fixture_on(clock, "starter").await;
    f.guard
        .consume(B, "ai_generations", 300, None)
        .await
        .unwrap();
    let out = f
        .guard
        .apply_reset(&ResetRequest::new(B, "ai_generations", 92).with_topup(25))
        .await
        .unwrap();
    assert_eq!((out.used_after, out.limit_after), (460, 525));
    let timeline = f.guard.timeline(B, 10).await.unwrap();
    let kinds: Vec<&str> = timeline.iter().map(|e| e.kind.name()).collect();
    assert_eq!(
        kinds,
        ["period_reset", "topup_completed", "threshold_crossed"]
    );
    assert_eq!(timeline[0].at, timeline[1].at, "one reading for the reset");
    assert!(timeline[0].seq > timeline[1].seq);
    let topup = out.topup.unwrap();
    assert_eq!(topup.settled_at, Some(timeline[0].at));
    assert_eq!(topup.created_at, timeline[0].at);
    assert!(timeline[2].at < timeline[1].at);
    let later = f.guard.snapshot(B).await.unwrap();
    assert!(later.generated_at > timeline[0].at);
    assert_eq!(later.timeline, timeline);
}

#[tokio::test]
async fn a_refused_reset_changes_nothing() {
    let f = fixture("starter").await;
    f.guard
        .consume(B, "ai_generations", 300, None)
        .await
        .unwrap();
    let before = f.guard.snapshot(B).await.unwrap();
    let err = f
        .guard
        .apply_reset(&ResetRequest::new(B, "ai_generations", 50).with_topup(1_000_000_001))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            QuotaError::QuantityTooLarge {
                quantity: 1_000_000_001,
                max: 1_000_000_000,
                ..
            }
        ),
        "{err}"
    );
    let err = f
        .guard
        .apply_reset(&ResetRequest::new(B, "ai_generations", 1001))
        .await
        .unwrap_err();
    assert!(matches!(err, QuotaError::InvalidArgument(_)), "{err}");
    assert_eq!(f.guard.snapshot(B).await.unwrap(), before);
    let key = CounterKey::new(B, "ai_generations", before.period_key);
    assert_eq!(f.guard.store().usage(key).await.unwrap().used, 300);
}

#[tokio::test]
async fn a_cancelled_top_up_is_not_a_failed_one() {
    let f = fixture("starter").await;
    let t = f.guard.start_topup(B, "ai_generations", 10).await.unwrap();
    let c = f.guard.cancel_topup(&t.id).await.unwrap();
    assert_eq!(c.status, TopUpStatus::Cancelled);
    let err = f.guard.complete_topup(&t.id).await.unwrap_err();
    assert!(
        matches!(
            err,
            QuotaError::TopUpTransition {
                from: TopUpStatus::Cancelled,
                ..
            }
        ),
        "{err}"
    );
    let f2 = f.guard.start_topup(B, "ai_generations", 10).await.unwrap();
    let failed = f.guard.fail_topup(&f2.id).await.unwrap();
    assert_eq!(failed.status, TopUpStatus::Failed);
    let statuses: Vec<TopUpStatus> = f
        .guard
        .topups(B)
        .await
        .unwrap()
        .iter()
        .map(|t| t.status)
        .collect();
    assert_eq!(statuses, [TopUpStatus::Failed, TopUpStatus::Cancelled]);
    assert!(f.clock.now() >= nov_25());
}

#[tokio::test]
async fn a_remote_store_gets_one_call_per_consume_and_one_subscription_read() {
    // A store that is not in-process (the synchronous consume is off): every consume is one
    // `UsageStore::consume` call with the request built once, and the brand's subscription is
    // read once for the cached context.
    let store = Arc::new(FaultyStore::new(MemoryStore::new()));
    store.hang(Op::InProcess);
    let guard = QuotaGuard::builder(Catalog::demo())
        .clock(Arc::new(FakeClock::at(nov_25())))
        .build(Arc::clone(&store));
    guard
        .subscribe(Subscription::new(B, "starter", nov_25()))
        .await
        .unwrap();
    let reads = store.calls(Op::Subscription);
    for n in 1..=10u64 {
        let d = guard.consume(B, "renders_2d", 1, None).await.unwrap();
        assert_eq!(d.used, n);
    }
    assert_eq!(store.calls(Op::Consume), 10);
    assert_eq!(store.calls(Op::ConsumeNow), 0);
    assert_eq!(
        store.calls(Op::Subscription) - reads,
        1,
        "one context load for ten consumes"
    );
}
