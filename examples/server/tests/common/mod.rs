//! Test harness: a server in-process on a free loopback port, and a small HTTP client.
#![allow(dead_code)]

pub(crate) mod html;

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use chrono::{TimeZone, Utc};
use quota_core::clock::FakeClock;
use quota_server::{RunningServer, ServeConfig, spawn};
use serde_json::Value;

/// Who calls.
#[derive(Clone, Copy)]
pub(crate) enum Auth<'a> {
    Admin,
    Key(&'a str),
    Bearer(&'a str),
    None,
}

/// A response, read whole.
#[derive(Debug)]
pub(crate) struct Resp {
    pub(crate) status: u16,
    pub(crate) headers: reqwest::header::HeaderMap,
    pub(crate) text: String,
    pub(crate) body: Value,
}

impl Resp {
    pub(crate) fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    }

    /// Asserts a 4xx problem+json answer with a detail, and returns the body.
    pub(crate) fn assert_problem(&self, status: u16) -> &Value {
        assert_eq!(
            self.status, status,
            "unexpected status, body: {}",
            self.text
        );
        assert_eq!(
            self.header("content-type").as_deref(),
            Some("application/problem+json"),
            "not problem+json: {}",
            self.text
        );
        assert_eq!(self.body["status"], status);
        assert!(self.body["type"].as_str().is_some_and(|t| !t.is_empty()));
        assert!(
            self.body["detail"].as_str().is_some_and(|d| d.len() > 5),
            "problem without a clear detail: {}",
            self.text
        );
        &self.body
    }
}

/// The store of one runbook case: its URL, and the database it owns (Postgres), dropped with
/// it. Every case gets a namespace of its own (a fresh Redis key prefix, a fresh Postgres
/// database), so no case sees another's brands, subscriptions, outbox or seed.
pub(crate) struct Backend {
    pub(crate) url: String,
    _db: Option<quota_testkit::pg::TestDb>,
}

/// The in-memory store (each server has its own).
pub(crate) async fn memory(_test: &str) -> Option<Backend> {
    Some(Backend {
        url: "memory".into(),
        _db: None,
    })
}

/// `REDIS_URL` (default `redis://127.0.0.1:6379`) with a key prefix of this case's own;
/// `None` after [`quota_testkit::skip`] when nothing answers there (a failure in CI).
pub(crate) async fn redis(test: &str) -> Option<Backend> {
    let url = quota_testkit::service::url_or_skip(
        test,
        "REDIS_URL",
        "redis://127.0.0.1:6379",
        "run `source scripts/redis-env.sh` to start one",
    )?;
    let sep = if url.contains('?') { '&' } else { '?' };
    Some(Backend {
        url: format!("{url}{sep}prefix={}", unique("t")),
        _db: None,
    })
}

/// The 3-master Redis Cluster of `REDIS_CLUSTER_URLS` (comma-separated node URLs, as exported
/// by `scripts/redis-env.sh`; default 127.0.0.1:7101-7103) with a key prefix of this case's
/// own; `None` after [`quota_testkit::skip`] when a node does not answer (a failure in CI).
pub(crate) async fn redis_cluster(test: &str) -> Option<Backend> {
    let urls = quota_testkit::service::url_or_skip(
        test,
        "REDIS_CLUSTER_URLS",
        "redis://127.0.0.1:7101,redis://127.0.0.1:7102,redis://127.0.0.1:7103",
        "run `source scripts/redis-env.sh` to start one",
    )?;
    let nodes: Vec<&str> = urls
        .split(',')
        .map(|n| n.trim().trim_start_matches("redis://"))
        .filter(|n| !n.is_empty())
        .collect();
    Some(Backend {
        url: format!("redis+cluster://{}?prefix={}", nodes.join(","), unique("t")),
        _db: None,
    })
}

/// A fresh database on the Postgres server of [`quota_testkit::pg::server_url`], dropped
/// after the case; `None` after [`quota_testkit::skip`] when there is no server (a failure
/// in CI).
pub(crate) async fn postgres(test: &str) -> Option<Backend> {
    let db = quota_testkit::pg::TestDb::create_or_skip(test, "runbook").await?;
    Some(Backend {
        url: db.url.clone(),
        _db: Some(db),
    })
}

