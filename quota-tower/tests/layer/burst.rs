//! The per-brand burst limit, on the guard's clock.

use super::*;
use quota_core::clock::FakeClock;

#[tokio::test]
async fn the_burst_limit_answers_429_with_its_own_policy_item() {
    let (guard, _) = guard().await;
    let calls = Calls::default();
    let app = app(&calls)
        .layer(layer(guard.clone()).burst(NonZeroU32::new(2).unwrap(), Duration::from_secs(60)));
    let res = send(&app, request("POST", "/renders", Some(BRAND))).await;
    assert_eq!(res.status(), StatusCode::OK);
    let policy = sf_list(&res.headers()["ratelimit-policy"]);
    assert_eq!(
        policy,
        vec![
            (
                "quota".to_owned(),
                params(&[("q", 20), ("w", NOVEMBER_SECS)])
            ),
            ("burst".to_owned(), params(&[("q", 2), ("w", 60)])),
        ]
    );
    let state = sf_list(&res.headers()["ratelimit"]);
    assert_eq!(state[1].0, "burst");
    assert_eq!(state[1].1["r"], 1);
    assert_eq!(
        send(&app, request("POST", "/renders", Some(BRAND)))
            .await
            .status(),
        StatusCode::OK
    );

    let res = send(&app, request("POST", "/renders", Some(BRAND))).await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    // The guard's clock stands still: the wait is exactly one cell (60 s / 2).
    let retry: i64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(retry, 30, "one cell refills in 30 s");
    assert_eq!(
        sf_list(&res.headers()["ratelimit-policy"]),
        vec![("burst".to_owned(), params(&[("q", 2), ("w", 60)]))]
    );
    let state = sf_list(&res.headers()["ratelimit"]);
    assert_eq!(
        state,
        vec![("burst".to_owned(), params(&[("r", 0), ("t", retry)]))]
    );
    let p = problem(res).await;
    assert_eq!(p["type"], "urn:quota-guardian:problem:burst-limit");
    assert_eq!(p["status"], 429);

    assert_eq!(calls.get(), 2);
    assert_eq!(
        used(&guard, "renders_2d").await,
        2,
        "a burst refusal burns no quota"
    );
    // Another brand has its own bucket.
    guard
        .subscribe(quota_core::Subscription::new("globex", "free", now()))
        .await
        .unwrap();
    assert_eq!(
        send(&app, request("POST", "/renders", Some("globex")))
            .await
            .status(),
        StatusCode::OK
    );
}

/// The burst limiter reads the guard's clock: moving a `FakeClock` refills the bucket, one
/// cell per `window / max`, with no sleep.
#[tokio::test]
async fn the_burst_refills_as_the_guards_clock_moves() {
    let clock = FakeClock::at(now());
    let (guard, _) = guard_on(clock.clone()).await;
    let calls = Calls::default();
    let app = app(&calls)
        .layer(layer(guard.clone()).burst(NonZeroU32::new(2).unwrap(), Duration::from_secs(60)));
    let status = || async {
        send(&app, request("POST", "/renders", Some(BRAND)))
            .await
            .status()
    };
    assert_eq!(status().await, StatusCode::OK);
    assert_eq!(status().await, StatusCode::OK);
    assert_eq!(status().await, StatusCode::TOO_MANY_REQUESTS);

    clock.advance(chrono::Duration::seconds(29));
    let res = send(&app, request("POST", "/renders", Some(BRAND))).await;
    assert_eq!(
        res.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "one cell takes 30 s"
    );
    assert_eq!(res.headers()["retry-after"], "1");

    clock.advance(chrono::Duration::seconds(1));
    assert_eq!(status().await, StatusCode::OK, "one cell refilled");
    assert_eq!(status().await, StatusCode::TOO_MANY_REQUESTS);

    clock.advance(chrono::Duration::seconds(60));
    assert_eq!(
        status().await,
        StatusCode::OK,
        "a full window refills the burst"
    );
    assert_eq!(status().await, StatusCode::OK);
    assert_eq!(status().await, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(calls.get(), 5);
    assert_eq!(
        used(&guard, "renders_2d").await,
        5,
        "burst refusals burn no quota"
    );
}
