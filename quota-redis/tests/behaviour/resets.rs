//! Period and counter resets.

use crate::*;

on_both_backends!(
    reset_period_clears_usage_days_and_claims_only,
    reset_counter_refused_leaves_no_trace_and_a_retry_conflicts,
);

async fn reset_period_clears_usage_days_and_claims_only(s: RedisStore, _: Backend) {
    let b = common::brand("reset");
    let other = common::brand("reset-other");
    for brand in [&b, &other] {
        let mut r = req(brand, "m", 5, None, None);
        r.free_units = Some(3);
        s.consume(&r).await.unwrap();
        s.consume(&req(brand, "n", 2, None, None)).await.unwrap();
        let mut next = req(brand, "m", 3, None, None);
        next.key.period = P2;
        s.consume(&next).await.unwrap();
        s.claim_alert(CounterKey::new(brand, "m", P), 50)
            .await
            .unwrap();
        s.claim_alert(CounterKey::new(brand, "x", P), 75)
            .await
            .unwrap();
    }
    let id = format!("{b}-t");
    s.insert_topup(&UsageTopUp::pending(
        &id,
        &b,
        "m",
        4,
        P,
        t0(),
        t0() + Duration::days(20),
    ))
    .await
    .unwrap();
    s.set_topup_status(&id, TopUpStatus::Completed, t0())
        .await
        .unwrap();
    let seq = s.append_event(&event(&b, 1)).await.unwrap();

    // one metric only
    s.reset_period(&b, Some("n"), P).await.unwrap();
    assert_eq!(
        s.usage(CounterKey::new(&b, "n", P)).await.unwrap(),
        Usage::default()
    );
    assert_eq!(
        s.usage(CounterKey::new(&b, "m", P)).await.unwrap(),
        Usage::new(5, 4, 2)
    );
    assert_eq!(
        s.claimed_alerts(CounterKey::new(&b, "m", P)).await.unwrap(),
        vec![50]
    );
    s.reset_period(&b, Some("x"), P).await.unwrap();
    assert!(
        s.claimed_alerts(CounterKey::new(&b, "x", P))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        s.claimed_alerts(CounterKey::new(&b, "m", P)).await.unwrap(),
        vec![50]
    );

    s.reset_period(&b, None, P).await.unwrap();
    assert_eq!(
        s.usage(CounterKey::new(&b, "m", P)).await.unwrap(),
        Usage::new(0, 4, 0),
        "top-ups stay; usage and overage go"
    );
    assert_eq!(
        s.usage(CounterKey::new(&b, "n", P)).await.unwrap(),
        Usage::default()
    );
    assert!(
        s.daily_usage(CounterKey::new(&b, "m", P))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        s.claimed_alerts(CounterKey::new(&b, "m", P))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        s.claimed_alerts(CounterKey::new(&b, "x", P))
            .await
            .unwrap()
            .is_empty()
    );
    let mut next = CounterKey::new(&b, "m", P);
    next.period = P2;
    assert_eq!(
        s.usage(next).await.unwrap(),
        Usage::new(3, 0, 0),
        "other periods stay"
    );
    assert_eq!(
        s.usage(CounterKey::new(&other, "m", P)).await.unwrap(),
        Usage::new(5, 0, 2)
    );
    assert_eq!(
        s.claimed_alerts(CounterKey::new(&other, "m", P))
            .await
            .unwrap(),
        vec![50]
    );
    assert_eq!(
        s.events(&b, 10).await.unwrap(),
        vec![event(&b, 1).with_seq(seq)],
        "the timeline stays"
    );
    assert_eq!(s.topups(&b).await.unwrap().len(), 1);
    // counting starts again, and a claim can fire again
    assert_eq!(
        s.consume(&req(&b, "m", 2, None, None)).await.unwrap(),
        plain(true, 2, 4)
    );
    assert!(
        s.claim_alert(CounterKey::new(&b, "m", P), 50)
            .await
            .unwrap()
    );
}

