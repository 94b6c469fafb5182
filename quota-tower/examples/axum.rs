//! An axum service behind `QuotaLayer`: public API keys resolve to brands, two routes
//! consume quota, one only checks it, and a failing route gets its units refunded.
//!
//! ```text
//! cargo run -p quota-tower --example axum
//! curl -i -X POST -H 'x-api-key: pk_demo_acme' http://127.0.0.1:3000/renders   # 200 + RateLimit
//! for i in $(seq 25); do curl -s -o /dev/null -w '%{http_code}\n' -X POST \
//!     -H 'x-api-key: pk_demo_acme' http://127.0.0.1:3000/renders; done         # 20 x 200, then 429
//! curl -i -X POST http://127.0.0.1:3000/renders                                # 401 problem+json
//! ```
//!
//! Set `QUOTA_EXAMPLE_ADDR` to listen elsewhere (loopback only: this is a demo).
#![allow(clippy::expect_used)]

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::{Method, StatusCode};
use axum::routing::{get, post};
use quota_core::{Catalog, MemoryStore, QuotaGuard, Subscription};
use quota_tower::{Brand, Cost, QuotaLayer, RouteTable};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let guard = QuotaGuard::new(Catalog::demo(), Arc::new(MemoryStore::new()));
    guard
        .subscribe(Subscription::new("acme", "free", chrono::Utc::now()))
        .await?;

    let keys = HashMap::from([("pk_demo_acme".to_owned(), Brand::from_static("acme"))]);
    let quota = QuotaLayer::new(guard)
        .brand_from_api_key(keys)
        .routes(
            RouteTable::new()
                .route(Some(Method::POST), "/renders", Cost::one("renders_2d"))
                .route(
                    Some(Method::POST),
                    "/designs",
                    Cost::new("ai_generations", 5),
                )
                .route(
                    Some(Method::GET),
                    "/renders/quota",
                    Cost::new("renders_2d", 0),
                )
                .route(Some(Method::POST), "/flaky", Cost::one("renders_2d")),
        )
        .upgrade_url("https://billing.example/upgrade")
        .refund_on_server_errors()
        .burst(
            NonZeroU32::new(10).expect("non-zero"),
            Duration::from_secs(1),
        );

    let app = Router::new()
        .route("/renders", post(|| async { "rendered\n" }))
        .route("/designs", post(|| async { "designed\n" }))
        .route(
            "/renders/quota",
            get(|| async { "see the RateLimit header\n" }),
        )
        .route(
            "/flaky",
            post(|| async { (StatusCode::BAD_GATEWAY, "upstream failed, unit refunded\n") }),
        )
        .route("/healthz", get(|| async { "ok\n" }))
        .layer(quota);

    let addr = std::env::var("QUOTA_EXAMPLE_ADDR").unwrap_or_else(|_| "127.0.0.1:3000".into());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("listening on http://{addr} (API key: pk_demo_acme)");
    axum::serve(listener, app).await?;
    Ok(())
}
