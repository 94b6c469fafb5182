//! `/readyz` over real HTTP on a store that fails on demand (quota-testkit's `FaultyStore`):
//! 200 while the store answers, 503 problem+json while it does not, 200 again once it heals;
//! `/healthz` answers throughout.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use std::sync::Arc;

use quota_axum::auth::Secrets;
use quota_axum::{AppConfig, AppState, router};
use quota_core::{Catalog, MemoryStore, QuotaGuard, Store};
use quota_testkit::{FaultyStore, Op, Ops};
use serde_json::Value;
use utoipa_axum::router::OpenApiRouter;

#[tokio::test]
async fn readyz_follows_the_store_and_healthz_does_not() {
    let store = Arc::new(FaultyStore::new(MemoryStore::new()));
    let guard = QuotaGuard::new(Catalog::demo(), Arc::clone(&store) as Arc<dyn Store>);
    let secrets = Secrets::from_config("0123456789abcdef0123456789abcdef", None).unwrap();
    let state = AppState::new(guard, AppConfig::new("http://127.0.0.1:1"), secrets).unwrap();
    let app = router(state, OpenApiRouter::new());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    // reqwest is built with rustls without a default provider: the test, as an application,
    // installs one.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = reqwest::Client::new();
    let get = |path: &str| http.get(format!("{base}{path}")).send();

    let r = get("/readyz").await.unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["status"], "ready");
    assert_eq!(body["store"], "memory");
    assert!(body["storeAnsweredInMs"].is_u64(), "{body}");

    store.fail(Op::Ping);
    let r = get("/readyz").await.unwrap();
    assert_eq!(r.status(), 503);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    assert_eq!(r.headers()["retry-after"], "5");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["status"], 503);
    assert_eq!(body["type"], "urn:quota-guardian:problem:store-unavailable");
    assert!(
        body["detail"].as_str().unwrap().contains("memory store"),
        "{body}"
    );
    assert_eq!(get("/healthz").await.unwrap().status(), 200);

    store.heal(Ops::ALL);
    assert_eq!(get("/readyz").await.unwrap().status(), 200);
    server.abort();
}
