//! Fixtures shared by the integration tests: a store that can fail or hang, a fixed clock, a
//! brand on the free plan, an axum app behind the layer, and an RFC 9651 list reader.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    dead_code,
    unreachable_pub
)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::body::Body;
use axum::routing::{get, post};
use chrono::{DateTime, TimeZone, Utc};
use http::{HeaderValue, Request, Response, StatusCode};
use http_body_util::BodyExt;
use quota_core::clock::FakeClock;
use quota_core::{Catalog, MemoryStore, QuotaGuard, Subscription};
use quota_testkit::FaultyStore;
use tower::ServiceExt;

/// 2026-11-10T00:00:00Z: 21 days before the calendar period (November) ends.
pub fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 10, 0, 0, 0).unwrap()
}
pub const NOVEMBER_SECS: i64 = 30 * 24 * 3600;
pub const TO_RESET_SECS: i64 = 21 * 24 * 3600;
pub const BRAND: &str = "acme";

/// The store of the tests: `MemoryStore` behind a `FaultyStore`, so a test can take it down
/// (`store.fail(Ops::ALL)`) or make it hang (`store.hang(Ops::ALL)`).
pub type TestStore = FaultyStore<MemoryStore>;

/// A guard on the demo catalog at [`now`], with `acme` on the free plan
/// (renders_2d: 20 hard; ai_generations: 100 then 0.10 EUR each; team_members: 1 seat).
pub async fn guard() -> (QuotaGuard<TestStore>, Arc<TestStore>) {
    guard_on(FakeClock::at(now())).await
}

/// [`guard`] on `clock` (keep a clone to move time).
pub async fn guard_on(clock: FakeClock) -> (QuotaGuard<TestStore>, Arc<TestStore>) {
    let store = Arc::new(FaultyStore::new(MemoryStore::new()));
    let guard = QuotaGuard::builder(Catalog::demo())
        .clock(Arc::new(clock))
        .build(Arc::clone(&store));
    guard
        .subscribe(Subscription::new(BRAND, "free", now()))
        .await
        .unwrap();
    (guard, store)
}

/// Counts handler calls.
#[derive(Clone, Default)]
pub struct Calls(pub Arc<AtomicUsize>);

impl Calls {
    pub fn get(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

/// Routes: `POST /renders` (200), `POST /designs` (200), `GET /quota` (200),
/// `POST /seats` (201), `POST /fail` (500), `GET /health` (200). Each counts its calls.
pub fn app(calls: &Calls) -> Router {
    let c = |calls: &Calls, status: StatusCode, body: &'static str| {
        let calls = calls.clone();
        move || {
            let calls = calls.clone();
            async move {
                calls.0.fetch_add(1, Ordering::SeqCst);
                (status, body)
            }
        }
    };
    Router::new()
        .route("/renders", post(c(calls, StatusCode::OK, "rendered")))
        .route("/designs", post(c(calls, StatusCode::OK, "designed")))
        .route("/quota", get(c(calls, StatusCode::OK, "quota")))
        .route("/seats", post(c(calls, StatusCode::CREATED, "seat")))
        .route(
            "/fail",
            post(c(calls, StatusCode::INTERNAL_SERVER_ERROR, "boom")),
        )
        .route("/health", get(c(calls, StatusCode::OK, "ok")))
}

pub fn request(method: &str, path: &str, brand: Option<&str>) -> Request<Body> {
    let mut b = Request::builder().method(method).uri(path);
    if let Some(brand) = brand {
        b = b.header("x-brand-id", brand);
    }
    b.body(Body::empty()).unwrap()
}

pub async fn send(app: &Router, req: Request<Body>) -> Response<Body> {
    app.clone().oneshot(req).await.unwrap()
}

pub async fn body_text(res: Response<Body>) -> String {
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    String::from_utf8(bytes.to_vec()).unwrap()
}

pub async fn problem(res: Response<Body>) -> serde_json::Value {
    assert_eq!(
        res.headers()["content-type"],
        "application/problem+json",
        "refusals are RFC 9457 problem documents"
    );
    let text = body_text(res).await;
    serde_json::from_str(&text).unwrap()
}

/// Parses a header as an RFC 9651 List of Items whose bare items are sf-strings and whose
/// parameters are integers: `[(name, {param: value})]`.
pub fn sf_list(value: &HeaderValue) -> Vec<(String, BTreeMap<String, i64>)> {
    let list: sfv::List = sfv::Parser::new(value.as_bytes())
        .parse()
        .unwrap_or_else(|e| panic!("{value:?} is not an RFC 9651 list: {e}"));
    list.into_iter()
        .map(|entry| match entry {
            sfv::ListEntry::Item(item) => {
                let name = item
                    .bare_item
                    .as_string()
                    .unwrap_or_else(|| panic!("policy name in {value:?} is not an sf-string"))
                    .as_str()
                    .to_owned();
                let params = item
                    .params
                    .iter()
                    .map(|(k, v)| {
                        let n = v.as_integer().unwrap_or_else(|| {
                            panic!("parameter {k:?} of {value:?} is not an integer")
                        });
                        (k.as_str().to_owned(), i64::from(n))
                    })
                    .collect();
                (name, params)
            }
            sfv::ListEntry::InnerList(_) => panic!("{value:?} holds an inner list"),
        })
        .collect()
}

pub fn params(pairs: &[(&str, i64)]) -> BTreeMap<String, i64> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect()
}

/// Current usage of a counter, read without side effect.
pub async fn used(guard: &QuotaGuard<TestStore>, metric: &str) -> u64 {
    guard.check(BRAND, metric, 0).await.unwrap().used
}
