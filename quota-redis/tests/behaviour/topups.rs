//! The top-up lifecycle.

use crate::*;

on_both_backends!(topup_lifecycle_follows_the_core_rules,);

async fn topup_lifecycle_follows_the_core_rules(s: RedisStore, _: Backend) {
    let b = common::brand("topups");
    let ends = t0() + Duration::days(20);
    let ids: Vec<String> = (0..5).map(|i| format!("{b}-{i}")).collect();
    for (i, id) in ids.iter().enumerate() {
        let t = UsageTopUp::pending(id, &b, "m", 10 + i as u64, P, t0(), ends);
        s.insert_topup(&t).await.unwrap();
    }
    let dup = UsageTopUp::pending(&ids[0], &b, "m", 99, P, t0(), ends);
    let e = s.insert_topup(&dup).await.unwrap_err();
    assert!(matches!(e, StoreError::Conflict(_)), "{e}");
    let same = UsageTopUp::pending(&ids[0], &b, "m", 10, P, t0(), ends);
    let e = s.insert_topup(&same).await.unwrap_err();
    assert!(matches!(e, StoreError::Conflict(_)), "{e}");
    let elsewhere = UsageTopUp::pending(&ids[0], common::brand("x"), "m", 10, P, t0(), ends);
    let e = s.insert_topup(&elsewhere).await.unwrap_err();
    assert!(matches!(e, StoreError::Conflict(_)), "{e}");

    let listed: Vec<String> = s
        .topups(&b)
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.id)
        .collect();
    assert_eq!(
        listed,
        ids.iter().rev().cloned().collect::<Vec<_>>(),
        "newest first"
    );

    let got = s.topup(&ids[1]).await.unwrap().unwrap();
    assert_eq!(
        got,
        UsageTopUp::pending(&ids[1], &b, "m", 11, P, t0(), ends)
    );
    assert!(s.topup("no-such-topup").await.unwrap().is_none());

    let at = t0() + Duration::hours(1);
    let failed = s
        .set_topup_status(&ids[1], TopUpStatus::Failed, at)
        .await
        .unwrap();
    assert!(failed.changed);
    assert_eq!(
        (failed.topup.status, failed.topup.settled_at),
        (TopUpStatus::Failed, Some(at))
    );
    let again = s
        .set_topup_status(&ids[1], TopUpStatus::Failed, t0())
        .await
        .unwrap();
    assert!(!again.changed);
    assert_eq!(
        again.topup.settled_at,
        Some(at),
        "unchanged keeps its settlement time"
    );
    let e = s
        .set_topup_status(&ids[1], TopUpStatus::Completed, at)
        .await
        .unwrap_err();
    assert!(
        matches!(&e, StoreError::Conflict(m) if m.contains("is failed")),
        "{e}"
    );

    let late = s
        .set_topup_status(&ids[2], TopUpStatus::Completed, ends)
        .await
        .unwrap();
    assert_eq!(
        late.topup.status,
        TopUpStatus::Expired,
        "paid after its expiry"
    );
    assert_eq!(
        s.usage(CounterKey::new(&b, "m", P))
            .await
            .unwrap()
            .topup_units,
        0
    );

    let done = s
        .set_topup_status(&ids[3], TopUpStatus::Completed, at)
        .await
        .unwrap();
    assert!(done.changed);
    assert_eq!(done.topup.status, TopUpStatus::Completed);
    assert_eq!(
        s.usage(CounterKey::new(&b, "m", P))
            .await
            .unwrap()
            .topup_units,
        13
    );
    assert_eq!(s.topup(&ids[3]).await.unwrap().unwrap(), done.topup);

    // Cancelled: stored and read as such, final like failed.
    let cancelled = s
        .set_topup_status(&ids[4], TopUpStatus::Cancelled, at)
        .await
        .unwrap();
    assert!(cancelled.changed);
    assert_eq!(cancelled.topup.status, TopUpStatus::Cancelled);
    assert_eq!(s.topup(&ids[4]).await.unwrap().unwrap(), cancelled.topup);
    let again = s
        .set_topup_status(&ids[4], TopUpStatus::Cancelled, t0())
        .await
        .unwrap();
    assert_eq!(
        (again.changed, again.topup),
        (false, cancelled.topup.clone())
    );
    for to in [TopUpStatus::Completed, TopUpStatus::Failed] {
        let e = s.set_topup_status(&ids[4], to, at).await.unwrap_err();
        assert!(
            matches!(&e, StoreError::Conflict(m) if m.contains("is cancelled")),
            "{e}"
        );
    }
    assert_eq!(s.topups(&b).await.unwrap()[0], cancelled.topup);

    let e = s
        .set_topup_status("no-such-topup", TopUpStatus::Completed, at)
        .await
        .unwrap_err();
    assert!(matches!(e, StoreError::NotFound(_)), "{e}");
}
