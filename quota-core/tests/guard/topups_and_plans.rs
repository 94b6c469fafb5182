//! Top-ups and plan changes: they raise the allowance and resolve the alerts usage is
//! brought back under; an unpaid top-up expires.

use chrono::Duration;
use quota_core::store::CounterKey;
use quota_core::topup::TopUpStatus;
use quota_core::{AlertStore, Clock, QuotaError, Verdict};

use crate::common::{B, fixture, kinds};

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
async fn a_checkout_top_up_is_bounded_by_the_catalog_and_expires_with_its_ttl() {
    let f = fixture("free").await;
    let max = quota_core::domain::DEFAULT_MAX_TOPUP_UNITS;
    let err = f
        .guard
        .start_topup(B, "ai_generations", max + 1)
        .await
        .unwrap_err();
    assert!(
        matches!(err, QuotaError::QuantityTooLarge { max: m, .. } if m == max),
        "{err}"
    );
    assert!(
        f.guard.topups(B).await.unwrap().is_empty(),
        "nothing stored"
    );
    let t = f
        .guard
        .start_topup_expiring(B, "ai_generations", max, Some(Duration::minutes(30)))
        .await
        .unwrap();
    assert_eq!(t.expires_at, f.clock.now() + Duration::minutes(30));
    f.clock.advance(Duration::minutes(30));
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
