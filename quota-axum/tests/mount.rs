//! The routes mounted by an app on its own guard, state and auth.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use axum::body::Body;
use http::{HeaderMap, Request, StatusCode};
use http_body_util::BodyExt;
use quota_axum::auth::{Authenticator, Caller, Secrets};
use quota_axum::{AppConfig, AppState, Problem, api};
use quota_core::{Catalog, MemoryStore, QuotaGuard, Store, Subscription};
use tower::ServiceExt;

/// Trusts the brand an upstream gateway put in a header.
#[derive(Debug)]
struct GatewayAuth;

impl Authenticator for GatewayAuth {
    fn authenticate(&self, headers: &HeaderMap) -> Result<Caller, Problem> {
        match headers.get("x-gateway-brand").and_then(|v| v.to_str().ok()) {
            Some(brand) => Ok(Caller::Brand(brand.to_owned())),
            None => Err(Problem::unauthorized("no gateway identity")),
        }
    }
}

async fn state() -> AppState {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let guard = QuotaGuard::new(Catalog::demo(), store);
    let now = guard.clock().now();
    guard
        .subscribe(Subscription::new("acme", "starter", now))
        .await
        .unwrap();
    let secrets = Secrets::from_config("0123456789abcdef0123456789abcdef", None).unwrap();
    let mut state = AppState::new(guard, AppConfig::new("http://127.0.0.1:1"), secrets).unwrap();
    state.auth = Arc::new(GatewayAuth);
    state
}

async fn summary(app: axum::Router, brand: Option<&str>) -> (StatusCode, serde_json::Value) {
    let mut req = Request::get("/usage-billing/summary?brandId=acme");
    if let Some(b) = brand {
        req = req.header("x-gateway-brand", b);
    }
    let res = app.oneshot(req.body(Body::empty()).unwrap()).await.unwrap();
    let status = res.status();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&bytes).unwrap())
}

#[tokio::test]
async fn the_api_asks_the_plugged_authenticator_who_calls() {
    let app = api(state().await);
    let (status, body) = summary(app.clone(), Some("acme")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["brandId"], "acme");

    let (status, body) = summary(app.clone(), Some("other")).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");

    let (status, body) = summary(app, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["detail"], "no gateway identity");
    assert_eq!(body["type"], "urn:quota-guardian:problem:unauthorized");
}