async fn reset_counter_refused_leaves_no_trace_and_a_retry_conflicts(s: RedisStore, _: Backend) {
    let b = common::brand("rc");
    let k = CounterKey::new(&b, "m", P);
    let ends = t0() + Duration::days(20);
    s.consume(&req(&b, "m", 6, None, None)).await.unwrap();
    let full = format!("{b}-full");
    s.insert_topup(&UsageTopUp::pending(
        &full,
        &b,
        "m",
        MAX_UNITS - 1,
        P,
        t0(),
        ends,
    ))
    .await
    .unwrap();
    s.set_topup_status(&full, TopUpStatus::Completed, t0())
        .await
        .unwrap();
    let before = s.usage(k).await.unwrap();
    assert_eq!(before, Usage::new(6, MAX_UNITS - 1, 0));

    // Its units would pass the domain: refused, and the id stays free.
    let id = format!("{b}-new");
    let mut t = UsageTopUp::pending(&id, &b, "m", 2, P, t0(), ends);
    t.status = TopUpStatus::Completed;
    t.settled_at = Some(t0());
    let events = [event(&b, 1)];
    let reset = CounterReset::new(k, 1, 0, ends)
        .with_topup(&t)
        .with_events(&events);
    let e = s.reset_counter(&reset).await.unwrap_err();
    assert!(matches!(e, StoreError::OutOfRange(_)), "{e}");
    assert_eq!(s.usage(k).await.unwrap(), before);
    assert!(s.topup(&id).await.unwrap().is_none());
    assert!(s.events(&b, 10).await.unwrap().is_empty());
    let e = s
        .reset_counter(&CounterReset::new(k, MAX_UNITS + 1, 0, ends))
        .await
        .unwrap_err();
    assert!(matches!(e, StoreError::OutOfRange(_)), "{e}");
    assert_eq!(s.usage(k).await.unwrap(), before);

    // Elsewhere (another brand) the same id is taken only once it is inserted.
    let c = common::brand("rc-other");
    let kc = CounterKey::new(&c, "m", P);
    let mut tc = t.clone();
    tc.brand.clone_from(&c);
    let events = [event(&c, 1)];
    let done = s
        .reset_counter(
            &CounterReset::new(kc, 1, 0, ends)
                .with_topup(&tc)
                .with_events(&events),
        )
        .await
        .unwrap();
    assert_eq!(done, Usage::new(1, 2, 0));
    assert_eq!(s.topup(&id).await.unwrap(), Some(tc.clone()));
    let seq = s.events(&c, 10).await.unwrap()[0].seq;
    // A retry of the same reset conflicts and changes nothing; the top-up stays findable.
    s.consume(&req(&c, "m", 3, None, None)).await.unwrap();
    let e = s
        .reset_counter(
            &CounterReset::new(kc, 1, 0, ends)
                .with_topup(&tc)
                .with_events(&events),
        )
        .await
        .unwrap_err();
    assert!(matches!(e, StoreError::Conflict(_)), "{e}");
    assert_eq!(s.topup(&id).await.unwrap(), Some(tc.clone()));
    assert_eq!(s.usage(kc).await.unwrap(), Usage::new(4, 2, 0));
    assert_eq!(
        s.events(&c, 10).await.unwrap(),
        vec![event(&c, 1).with_seq(seq)]
    );
    // And the first brand cannot take that id any more.
    let e = s.reset_counter(&reset).await.unwrap_err();
    assert!(matches!(e, StoreError::Conflict(_)), "{e}");
    // A top-up of another brand does not join this counter.
    let e = s
        .reset_counter(&CounterReset::new(k, 0, 0, ends).with_topup(&tc))
        .await
        .unwrap_err();
    assert!(matches!(e, StoreError::Backend { .. }), "{e}");
    assert_eq!(s.usage(k).await.unwrap(), before);
}
