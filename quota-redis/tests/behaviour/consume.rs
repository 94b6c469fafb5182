//! Consumes: ceilings, top-ups, idempotency keys, the domain bound, overage, releases and gauges.

use crate::*;

on_both_backends!(
    admits_up_to_the_ceiling_and_denies_the_unit_past_it,
    completed_topups_raise_the_allowance_exactly_once,
    a_replay_returns_the_first_outcome_and_adds_nothing,
    a_reused_key_changes_nothing_and_keeps_its_first_request,
    a_key_in_the_four_field_form_replays_without_overage,
    a_denied_consume_does_not_burn_its_idempotency_key,
    idempotency_keys_expire_after_their_ttl,
    totals_at_the_domain_bound_stay_exact,
    overage_units_follow_consumes_releases_and_resets,
    release_saturates_and_gives_back_from_the_day_bucket,
    gauges_refuse_increases_past_the_ceiling_and_saturate_at_zero,
);

async fn admits_up_to_the_ceiling_and_denies_the_unit_past_it(s: RedisStore, _: Backend) {
    let b = common::brand("ceiling");
    let first = s.consume(&req(&b, "m", 7, Some(10), None)).await.unwrap();
    assert_eq!(first, plain(true, 7, 0));
    let second = s.consume(&req(&b, "m", 3, Some(10), None)).await.unwrap();
    assert_eq!(second, plain(true, 10, 0));
    let third = s.consume(&req(&b, "m", 1, Some(10), None)).await.unwrap();
    assert_eq!(
        third,
        plain(false, 10, 0),
        "a denial reports the current usage"
    );
    let zero = s.consume(&req(&b, "m", 0, Some(10), None)).await.unwrap();
    assert_eq!(zero, plain(true, 10, 0));
    let u = s.usage(CounterKey::new(&b, "m", P)).await.unwrap();
    assert_eq!(u, Usage::new(10, 0, 0));
    let days = s.daily_usage(CounterKey::new(&b, "m", P)).await.unwrap();
    let mut want = vec![0; 10];
    want[9] = 10;
    assert_eq!(days, want);
    let other = s.usage(CounterKey::new(&b, "m", P2)).await.unwrap();
    assert_eq!(other, Usage::default(), "periods are isolated");
    let unbounded = s
        .consume(&req(&b, "n", 1_000_000, None, None))
        .await
        .unwrap();
    assert_eq!(unbounded, plain(true, 1_000_000, 0));
}

async fn completed_topups_raise_the_allowance_exactly_once(s: RedisStore, _: Backend) {
    let b = common::brand("topup-allowance");
    let out = s.consume(&req(&b, "m", 10, Some(10), None)).await.unwrap();
    assert_eq!(out, plain(true, 10, 0));
    let out = s.consume(&req(&b, "m", 1, Some(10), None)).await.unwrap();
    assert_eq!(out, plain(false, 10, 0));
    let id = format!("{b}-t1");
    let t = UsageTopUp::pending(&id, &b, "m", 5, P, t0(), t0() + Duration::days(20));
    s.insert_topup(&t).await.unwrap();
    let tr = s
        .set_topup_status(&id, TopUpStatus::Completed, t0())
        .await
        .unwrap();
    assert!(tr.changed);
    let again = s
        .set_topup_status(&id, TopUpStatus::Completed, t0())
        .await
        .unwrap();
    assert!(!again.changed, "a webhook delivered twice completes once");
    assert_eq!(again.topup, tr.topup);
    let out = s.consume(&req(&b, "m", 5, Some(10), None)).await.unwrap();
    assert_eq!(out, plain(true, 15, 5));
    let out = s.consume(&req(&b, "m", 1, Some(10), None)).await.unwrap();
    assert_eq!(out, plain(false, 15, 5));
}

