//! The HTTP API (routes under `/api/v1`), the simulated checkout, `/healthz` and `/metrics`.

pub mod brands;
pub mod clock;
pub mod openapi;
pub mod share;
pub mod topups;
pub mod usage;

use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::response::IntoResponse;
use axum::routing::{delete, get, post};
use http::{HeaderValue, StatusCode, header};

use crate::problem::Problem;
use crate::state::AppState;

/// Largest Stripe webhook body accepted (events carry the whole checkout session).
pub const WEBHOOK_BODY_LIMIT: usize = 256 * 1024;

/// The JSON API, to nest under `/api/v1`: usage (record, check-quota, summary, plans,
/// reset), brands, share links, top-ups and their webhook, the dev clock and the OpenAPI
/// document.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/usage-billing/plans", get(usage::plans))
        .route("/usage-billing/record", post(usage::record))
        .route("/usage-billing/check-quota", post(usage::check_quota))
        .route("/usage-billing/summary", get(usage::summary))
        .route("/usage-billing/reset", post(usage::reset))
        .route("/usage-billing/share", post(share::create))
        .route("/usage-billing/share/{id}", delete(share::revoke))
        .route("/usage-billing/topups", get(topups::history))
        .route("/usage-billing/topups/checkout", post(topups::checkout))
        .route(
            "/usage-billing/topups/webhook",
            post(topups::webhook).layer(DefaultBodyLimit::max(WEBHOOK_BODY_LIMIT)),
        )
        .route("/brands", post(brands::create))
        .route("/admin/clock", get(clock::show))
        .route("/admin/clock/advance", post(clock::advance))
        .route("/openapi.json", get(openapi::spec))
}

/// The simulated checkout page and its confirm/cancel forms (`/checkout/simulated/...`).
pub fn checkout_routes() -> Router<AppState> {
    Router::new()
        .route("/checkout/simulated/{session}", get(topups::simulated_page))
        .route(
            "/checkout/simulated/{session}/confirm",
            post(topups::simulated_confirm),
        )
        .route(
            "/checkout/simulated/{session}/cancel",
            post(topups::simulated_cancel),
        )
}

/// `/healthz` (store name and time) and `/metrics` (Prometheus text).
pub fn ops_routes() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
}

async fn healthz(State(state): State<AppState>) -> impl IntoResponse {
    axum::Json(serde_json::json!({
        "status": "ok",
        "store": state.config.store_name,
        "time": state.guard.clock().now(),
    }))
}

async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    state.refresh_gauges().await;
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        state.metrics.render(),
    )
}

/// The fallback: a 404 problem naming the path.
pub async fn not_found(uri: http::Uri) -> Problem {
    Problem::not_found(format!("no route for {}", uri.path()))
}

/// A 405 problem naming the method and the path.
pub async fn method_not_allowed(method: http::Method, uri: http::Uri) -> Problem {
    Problem::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method-not-allowed",
        "Method not allowed",
        format!("{method} is not allowed on {}", uri.path()),
    )
}
