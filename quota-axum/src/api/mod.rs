//! The HTTP API (routes under `/api/v1`), the simulated checkout, `/healthz`, `/readyz` and
//! `/metrics`.
//!
//! Every API route is registered through [`documented`], from its handler's
//! `#[utoipa::path]`: a route and its OpenAPI operation cannot part.

pub mod brands;
pub mod clock;
pub mod openapi;
pub mod ops;
pub mod reset;
pub mod schema;
pub mod share;
pub mod simulated;
pub mod summary;
pub mod topups;
pub mod usage;
mod whole;

use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, State};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Extension, Router};
use http::{HeaderValue, StatusCode, header};
use utoipa::OpenApi;
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouterExt};
use utoipa_axum::routes;

use crate::problem::Problem;
use crate::state::AppState;

/// Largest Stripe webhook body accepted (events carry the whole checkout session).
pub const WEBHOOK_BODY_LIMIT: usize = 256 * 1024;

/// The JSON API with its OpenAPI operations, to nest under `/api/v1`: usage (record,
/// check-quota, summary, plans, reset), brands, share links, top-ups and their webhook, the
/// dev clock and the OpenAPI document itself.
pub fn documented() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .routes(routes!(summary::plans))
        .routes(routes!(usage::record))
        .routes(routes!(usage::check_quota))
        .routes(routes!(summary::summary))
        .routes(routes!(reset::reset))
        .routes(routes!(share::create))
        .routes(routes!(share::revoke))
        .routes(routes!(topups::history))
        .routes(routes!(topups::checkout))
        .routes(
            routes!(topups::webhook)
                .layer(DefaultBodyLimit::max(WEBHOOK_BODY_LIMIT))
                .layer(axum::middleware::from_fn(|req, next| {
                    crate::extract::declared_length_within(WEBHOOK_BODY_LIMIT, req, next)
                })),
        )
        .routes(routes!(brands::create))
        .routes(routes!(clock::show))
        .routes(routes!(clock::advance))
        .routes(routes!(openapi::spec))
}

/// The JSON API plus `extra` routes, to nest under `/api/v1`; `/openapi.json` describes both.
pub fn routes_with(extra: OpenApiRouter<AppState>) -> Router<AppState> {
    let (router, doc) = documented().merge(extra).split_for_parts();
    router.layer(Extension(openapi::Spec(Arc::new(doc))))
}

/// The JSON API, to nest under `/api/v1` ([`routes_with`] without extra routes).
pub fn routes() -> Router<AppState> {
    routes_with(OpenApiRouter::new())
}

/// The simulated checkout page and its confirm/cancel forms (`/checkout/simulated/...`).
pub fn checkout_routes() -> Router<AppState> {
    Router::new()
        .route("/checkout/simulated/{session}", get(simulated::page))
        .route(
            "/checkout/simulated/{session}/confirm",
            post(simulated::confirm),
        )
        .route(
            "/checkout/simulated/{session}/cancel",
            post(simulated::cancel),
        )
}

/// `/healthz` (liveness: store name and time), `/readyz` (readiness: the store answers) and
/// `/metrics` (Prometheus text, behind a bearer token when one is configured).
pub fn ops_routes() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(ops::readyz))
        .route("/metrics", get(metrics))
}

async fn healthz(State(state): State<AppState>) -> impl IntoResponse {
    axum::Json(serde_json::json!({
        "status": "ok",
        "store": state.config.store_name,
        "time": state.guard.clock().now(),
    }))
}

async fn metrics(
    State(state): State<AppState>,
    headers: http::HeaderMap,
) -> Result<impl IntoResponse, Problem> {
    ops::metrics_allowed(&state, &headers)?;
    state.refresh_gauges().await;
    state.refresh_ops_gauges().await;
    Ok((
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        state.metrics.render(),
    ))
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
