//! Period resets and the support reset of a counter (all or nothing).

use std::sync::Arc;

use quota_core::report::{EventKind, TimelineEvent};
use quota_core::store::{CounterKey, CounterReset, Usage};
use quota_core::threshold::Severity;
use quota_core::topup::TopUpStatus;
use quota_core::{Store, StoreError};

use super::{topup, used};
use crate::conformance::{NEXT_PERIOD, PERIOD, now, period_end, request, unique_brand};

/// Resetting one brand's period (all metrics, or one) clears its usage, buckets and claims,
/// and nothing else.
pub async fn reset_leaves_others_alone(store: Arc<dyn Store>) {
    let a = unique_brand("reset-a");
    let b = unique_brand("reset-b");
    for brand in [&a, &b] {
        store
            .consume(&request(brand, "m", 6, None, None))
            .await
            .unwrap();
        store
            .consume(&request(brand, "n", 2, None, None))
            .await
            .unwrap();
        store
            .claim_alert(CounterKey::new(brand, "m", PERIOD), 50)
            .await
            .unwrap();
    }
    let mut next = request(&a, "m", 3, None, None);
    next.key.period = NEXT_PERIOD;
    store.consume(&next).await.unwrap();
    let t = format!("{a}-t");
    store.insert_topup(&topup(&t, &a, 4)).await.unwrap();
    store
        .set_topup_status(&t, TopUpStatus::Completed, now())
        .await
        .unwrap();
    store.set_gauge(&a, "seats", 2).await.unwrap();

    let c = unique_brand("reset-c");
    store
        .consume(&request(&c, "m", 6, None, None))
        .await
        .unwrap();
    store
        .consume(&request(&c, "n", 2, None, None))
        .await
        .unwrap();
    store
        .claim_alert(CounterKey::new(&c, "m", PERIOD), 50)
        .await
        .unwrap();
    store
        .claim_alert(CounterKey::new(&c, "n", PERIOD), 50)
        .await
        .unwrap();
    store.reset_period(&c, Some("m"), PERIOD).await.unwrap();
    assert_eq!(used(&store, &c, "m", PERIOD).await, 0);
    assert!(
        store
            .claimed_alerts(CounterKey::new(&c, "m", PERIOD))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        used(&store, &c, "n", PERIOD).await,
        2,
        "a metric reset leaves the other metrics alone"
    );
    assert_eq!(
        store
            .claimed_alerts(CounterKey::new(&c, "n", PERIOD))
            .await
            .unwrap(),
        vec![50]
    );

    store.reset_period(&a, None, PERIOD).await.unwrap();

    let ka = CounterKey::new(&a, "m", PERIOD);
    let usage = store.usage(ka).await.unwrap();
    assert_eq!(usage.used, 0);
    assert_eq!(usage.topup_units, 4, "top-ups stay");
    assert_eq!(used(&store, &a, "n", PERIOD).await, 0);
    assert!(store.daily_usage(ka).await.unwrap().iter().all(|d| *d == 0));
    assert!(store.claimed_alerts(ka).await.unwrap().is_empty());
    assert_eq!(used(&store, &a, "m", NEXT_PERIOD).await, 3);
    assert_eq!(
        store.gauge(&a, "seats").await.unwrap(),
        2,
        "gauges do not reset"
    );
    let kb = CounterKey::new(&b, "m", PERIOD);
    assert_eq!(store.usage(kb).await.unwrap().used, 6);
    assert_eq!(store.claimed_alerts(kb).await.unwrap(), vec![50]);
    let out = store
        .consume(&request(&a, "m", 1, Some(1), None))
        .await
        .unwrap();
    assert!(out.admitted, "usage starts again from zero after a reset");
}

