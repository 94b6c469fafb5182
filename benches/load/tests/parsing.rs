#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]
//! Configuration, thresholds, pacing and classification, without a server.

use std::collections::HashMap;
use std::time::Duration;

use quota_load::stats::Outcome;
use quota_load::threshold::Stat;
use quota_load::{Pace, Scenario, Stats, Step, Target, Threshold, parse_duration};
use reqwest::StatusCode;

fn vars(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    move |name| map.get(name).cloned()
}

#[test]
fn base_url_gives_the_root_and_the_api_under_it() {
    let t = Target::from_vars(vars(&[
        ("BASE_URL", "http://localhost:3333/"),
        ("API_TOKEN", "jwt"),
        ("PUBLIC_API_KEY", "pk_1"),
    ]))
    .unwrap();
    assert_eq!(
        t.root_url("/designs").unwrap().as_str(),
        "http://localhost:3333/designs"
    );
    assert_eq!(
        t.api_url("/usage-billing/record").unwrap().as_str(),
        "http://localhost:3333/api/v1/usage-billing/record"
    );
    assert_eq!(t.brand, "brand_dashboard");
    assert_eq!(t.token, "jwt");
    assert_eq!(t.public_key.as_deref(), Some("pk_1"));
    assert_eq!(t.frontend, "http://localhost:3333");
}

#[test]
fn api_base_gives_the_root_without_api_v1_and_auth_token_stands_for_api_token() {
    let t = Target::from_vars(vars(&[
        ("API_BASE", "http://127.0.0.1:4000/api/v1"),
        ("AUTH_TOKEN", "jwt2"),
        ("BRAND_ID", "brand_x"),
        ("FRONTEND_URL", "http://localhost:5173/"),
    ]))
    .unwrap();
    assert_eq!(t.root.as_str(), "http://127.0.0.1:4000/");
    assert_eq!(t.api.as_str(), "http://127.0.0.1:4000/api/v1");
    assert_eq!(t.token, "jwt2");
    assert_eq!(t.brand, "brand_x");
    assert_eq!(t.frontend, "http://localhost:5173");
    assert_eq!(t.public_key, None);
}

#[test]
fn a_missing_token_is_refused_with_the_variable_to_set() {
    let e = Target::from_vars(vars(&[("BASE_URL", "http://localhost:3333")])).unwrap_err();
    assert!(e.0.contains("API_TOKEN"), "{e}");
}

#[test]
fn https_and_garbage_urls_are_refused() {
    for bad in ["https://localhost:3333", "not a url", "ftp://127.0.0.1"] {
        let e = Target::from_vars(vars(&[("BASE_URL", bad), ("API_TOKEN", "t")]));
        assert!(e.is_err(), "{bad} was accepted");
    }
}

#[test]
fn a_remote_server_is_refused_unless_allowed() {
    for host in [
        "http://10.0.0.1:3333",
        "http://example.com",
        "http://[2001:db8::1]:80",
    ] {
        let t = Target::from_vars(vars(&[("BASE_URL", host), ("API_TOKEN", "t")])).unwrap();
        let e = t.check_loopback(false).unwrap_err();
        assert!(e.0.contains("--allow-remote"), "{e}");
        assert!(t.check_loopback(true).is_ok());
    }
    for host in [
        "http://localhost:1",
        "http://127.0.0.1:1",
        "http://127.9.9.9",
        "http://[::1]:3333",
    ] {
        let t = Target::from_vars(vars(&[("BASE_URL", host), ("API_TOKEN", "t")])).unwrap();
        assert!(t.check_loopback(false).is_ok(), "{host} refused");
    }
}

#[test]
fn thresholds_parse_in_k6_style() {
    let t: Threshold = "quota_summary_latency:p(90)<400".parse().unwrap();
    assert_eq!(t.metric, "quota_summary_latency");
    assert_eq!(t.stat, Stat::Quantile(0.9));
    assert!(!t.inclusive);
    assert!((t.bound - 400.0).abs() < f64::EPSILON);
    let t: Threshold = "quota_summary_latency:p99<=10ms".parse().unwrap();
    assert_eq!(t.stat, Stat::Quantile(0.99));
    assert!(t.inclusive);
    let t: Threshold = "http_req_failed:rate<0.02".parse().unwrap();
    assert_eq!(t.stat, Stat::Rate);
    assert_eq!(t.to_string(), "http_req_failed:rate<0.02");
    for bad in [
        "nothing",
        ":p90<1",
        "x:p90>1",
        "x:p(0)<1",
        "x:p(101)<1",
        "x:median<1",
        "x:p90<abc",
        "x:p90<-1",
        "x:rate<0.1",
        "http_req_failed:p90<1",
    ] {
        assert!(bad.parse::<Threshold>().is_err(), "{bad} parsed");
    }
}

