//! Fixtures shared by the integration tests: a store that can go down, a fixed clock, a
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
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use axum::Router;
use axum::body::Body;
use axum::routing::{get, post};
use chrono::{DateTime, TimeZone, Utc};
use http::{HeaderValue, Request, Response, StatusCode};
use http_body_util::BodyExt;
use quota_core::period::PeriodKey;
use quota_core::store::{
    AlertStore, ConsumeOutcome, ConsumeRequest, CounterKey, CounterReset, GaugeOutcome,
    StoreResult, SubscriptionStore, TopUpStore, Usage, UsageStore,
};
use quota_core::topup::TopUpTransition;
use quota_core::{
    Catalog, FakeClock, MemoryStore, QuotaGuard, StoreError, Subscription, TimelineEvent,
    TopUpStatus, UsageTopUp,
};
use tower::ServiceExt;

/// 2026-11-10T00:00:00Z: 21 days before the calendar period (November) ends.
pub fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 10, 0, 0, 0).unwrap()
}
pub const NOVEMBER_SECS: i64 = 30 * 24 * 3600;
pub const TO_RESET_SECS: i64 = 21 * 24 * 3600;
pub const BRAND: &str = "acme";

const UP: u8 = 0;
const DOWN: u8 = 1;
const SLOW: u8 = 2;

/// MemoryStore whose usage calls can fail (`Unavailable`) or hang.
pub struct FlakyStore {
    inner: MemoryStore,
    mode: AtomicU8,
}

impl Default for FlakyStore {
    fn default() -> Self {
        // Not `MemoryStore::default()`: its idempotency TTL is zero (keys are forgotten at
        // once), unlike `MemoryStore::new()` (24 h).
        FlakyStore {
            inner: MemoryStore::new(),
            mode: AtomicU8::new(UP),
        }
    }
}

impl FlakyStore {
    pub fn go_down(&self) {
        self.mode.store(DOWN, Ordering::SeqCst);
    }
    pub fn go_slow(&self) {
        self.mode.store(SLOW, Ordering::SeqCst);
    }
    async fn gate(&self) -> StoreResult<()> {
        match self.mode.load(Ordering::SeqCst) {
            DOWN => Err(StoreError::Unavailable {
                message: "connection refused (test)".into(),
                source: None,
            }),
            SLOW => {
                tokio::time::sleep(Duration::from_secs(3600)).await;
                Ok(())
            }
            _ => Ok(()),
        }
    }
}

// `try_consume` keeps its default (`None`) so every consume goes through the gate.
#[async_trait]
impl UsageStore for FlakyStore {
    async fn consume(&self, req: &ConsumeRequest<'_>) -> StoreResult<ConsumeOutcome> {
        self.gate().await?;
        self.inner.consume(req).await
    }
    async fn release(&self, key: CounterKey<'_>, quantity: u64, day: u16) -> StoreResult<Usage> {
        self.gate().await?;
        self.inner.release(key, quantity, day).await
    }
    async fn usage(&self, key: CounterKey<'_>) -> StoreResult<Usage> {
        self.gate().await?;
        self.inner.usage(key).await
    }
    async fn daily_usage(&self, key: CounterKey<'_>) -> StoreResult<Vec<u64>> {
        self.inner.daily_usage(key).await
    }
    async fn adjust_gauge(
        &self,
        brand: &str,
        metric: &str,
        delta: i64,
        ceiling: Option<u64>,
    ) -> StoreResult<GaugeOutcome> {
        self.gate().await?;
        self.inner.adjust_gauge(brand, metric, delta, ceiling).await
    }
    async fn set_gauge(&self, brand: &str, metric: &str, level: u64) -> StoreResult<u64> {
        self.inner.set_gauge(brand, metric, level).await
    }
    async fn gauge(&self, brand: &str, metric: &str) -> StoreResult<u64> {
        self.gate().await?;
        self.inner.gauge(brand, metric).await
    }
    async fn reset_period(
        &self,
        brand: &str,
        metric: Option<&str>,
        period: PeriodKey,
    ) -> StoreResult<()> {
        self.inner.reset_period(brand, metric, period).await
    }
    async fn reset_counter(&self, reset: &CounterReset<'_>) -> StoreResult<Usage> {
        self.gate().await?;
        self.inner.reset_counter(reset).await
    }
}

#[async_trait]
impl TopUpStore for FlakyStore {
    async fn insert_topup(&self, topup: &UsageTopUp) -> StoreResult<()> {
        self.inner.insert_topup(topup).await
    }
    async fn topup(&self, id: &str) -> StoreResult<Option<UsageTopUp>> {
        self.inner.topup(id).await
    }
    async fn set_topup_status(
        &self,
        id: &str,
        to: TopUpStatus,
        at: DateTime<Utc>,
    ) -> StoreResult<TopUpTransition> {
        self.inner.set_topup_status(id, to, at).await
    }
    async fn topups(&self, brand: &str) -> StoreResult<Vec<UsageTopUp>> {
        self.inner.topups(brand).await
    }
    async fn recent_topups(&self, brand: &str, limit: usize) -> StoreResult<Vec<UsageTopUp>> {
        self.inner.recent_topups(brand, limit).await
    }
}

#[async_trait]
impl AlertStore for FlakyStore {
    async fn claim_alert(&self, key: CounterKey<'_>, threshold: u16) -> StoreResult<bool> {
        self.inner.claim_alert(key, threshold).await
    }
    async fn release_alert(&self, key: CounterKey<'_>, threshold: u16) -> StoreResult<bool> {
        self.inner.release_alert(key, threshold).await
    }
    async fn claimed_alerts(&self, key: CounterKey<'_>) -> StoreResult<Vec<u16>> {
        self.inner.claimed_alerts(key).await
    }
    async fn append_event(&self, event: &TimelineEvent) -> StoreResult<u64> {
        self.inner.append_event(event).await
    }
    async fn events(&self, brand: &str, limit: usize) -> StoreResult<Vec<TimelineEvent>> {
        self.inner.events(brand, limit).await
    }
}

#[async_trait]
impl SubscriptionStore for FlakyStore {
    async fn put_subscription(&self, sub: &Subscription) -> StoreResult<()> {
        self.inner.put_subscription(sub).await
    }
    async fn subscription(&self, brand: &str) -> StoreResult<Option<Subscription>> {
        self.inner.subscription(brand).await
    }
    async fn subscriptions(&self) -> StoreResult<Vec<Subscription>> {
        self.inner.subscriptions().await
    }
}

/// A guard on the demo catalog at [`now`], with `acme` on the free plan
/// (renders_2d: 20 hard; ai_generations: 100 then 0.10 EUR each; team_members: 1 seat).
pub async fn guard() -> (QuotaGuard<FlakyStore>, Arc<FlakyStore>) {
    guard_on(FakeClock::at(now())).await
}

/// [`guard`] on `clock` (keep a clone to move time).
pub async fn guard_on(clock: FakeClock) -> (QuotaGuard<FlakyStore>, Arc<FlakyStore>) {
    let store = Arc::new(FlakyStore::default());
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
pub async fn used(guard: &QuotaGuard<FlakyStore>, metric: &str) -> u64 {
    guard.check(BRAND, metric, 0).await.unwrap().used
}