async fn a_replay_returns_the_first_outcome_and_adds_nothing(s: RedisStore, _: Backend) {
    let b = common::brand("replay");
    let first = s
        .consume(&req(&b, "m", 4, Some(10), Some("k1")))
        .await
        .unwrap();
    assert_eq!(first, plain(true, 4, 0));
    s.consume(&req(&b, "m", 1, Some(10), None)).await.unwrap();
    let replay = s
        .consume(&req(&b, "m", 4, Some(10), Some("k1")))
        .await
        .unwrap();
    assert_eq!(
        replay,
        first.as_replay(),
        "the first outcome, not the current usage"
    );
    assert_eq!(s.usage(CounterKey::new(&b, "m", P)).await.unwrap().used, 5);
    // keys are scoped per brand
    let other = common::brand("replay-other");
    let fresh = s
        .consume(&req(&other, "m", 4, Some(10), Some("k1")))
        .await
        .unwrap();
    assert_eq!(fresh, plain(true, 4, 0));
}

async fn a_reused_key_changes_nothing_and_keeps_its_first_request(s: RedisStore, _: Backend) {
    let b = common::brand("reuse");
    let key = CounterKey::new(&b, "m", P);
    let mut first = req(&b, "m", 8, None, Some("k"));
    first.free_units = Some(5);
    first.fingerprint = fingerprint("m", 8, "POST /a");
    let out = s.consume(&first).await.unwrap();
    assert_eq!(out, ConsumeOutcome::new(true, 8, 0, 3, 3));
    let days = s.daily_usage(key).await.unwrap();

    // The same key for another request, whatever the counter's state: refused, nothing
    // changes, and the key still belongs to the first request.
    let mut other = first;
    other.fingerprint = fingerprint("m", 8, "POST /b");
    for _ in 0..3 {
        assert_eq!(
            s.consume(&other).await.unwrap(),
            ConsumeOutcome::key_reused()
        );
    }
    let mut other_metric = req(&b, "n", 8, None, Some("k"));
    other_metric.fingerprint = fingerprint("n", 8, "POST /a");
    assert_eq!(
        s.consume(&other_metric).await.unwrap(),
        ConsumeOutcome::key_reused()
    );
    assert_eq!(s.usage(key).await.unwrap(), Usage::new(8, 0, 3));
    assert_eq!(s.daily_usage(key).await.unwrap(), days);
    assert_eq!(
        s.usage(CounterKey::new(&b, "n", P)).await.unwrap(),
        Usage::default()
    );
    // The largest fingerprint a key may carry (below 2^63) is kept exactly.
    let mut top = req(&b, "m", 1, None, Some("top"));
    top.fingerprint = (1 << 63) - 1;
    let fresh = ConsumeOutcome::new(true, 9, 0, 3, 0);
    assert_eq!(s.consume(&top).await.unwrap(), fresh);
    assert_eq!(s.consume(&top).await.unwrap(), fresh.as_replay());
    top.fingerprint -= 1;
    assert_eq!(s.consume(&top).await.unwrap(), ConsumeOutcome::key_reused());

    assert_eq!(s.consume(&first).await.unwrap(), out.as_replay());
    assert_eq!(s.usage(key).await.unwrap(), Usage::new(9, 0, 3));
}

async fn a_key_in_the_four_field_form_replays_without_overage(_: RedisStore, backend: Backend) {
    let opts = common::options().set_key_prefix("q4f");
    let Some(s) = common::store_with(backend, opts).await else {
        return;
    };
    let b = common::brand("four-field");
    let deadline = (t0() + Duration::hours(1)).timestamp_micros();
    let mut raw = raw::connect(backend).await;
    let _: () = raw
        .set_ex(
            format!("q4f:{{{b}}}:i:old"),
            format!("5:3:2:{deadline}"),
            3600,
        )
        .await
        .unwrap();
    let replay = s
        .consume(&req(&b, "m", 3, None, Some("old")))
        .await
        .unwrap();
    assert_eq!(replay, plain(true, 8, 2).as_replay());
    assert_eq!(
        s.usage(CounterKey::new(&b, "m", P)).await.unwrap(),
        Usage::default(),
        "a replay adds nothing"
    );
    // Past its deadline the key is a new one.
    let mut late = req(&b, "m", 3, None, Some("old"));
    late.at_us = deadline;
    assert_eq!(s.consume(&late).await.unwrap(), plain(true, 3, 0));
}