/// 2026-11-30 12:00 UTC: late in a 30-day period, so projections are easy to reason about.
pub(crate) fn late_november() -> FakeClock {
    FakeClock::at(Utc.with_ymd_and_hms(2026, 11, 30, 12, 0, 0).unwrap())
}

/// A brand id unique in this process and run.
pub(crate) fn unique(prefix: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    let nanos = Utc::now().timestamp_nanos_opt().unwrap_or(0) % 1_000_000_000;
    format!("{prefix}_{}_{n}_{nanos}", std::process::id())
}

pub(crate) struct Harness {
    pub(crate) server: RunningServer,
    pub(crate) http: reqwest::Client,
    pub(crate) base: String,
    pub(crate) admin: String,
    pub(crate) clock: FakeClock,
}

impl Harness {
    pub(crate) async fn start(store: &str) -> Harness {
        Harness::start_with(store, |_| {}).await
    }

    pub(crate) async fn start_with(store: &str, tune: impl FnOnce(&mut ServeConfig)) -> Harness {
        let clock = late_november();
        let mut cfg = ServeConfig::for_tests();
        cfg.store = store.to_owned();
        cfg.clock = Some(Arc::new(clock.clone()));
        // The QA cases pay on the simulated checkout, as `quota serve --dev` does.
        cfg.checkout = quota_server::config::CheckoutMode::Simulated;
        tune(&mut cfg);
        let server = match spawn(cfg).await {
            Ok(s) => s,
            Err(e) => panic!("server does not start on store {store}: {e}"),
        };
        let base = server.base_url();
        let admin = server.admin_token();
        Harness {
            server,
            http: {
                quota_server::install_crypto_provider();
                reqwest::Client::new()
            },
            base,
            admin,
            clock,
        }
    }

    fn auth(&self, rb: reqwest::RequestBuilder, auth: Auth<'_>) -> reqwest::RequestBuilder {
        match auth {
            Auth::Admin => rb.bearer_auth(&self.admin),
            Auth::Key(k) => rb.header("x-api-key", k),
            Auth::Bearer(t) => rb.bearer_auth(t),
            Auth::None => rb,
        }
    }

    pub(crate) async fn send(&self, rb: reqwest::RequestBuilder, auth: Auth<'_>) -> Resp {
        let res = self.auth(rb, auth).send().await.unwrap();
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let text = res.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Resp {
            status,
            headers,
            text,
            body,
        }
    }

    pub(crate) async fn post(&self, path: &str, body: Value, auth: Auth<'_>) -> Resp {
        let rb = self.http.post(format!("{}{path}", self.base)).json(&body);
        self.send(rb, auth).await
    }

    pub(crate) async fn get(&self, path: &str, auth: Auth<'_>) -> Resp {
        let rb = self.http.get(format!("{}{path}", self.base));
        self.send(rb, auth).await
    }

    /// Creates a brand on `plan`; returns its id and public API key.
    pub(crate) async fn brand(&self, plan: &str) -> (String, String) {
        let id = unique("brand");
        let r = self
            .post(
                "/api/v1/brands",
                serde_json::json!({ "brandId": id, "planId": plan }),
                Auth::Admin,
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.text);
        (id, r.body["apiKey"].as_str().unwrap().to_owned())
    }

    pub(crate) async fn summary(&self, brand: &str) -> Value {
        let r = self
            .get(
                &format!("/api/v1/usage-billing/summary?brandId={brand}"),
                Auth::Admin,
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        r.body
    }

    /// The summary's entry for one metric.
    pub(crate) async fn metric(&self, brand: &str, metric: &str) -> Value {
        let s = self.summary(brand).await;
        s["metrics"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["metric"] == metric)
            .cloned()
            .unwrap()
    }

    pub(crate) async fn used(&self, brand: &str, metric: &str) -> u64 {
        self.metric(brand, metric).await["used"].as_u64().unwrap()
    }

    pub(crate) async fn record(&self, brand: &str, metric: &str, quantity: u64) -> Resp {
        self.post(
            "/api/v1/usage-billing/record",
            serde_json::json!({ "brandId": brand, "metric": metric, "quantity": quantity }),
            Auth::Admin,
        )
        .await
    }

    pub(crate) async fn metrics_text(&self) -> String {
        self.get("/metrics", Auth::None).await.text
    }
}

/// The value of one sample line of the Prometheus text.
pub(crate) fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.trim().parse().ok())
}
