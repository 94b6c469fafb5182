//! The HTTP API: routes under `/api/v1`, plus `/healthz`, `/metrics`, the public demo routes
//! and the pages ([`crate::pages`]).

pub mod brands;
pub mod clock;
pub mod openapi;
pub mod public;
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

/// The whole application router.
pub fn router(state: AppState) -> Router {
    let body_limit = state.config.body_limit;
    let api = Router::new()
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
        .merge(public::routes(&state));
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route("/checkout/simulated/{session}", get(topups::simulated_page))
        .route(
            "/checkout/simulated/{session}/confirm",
            post(topups::simulated_confirm),
        )
        .route(
            "/checkout/simulated/{session}/cancel",
            post(topups::simulated_cancel),
        )
        .merge(crate::pages::routes())
        .nest("/api/v1", api)
        .merge(public::routes(&state))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(body_limit))
        .with_state(state)
}

async fn healthz(State(state): State<AppState>) -> impl IntoResponse {
    axum::Json(serde_json::json!({
        "status": "ok",
        "store": state.store_kind.name(),
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

async fn not_found(uri: http::Uri) -> Problem {
    Problem::not_found(format!("no route for {}", uri.path()))
}

async fn method_not_allowed(method: http::Method, uri: http::Uri) -> Problem {
    Problem::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method-not-allowed",
        "Method not allowed",
        format!("{method} is not allowed on {}", uri.path()),
    )
}