async fn a_denied_consume_does_not_burn_its_idempotency_key(s: RedisStore, _: Backend) {
    let b = common::brand("burn");
    s.consume(&req(&b, "m", 9, Some(10), None)).await.unwrap();
    let denied = s
        .consume(&req(&b, "m", 5, Some(10), Some("k")))
        .await
        .unwrap();
    assert_eq!(denied, plain(false, 9, 0));
    s.release(CounterKey::new(&b, "m", P), 9, 9).await.unwrap();
    let later = s
        .consume(&req(&b, "m", 5, Some(10), Some("k")))
        .await
        .unwrap();
    assert_eq!(later, plain(true, 5, 0));
}

async fn idempotency_keys_expire_after_their_ttl(_: RedisStore, backend: Backend) {
    let opts = common::options().set_idempotency_ttl(std::time::Duration::from_secs(3600));
    let Some(s) = common::store_with(backend, opts).await else {
        return;
    };
    let b = common::brand("ttl");
    let first = s.consume(&req(&b, "m", 1, None, Some("k"))).await.unwrap();
    assert_eq!(first, plain(true, 1, 0));
    let mut within = req(&b, "m", 1, None, Some("k"));
    within.at_us = (t0() + Duration::minutes(59)).timestamp_micros();
    assert_eq!(s.consume(&within).await.unwrap(), first.as_replay());
    let mut after = req(&b, "m", 1, None, Some("k"));
    after.at_us = (t0() + Duration::minutes(60)).timestamp_micros();
    assert_eq!(s.consume(&after).await.unwrap(), plain(true, 2, 0));
}