#[test]
fn a_failure_rate_at_the_bound_breaks_the_threshold_and_denials_are_not_failures() {
    let mut s = Stats::default();
    for _ in 0..98 {
        s.record(
            "quota_summary_latency",
            Duration::from_millis(3),
            Outcome::Ok,
        );
    }
    s.record(
        "render_queue_latency",
        Duration::from_millis(1),
        Outcome::Denied,
    );
    s.record(
        "render_queue_latency",
        Duration::from_millis(1),
        Outcome::Denied,
    );
    let rate: Threshold = "http_req_failed:rate<0.02".parse().unwrap();
    assert!(rate.check(&s).passed);
    assert_eq!(s.denied, 2);
    s.record(
        "render_queue_latency",
        Duration::from_millis(1),
        Outcome::Failed("status 500".into()),
    );
    s.record(
        "render_queue_latency",
        Duration::from_millis(1),
        Outcome::Failed("status 500".into()),
    );
    // 2 of 102 is below 2 %; one more makes 3 of 103, above.
    assert!(rate.check(&s).passed);
    s.record(
        "render_queue_latency",
        Duration::from_millis(1),
        Outcome::Failed("timeout".into()),
    );
    let v = rate.check(&s);
    assert!(!v.passed, "{v}");
    assert_eq!(s.failed, 3);
    assert_eq!(s.requests, 103);
    assert_eq!(s.reasons.get("render_queue_latency: status 500"), Some(&2));
}

#[test]
fn latency_thresholds_read_the_named_histogram_and_a_metric_without_samples_breaks() {
    let mut s = Stats::default();
    for ms in 1..=100 {
        s.record(
            "quota_summary_latency",
            Duration::from_millis(ms),
            Outcome::Ok,
        );
    }
    let p90: Threshold = "quota_summary_latency:p(90)<91".parse().unwrap();
    let v = p90.check(&s);
    assert!(v.passed, "{v}");
    let p90: Threshold = "quota_summary_latency:p(90)<89".parse().unwrap();
    assert!(!p90.check(&s).passed);
    let none: Threshold = "design_queue_latency:p(90)<400".parse().unwrap();
    let v = none.check(&s);
    assert!(!v.passed);
    assert_eq!(v.actual, None);
    let all: Threshold = "http_req_duration:count<=100".parse().unwrap();
    assert!(all.check(&s).passed);
    let empty = Stats::default();
    let rate: Threshold = "http_req_failed:rate<0.02".parse().unwrap();
    assert!(
        !rate.check(&empty).passed,
        "a run with no request must not pass"
    );
}

#[test]
fn only_a_429_of_a_metered_step_is_an_expected_denial() {
    assert_eq!(Step::Render.classify(StatusCode::ACCEPTED), Outcome::Ok);
    assert_eq!(
        Step::Render.classify(StatusCode::TOO_MANY_REQUESTS),
        Outcome::Denied
    );
    assert_eq!(
        Step::Record.classify(StatusCode::TOO_MANY_REQUESTS),
        Outcome::Denied
    );
    assert_eq!(
        Step::Summary.classify(StatusCode::TOO_MANY_REQUESTS),
        Outcome::Failed("status 429".into())
    );
    assert_eq!(
        Step::Checkout.classify(StatusCode::OK),
        Outcome::Failed("status 200".into())
    );
    assert_eq!(Step::ShareCreate.classify(StatusCode::CREATED), Outcome::Ok);
    assert_eq!(
        Step::Design.classify(StatusCode::INTERNAL_SERVER_ERROR),
        Outcome::Failed("status 500".into())
    );
}

#[test]
fn the_scenarios_cycle_through_their_steps() {
    let s = Scenario::UsageQuotaGuardian;
    let seen: Vec<Step> = (0..8).map(|i| s.step(i)).collect();
    assert_eq!(
        seen,
        [
            Step::Summary,
            Step::Design,
            Step::Render,
            Step::Record,
            Step::Summary,
            Step::Design,
            Step::Render,
            Step::Record
        ]
    );
    assert_eq!(Scenario::QuotaShareTopup.step(4), Step::SharePage);
    assert_eq!(Scenario::UsageQuotaGuardian.default_thresholds().len(), 2);
    assert_eq!(Scenario::QuotaShareTopup.default_thresholds().len(), 1);
}

#[test]
fn a_run_is_bounded_by_its_duration_and_its_count() {
    let pace = Pace {
        rate: 500.0,
        duration: Duration::from_secs(60),
        max_requests: 100_000,
        max_in_flight: 256,
    };
    pace.validate().unwrap();
    let slots = (0..100_000u64)
        .take_while(|i| pace.offset(*i).is_some())
        .count();
    assert_eq!(slots, 30_000);
    assert_eq!(pace.offset(1), Some(Duration::from_millis(2)));
    for bad in [
        Pace { rate: 0.0, ..pace },
        Pace {
            rate: f64::NAN,
            ..pace
        },
        Pace { rate: 1e9, ..pace },
        Pace {
            duration: Duration::ZERO,
            ..pace
        },
        Pace {
            duration: Duration::from_secs(7200),
            ..pace
        },
        Pace {
            max_requests: 0,
            ..pace
        },
        Pace {
            max_in_flight: 0,
            ..pace
        },
    ] {
        assert!(bad.validate().is_err(), "{bad:?} accepted");
    }
}

#[test]
fn durations_parse_with_units() {
    assert_eq!(parse_duration("5s").unwrap(), Duration::from_secs(5));
    assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
    assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
    assert_eq!(parse_duration("7").unwrap(), Duration::from_secs(7));
    for bad in ["", "s", "5h", "-1s", "1e999s"] {
        assert!(parse_duration(bad).is_err(), "{bad:?} parsed");
    }
}