/// The support reset of a counter is all or nothing: a reset that fails at its last step (a
/// top-up id that exists already) changes nothing; one that succeeds clears the counter,
/// writes the usage point, adds the completed top-up and appends the events in order.
pub async fn reset_counter_is_all_or_nothing(store: Arc<dyn Store>) {
    let brand = unique_brand("rc");
    let key = CounterKey::new(&brand, "m", PERIOD);
    let mut r = request(&brand, "m", 30, None, None);
    r.free_units = Some(20);
    store.consume(&r).await.unwrap();
    store
        .consume(&request(&brand, "n", 4, None, None))
        .await
        .unwrap();
    store.claim_alert(key, 90).await.unwrap();
    let old = format!("{brand}-old");
    store.insert_topup(&topup(&old, &brand, 5)).await.unwrap();
    store
        .set_topup_status(&old, TopUpStatus::Completed, now())
        .await
        .unwrap();
    let before_events = store.events(&brand, 10).await.unwrap();
    let before_topups = store.topups(&brand).await.unwrap();
    let before = store.usage(key).await.unwrap();
    assert_eq!(before, Usage::new(30, 5, 10));

    let reset_event = TimelineEvent::new(
        &brand,
        now(),
        PERIOD,
        Some("m".into()),
        Severity::Info,
        EventKind::PeriodReset {
            reason: "test".into(),
            level: None,
        },
    );
    // The injected failure: the top-up id exists, so the last write cannot happen.
    let mut clash = topup(&old, &brand, 9);
    clash.status = TopUpStatus::Completed;
    let events = [reset_event.clone()];
    let failed = store
        .reset_counter(
            &CounterReset::new(key, 12, 3, period_end())
                .with_topup(&clash)
                .with_events(&events),
        )
        .await
        .unwrap_err();
    assert!(matches!(failed, StoreError::Conflict(_)), "{failed}");
    assert_eq!(store.usage(key).await.unwrap(), before, "nothing changed");
    assert_eq!(store.daily_usage(key).await.unwrap()[24], 30);
    assert_eq!(store.claimed_alerts(key).await.unwrap(), vec![90]);
    assert_eq!(store.events(&brand, 10).await.unwrap(), before_events);
    assert_eq!(store.topups(&brand).await.unwrap(), before_topups);

    let mut fresh = topup(&format!("{brand}-new"), &brand, 9);
    fresh.status = TopUpStatus::Completed;
    fresh.settled_at = Some(now());
    let done = TimelineEvent::new(
        &brand,
        now(),
        PERIOD,
        Some("m".into()),
        Severity::Info,
        EventKind::TopUpCompleted {
            topup_id: fresh.id.clone(),
            units: 9,
        },
    );
    let events = [done.clone(), reset_event.clone()];
    let after = store
        .reset_counter(
            &CounterReset::new(key, 12, 3, period_end())
                .with_topup(&fresh)
                .with_events(&events),
        )
        .await
        .unwrap();
    assert_eq!(after, Usage::new(12, 14, 0));
    assert_eq!(store.usage(key).await.unwrap(), after);
    let days = store.daily_usage(key).await.unwrap();
    assert_eq!(days[3], 12);
    assert_eq!(days.iter().sum::<u64>(), 12, "the old buckets are gone");
    assert!(store.claimed_alerts(key).await.unwrap().is_empty());
    assert_eq!(store.topup(&fresh.id).await.unwrap(), Some(fresh.clone()));
    assert_eq!(store.topups(&brand).await.unwrap()[0].id, fresh.id);
    let got = store.events(&brand, 2).await.unwrap();
    assert_eq!(got.len(), 2);
    assert_eq!(
        (&got[0].kind, &got[1].kind),
        (&reset_event.kind, &done.kind),
        "appended in order: the reset reads newest"
    );
    assert!(got[0].seq > got[1].seq);
    assert_eq!(
        used(&store, &brand, "n", PERIOD).await,
        4,
        "other metrics stay"
    );
    let out = store
        .consume(&request(&brand, "m", 9, Some(7), None))
        .await
        .unwrap();
    assert!(out.admitted, "12 + 9 fits a ceiling of 7 + 14 top-up units");
    assert_eq!(out.used, 21);
    // Without a top-up or events, and at zero: the counter is simply cleared.
    let cleared = store
        .reset_counter(&CounterReset::new(key, 0, 0, period_end()))
        .await
        .unwrap();
    assert_eq!(cleared, Usage::new(0, 14, 0));
}