async fn totals_at_the_domain_bound_stay_exact(s: RedisStore, _: Backend) {
    let b = common::brand("bound");
    let k = CounterKey::new(&b, "m", P);
    let out = s
        .consume(&req(&b, "m", MAX_UNITS - 1, Some(u64::MAX), None))
        .await
        .unwrap();
    assert_eq!(out, plain(true, MAX_UNITS - 1, 0));
    for (quantity, ceiling) in [
        (2, None),
        (2, Some(u64::MAX)),
        (u64::MAX, None),
        (u64::MAX, Some(u64::MAX)),
        (MAX_UNITS + 1, Some(u64::MAX)),
        (1, Some(MAX_UNITS - 2)),
    ] {
        let out = s
            .consume(&req(&b, "m", quantity, ceiling, None))
            .await
            .unwrap();
        assert_eq!(
            out,
            plain(false, MAX_UNITS - 1, 0),
            "{quantity} {ceiling:?}"
        );
    }
    let out = s.consume(&req(&b, "m", 1, None, None)).await.unwrap();
    assert_eq!(
        out,
        plain(true, MAX_UNITS, 0),
        "the domain's last unit fits"
    );
    assert_eq!(s.daily_usage(k).await.unwrap()[9], MAX_UNITS);
    // Free units past the domain: nothing is overage.
    let back = s.release(k, 1, 9).await.unwrap();
    assert_eq!(back, Usage::new(MAX_UNITS - 1, 0, 0));
    let mut r = req(&b, "m", 1, None, None);
    r.free_units = Some(u64::MAX);
    assert_eq!(s.consume(&r).await.unwrap(), plain(true, MAX_UNITS, 0));
    // Free units of zero at the bound: all of it is overage; a release past the usage
    // gives back everything.
    let back = s.release(k, u64::MAX, 9).await.unwrap();
    assert_eq!(back, Usage::default());
    r.free_units = Some(0);
    r.quantity = MAX_UNITS;
    assert_eq!(
        s.consume(&r).await.unwrap(),
        ConsumeOutcome::new(true, MAX_UNITS, 0, MAX_UNITS, MAX_UNITS)
    );
    assert_eq!(
        s.release(k, MAX_UNITS - 3, 9).await.unwrap(),
        Usage::new(3, 0, 3)
    );
    assert_eq!(s.daily_usage(k).await.unwrap()[9], 3);

    // Top-up units never pass the domain either: refused, the top-up stays pending.
    let t = format!("{b}-t");
    let ends = t0() + Duration::days(20);
    s.insert_topup(&UsageTopUp::pending(&t, &b, "m", MAX_UNITS, P, t0(), ends))
        .await
        .unwrap();
    s.set_topup_status(&t, TopUpStatus::Completed, t0())
        .await
        .unwrap();
    let more = format!("{b}-t2");
    s.insert_topup(&UsageTopUp::pending(&more, &b, "m", 1, P, t0(), ends))
        .await
        .unwrap();
    let e = s
        .set_topup_status(&more, TopUpStatus::Completed, t0())
        .await
        .unwrap_err();
    assert!(matches!(e, StoreError::OutOfRange(_)), "{e}");
    assert_eq!(
        s.topup(&more).await.unwrap().unwrap().status,
        TopUpStatus::Pending
    );
    assert_eq!(s.usage(k).await.unwrap(), Usage::new(3, MAX_UNITS, 3));
    let huge = format!("{b}-t3");
    let other = CounterKey::new(&b, "n", P);
    s.insert_topup(&UsageTopUp::pending(
        &huge,
        &b,
        "n",
        u64::MAX,
        P,
        t0(),
        ends,
    ))
    .await
    .unwrap();
    let e = s
        .set_topup_status(&huge, TopUpStatus::Completed, t0())
        .await
        .unwrap_err();
    assert!(matches!(e, StoreError::OutOfRange(_)), "{e}");
    assert_eq!(s.usage(other).await.unwrap(), Usage::default());

    // Gauges: the bound is a ceiling of its own; a set above it is out of range.
    let g = s.adjust_gauge(&b, "g", i64::MAX, None).await.unwrap();
    assert_eq!(
        g,
        GaugeOutcome {
            admitted: false,
            level: 0
        }
    );
    let g = s
        .adjust_gauge(&b, "g", MAX_UNITS as i64, Some(u64::MAX))
        .await
        .unwrap();
    assert_eq!(
        g,
        GaugeOutcome {
            admitted: true,
            level: MAX_UNITS
        }
    );
    let g = s.adjust_gauge(&b, "g", 1, Some(u64::MAX)).await.unwrap();
    assert_eq!(
        g,
        GaugeOutcome {
            admitted: false,
            level: MAX_UNITS
        }
    );
    let g = s.adjust_gauge(&b, "g", 0, None).await.unwrap();
    assert_eq!(
        g,
        GaugeOutcome {
            admitted: true,
            level: MAX_UNITS
        }
    );
    let g = s.adjust_gauge(&b, "g", -3, None).await.unwrap();
    assert_eq!(
        g,
        GaugeOutcome {
            admitted: true,
            level: MAX_UNITS - 3
        }
    );
    let g = s.adjust_gauge(&b, "g", i64::MIN, None).await.unwrap();
    assert_eq!(
        g,
        GaugeOutcome {
            admitted: true,
            level: 0
        }
    );
    assert_eq!(s.set_gauge(&b, "g", MAX_UNITS).await.unwrap(), 0);
    let e = s.set_gauge(&b, "g", MAX_UNITS + 1).await.unwrap_err();
    assert!(matches!(e, StoreError::OutOfRange(_)), "{e}");
    let e = s.set_gauge(&b, "g", u64::MAX).await.unwrap_err();
    assert!(matches!(e, StoreError::OutOfRange(_)), "{e}");
    assert_eq!(s.gauge(&b, "g").await.unwrap(), MAX_UNITS);
}

