//! Usage Quota Guardian for axum: the `/usage-billing/*` JSON API (record, check-quota,
//! summary, plans, reset, brands, share links, top-ups and the Stripe webhook) with its
//! OpenAPI document generated from the handlers and their types, the
//! cockpit pages (French and English, server-rendered, no external resource) and the
//! operator routes (`/healthz`, `/metrics`), over one [`AppState`] that holds the
//! [`quota_core::QuotaGuard`], the auth secrets and the deployment settings. Every error is an
//! RFC 9457 problem ([`Problem`]).
//!
//! Mount the parts an app wants: [`api()`] under a prefix, [`cockpit`] at the root, or
//! [`router`] for everything the `quota` server serves.
//!
//! ```
//! use std::sync::Arc;
//! use axum::body::Body;
//! use http::{Request, StatusCode};
//! use quota_axum::auth::Secrets;
//! use quota_axum::{AppConfig, AppState, api, cockpit};
//! use quota_core::{Catalog, MemoryStore, QuotaGuard, Store};
//! use tower::ServiceExt;
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
//! let guard = QuotaGuard::new(Catalog::demo(), store);
//! let secrets = Secrets::from_config("a secret of at least 32 characters!", None)?;
//! let state = AppState::new(guard, AppConfig::new("https://quota.example.com"), secrets)?;
//! let token = state.secrets.admin_token(3600)?;
//! let app = axum::Router::new()
//!     .nest("/api/v1", api(state.clone()))
//!     .merge(cockpit(state));
//!
//! let req = Request::get("/api/v1/usage-billing/plans")
//!     .header("authorization", format!("Bearer {token}"))
//!     .body(Body::empty())?;
//! assert_eq!(app.oneshot(req).await?.status(), StatusCode::OK);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```
#![forbid(unsafe_code)]
// Handlers answer `Result<_, Problem>`, axum's idiom; a problem is built on the refusal path
// only, where its size costs nothing worth boxing for.
#![allow(clippy::result_large_err)]

pub mod api;
pub mod auth;
pub mod config;
pub mod devclock;
pub mod extract;
pub mod guarded;
pub mod metrics;
pub mod pages;
pub mod payments;
pub mod problem;
pub mod reset;
pub mod session;
pub mod share;
pub mod state;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware;
use utoipa_axum::router::OpenApiRouter;

pub use config::AppConfig;

/// Why an [`AppState`] could not be set up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SetupError {
    /// The system gave no randomness for a generated secret.
    #[error("no randomness for a generated secret: {0}")]
    Random(String),
    /// The share-link issuer refused its settings (e.g. a public URL that is not http(s)).
    #[error("share links: {0}")]
    Share(String),
    /// The Prometheus recorder could not be installed.
    #[error("metrics: {0}")]
    Metrics(String),
    /// The payment settings are refused (e.g. a public URL redirects cannot be checked on).
    #[error("payments: {0}")]
    Payments(String),
}
pub use problem::Problem;
pub use state::AppState;

/// The JSON API routes (to nest under a prefix such as `/api/v1`), with the body limit of
/// [`AppConfig::body_limit`] and problem answers for unknown routes and methods.
pub fn api(state: AppState) -> Router {
    let body_limit = state.config.body_limit;
    api::routes()
        .fallback(api::not_found)
        .method_not_allowed_fallback(api::method_not_allowed)
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(middleware::from_fn(problem::problem_errors))
        .with_state(state)
}

/// The pages: the cockpit (`/analytics`), login, monitoring, plans, the share page and the
/// simulated checkout.
pub fn cockpit(state: AppState) -> Router {
    let body_limit = state.config.body_limit;
    pages::routes()
        .merge(api::checkout_routes())
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(middleware::from_fn(problem::problem_errors))
        .with_state(state)
}

/// Everything: the API under `/api/v1`, the pages, `/healthz`, `/metrics`, plus `extra`
/// routes on the same state (the `quota` server's public demo routes), served at the root
/// and under `/api/v1` (where the OpenAPI document describes them), with problem answers for
/// unknown routes and methods.
pub fn router(state: AppState, extra: OpenApiRouter<AppState>) -> Router {
    let body_limit = state.config.body_limit;
    let (root_extra, _) = extra.clone().split_for_parts();
    Router::new()
        .merge(api::ops_routes())
        .merge(pages::routes())
        .merge(api::checkout_routes())
        .nest("/api/v1", api::routes_with(extra))
        .merge(root_extra)
        .fallback(api::not_found)
        .method_not_allowed_fallback(api::method_not_allowed)
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(middleware::from_fn(problem::problem_errors))
        .with_state(state)
}
