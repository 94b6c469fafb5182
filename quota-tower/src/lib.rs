//! Usage Quota Guardian for tower: add one [`QuotaLayer`] and every metered route checks and
//! consumes its brand's quota atomically before the handler runs. Refusals are answered by the
//! layer with RFC 9457 `application/problem+json` bodies, and every answer carries the IETF
//! `RateLimit-Policy` / `RateLimit` headers (draft-ietf-httpapi-ratelimit-headers-11).
//!
//! ```
//! use std::sync::Arc;
//! use axum::{Router, routing::post};
//! use http::{HeaderName, Method};
//! use quota_core::{Catalog, MemoryStore, QuotaGuard, Subscription};
//! use quota_tower::{Cost, ExhaustedStatus, QuotaLayer, RouteTable};
//! use tower::ServiceExt;
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let guard = QuotaGuard::new(Catalog::demo(), Arc::new(MemoryStore::new()));
//! guard.subscribe(Subscription::new("acme", "free", chrono::Utc::now())).await?;
//!
//! let quota = QuotaLayer::new(guard)
//!     // Who pays: a header set by the gateway (or `.brand_from_api_key(..)`, or the
//!     // `Brand` extension an auth layer inserted, the default).
//!     .brand_from_header(HeaderName::from_static("x-brand-id"))
//!     // What it costs, per route; unlisted routes are not metered.
//!     .routes(
//!         RouteTable::new()
//!             .route(Some(Method::POST), "/renders", Cost::one("renders_2d"))
//!             .route(Some(Method::POST), "/designs", Cost::new("ai_generations", 2)),
//!     )
//!     .exhausted_status(ExhaustedStatus::PaymentRequired)
//!     .upgrade_url("https://app.example.com/billing/upgrade")
//!     .refund_on_server_errors();
//!
//! let app: Router = Router::new()
//!     .route("/renders", post(|| async { "rendered" }))
//!     .route("/designs", post(|| async { "designed" }))
//!     .layer(quota);
//!
//! let request = http::Request::post("/renders")
//!     .header("x-brand-id", "acme")
//!     .body(axum::body::Body::empty())?;
//! let response = app.oneshot(request).await?;
//! assert_eq!(response.status(), http::StatusCode::OK);
//! assert!(response.headers().contains_key("ratelimit"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```
//!
//! # Answers
//!
//! | situation | status | notes |
//! |---|---|---|
//! | admitted | inner's | `RateLimit-Policy`, `RateLimit`; on overage also `Quota-Overage-Units`, `Quota-Overage-Charge` |
//! | hard quota exhausted | 429 (or 402) | problem `quota-exceeded` with `brandId`, `metric`, `used`, `limit`, `resetsAt`, `upgradeUrl`/`topupUrl`; `Retry-After` |
//! | burst limit hit | 429 | problem `burst-limit`, `"burst"` RateLimit items, `Retry-After` |
//! | brand not resolved | 401 | problem `unresolved-brand`, `WWW-Authenticate` |
//! | brand without subscription | 403 | problem `unknown-brand` |
//! | bad `Idempotency-Key` | 400 | problem `invalid-request` |
//! | store down or slow | 503 | fail-closed (default); fail-open lets the request through unmetered |
//! | route/metric misconfigured | 500 | problem `configuration`, logged with `tracing::error!` |
//!
//! Counters (the `metrics` crate): `quota_decisions_total{outcome, source="layer"}` with
//! outcomes `allowed`, `overage`, `denied`, `burst`, `unresolved`, `unknown_brand`,
//! `invalid`, `fail_open`, `fail_closed`, `lookup_failed`, `misconfigured`; and
//! `quota_store_errors_total{policy}` with `open` / `closed`.
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![deny(unreachable_pub)]

mod admitted;
mod brand;
mod burst;
mod config;
mod cost;
mod decide;
mod future;
pub mod headers;
mod layer;
mod problem;
mod refund;
mod service;

pub use admitted::QuotaDecision;
pub use brand::{
    ApiKeyBrand, ApiKeyLookup, BoxError, BoxFuture, Brand, BrandResolver, ExtensionBrand,
    HeaderBrand, RequestHead, Resolution,
};
pub use burst::BurstLimit;
pub use config::{
    DEFAULT_PROBLEM_TYPE_BASE, DEFAULT_STORE_TIMEOUT, DEFAULT_WWW_AUTHENTICATE, ExhaustedStatus,
    FailurePolicy,
};
pub use cost::{Cost, Flat, Meter, MetricName, RouteTable};
pub use future::ResponseFuture;
pub use layer::QuotaLayer;
pub use problem::{PROBLEM_JSON, Problem, ProblemKind};
pub use service::QuotaService;

/// The metric names this crate records.
pub mod metric_names {
    /// Counter of decisions, labels `outcome` and `source` (always `layer` here).
    pub const DECISIONS_TOTAL: &str = crate::decide::DECISIONS_TOTAL;
    /// Counter of store failures, label `policy` (`open` / `closed`).
    pub const STORE_ERRORS_TOTAL: &str = crate::decide::STORE_ERRORS_TOTAL;
}