async fn overage_units_follow_consumes_releases_and_resets(s: RedisStore, _: Backend) {
    let b = common::brand("overage");
    let k = CounterKey::new(&b, "m", P);
    let consume = |quantity: u64, key: Option<&'static str>| {
        let mut r = req(&b, "m", quantity, Some(100), key);
        r.free_units = Some(10);
        r
    };
    let out = s.consume(&consume(12, Some("a"))).await.unwrap();
    assert_eq!(
        out,
        ConsumeOutcome::new(true, 12, 0, 2, 2),
        "crossing the free units"
    );
    let out2 = s.consume(&consume(4, Some("b"))).await.unwrap();
    assert_eq!(out2, ConsumeOutcome::new(true, 16, 0, 6, 4), "past them");
    // Replays carry the numbers of their time.
    assert_eq!(
        s.consume(&consume(12, Some("a"))).await.unwrap(),
        out.as_replay()
    );
    assert_eq!(
        s.consume(&consume(4, Some("b"))).await.unwrap(),
        out2.as_replay()
    );
    // A denial counts nothing.
    let denied = s.consume(&consume(85, None)).await.unwrap();
    assert_eq!(denied, ConsumeOutcome::new(false, 16, 0, 6, 0));
    // Without free units nothing is billed, whatever the usage.
    let free = s.consume(&req(&b, "m", 4, None, None)).await.unwrap();
    assert_eq!(free, ConsumeOutcome::new(true, 20, 0, 6, 0));
    assert_eq!(s.release(k, 2, 9).await.unwrap(), Usage::new(18, 0, 4));
    s.claim_alert(k, 80).await.unwrap();
    s.reset_period(&b, Some("m"), P).await.unwrap();
    assert_eq!(s.usage(k).await.unwrap(), Usage::default());
    let again = s.consume(&consume(11, None)).await.unwrap();
    assert_eq!(again, ConsumeOutcome::new(true, 11, 0, 1, 1));
}

async fn release_saturates_and_gives_back_from_the_day_bucket(s: RedisStore, _: Backend) {
    let b = common::brand("release");
    let k = CounterKey::new(&b, "m", P);
    let mut r = req(&b, "m", 5, None, None);
    r.day = 2;
    s.consume(&r).await.unwrap();
    r.day = 4;
    s.consume(&r).await.unwrap();
    assert_eq!(s.daily_usage(k).await.unwrap(), vec![0, 0, 5, 0, 5]);
    let u = s.release(k, 3, 4).await.unwrap();
    assert_eq!(u, Usage::new(7, 0, 0));
    assert_eq!(s.daily_usage(k).await.unwrap(), vec![0, 0, 5, 0, 2]);
    let u = s.release(k, 100, 2).await.unwrap();
    assert_eq!(u, Usage::new(0, 0, 0));
    assert_eq!(
        s.daily_usage(k).await.unwrap(),
        vec![0, 0, 0, 0, 2],
        "only the given day's bucket gives back"
    );
    assert!(
        s.daily_usage(CounterKey::new(&b, "none", P))
            .await
            .unwrap()
            .is_empty()
    );
}

async fn gauges_refuse_increases_past_the_ceiling_and_saturate_at_zero(s: RedisStore, _: Backend) {
    let b = common::brand("gauge");
    let g = s.adjust_gauge(&b, "seats", 3, Some(5)).await.unwrap();
    assert_eq!((g.admitted, g.level), (true, 3));
    let g = s.adjust_gauge(&b, "seats", 3, Some(5)).await.unwrap();
    assert_eq!((g.admitted, g.level), (false, 3));
    let g = s.adjust_gauge(&b, "seats", -10, Some(5)).await.unwrap();
    assert_eq!((g.admitted, g.level), (true, 0));
    assert_eq!(s.set_gauge(&b, "seats", 9).await.unwrap(), 0);
    assert_eq!(s.set_gauge(&b, "seats", 4).await.unwrap(), 9);
    let g = s.adjust_gauge(&b, "seats", 0, Some(3)).await.unwrap();
    assert_eq!(
        (g.admitted, g.level),
        (false, 4),
        "already past the ceiling"
    );
    assert_eq!(s.gauge(&b, "seats").await.unwrap(), 4);
    assert_eq!(s.gauge(&b, "other").await.unwrap(), 0);
    s.reset_period(&b, None, P).await.unwrap();
    assert_eq!(s.gauge(&b, "seats").await.unwrap(), 4, "gauges never reset");
}
