//! The public demo routes `POST /designs` (one `ai_generations`) and `POST /renders` (one
//! `renders_2d`), authenticated by the brand's public API key and metered per call.

use std::time::Instant;

use axum::extract::{Extension, State};
use axum::routing::post;
use axum::{Json, Router, middleware};
use http::StatusCode;
use serde_json::{Value, json};

use quota_tower::{Cost, QuotaLayer};

use quota_axum::AppState;
use quota_axum::guarded::{BrandId, authenticate_brand};
use quota_axum::metrics;

/// The metric `POST /designs` consumes (one unit a call).
pub const DESIGN_METRIC: &str = "ai_generations";
/// The metric `POST /renders` consumes (one unit a call).
pub const RENDER_METRIC: &str = "renders_2d";

/// The public routes: the API key check, then `QuotaLayer` (atomic consume, RateLimit
/// headers, 429 problem+json past a hard limit), then the handler.
pub fn routes(state: &AppState) -> Router<AppState> {
    let layer = |metric: &'static str| {
        QuotaLayer::new(state.guard.clone())
            .brand_from_extension()
            .cost(Cost::one(metric))
            .refund_on_server_errors()
    };
    Router::new()
        .route("/designs", post(design).route_layer(layer(DESIGN_METRIC)))
        .route("/renders", post(render).route_layer(layer(RENDER_METRIC)))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            authenticate_brand,
        ))
}

async fn design(
    State(state): State<AppState>,
    Extension(BrandId(brand)): Extension<BrandId>,
) -> (StatusCode, Json<Value>) {
    job(&state, &brand, "design", metrics::DESIGN_LATENCY)
}

async fn render(
    State(state): State<AppState>,
    Extension(BrandId(brand)): Extension<BrandId>,
) -> (StatusCode, Json<Value>) {
    job(&state, &brand, "render", metrics::RENDER_LATENCY)
}

/// A demo job: queued at once (the real work is not this server's business).
fn job(
    state: &AppState,
    brand: &str,
    kind: &str,
    histogram: &'static str,
) -> (StatusCode, Json<Value>) {
    let started = Instant::now();
    state.track_brand(brand);
    let now = state.guard.clock().now();
    let id = format!("{kind}_{}", now.timestamp_micros());
    metrics::latency(histogram, started.elapsed().as_secs_f64());
    (
        StatusCode::ACCEPTED,
        Json(json!({ "id": id, "brandId": brand, "kind": kind, "status": "queued" })),
    )
}
