//! The public demo routes `POST /designs` (one `ai_generations`) and `POST /renders` (one
//! `renders_2d`), authenticated by the brand's public API key and metered per call.

use std::time::Instant;

use axum::extract::{Extension, State};
use axum::routing::post;
use axum::{Json, Router, middleware};
use http::StatusCode;
use serde_json::{Value, json};

use crate::guarded::{BrandId, Cost, authenticate_brand, meter};
use crate::metrics;
use crate::state::AppState;

/// What `POST /designs` costs.
pub const DESIGN_COST: Cost = Cost {
    metric: "ai_generations",
    units: 1,
};
/// What `POST /renders` costs.
pub const RENDER_COST: Cost = Cost {
    metric: "renders_2d",
    units: 1,
};

/// The public routes, each behind its meter and the API key check.
pub fn routes(state: &AppState) -> Router<AppState> {
    Router::new()
        .route(
            "/designs",
            post(design).route_layer(middleware::from_fn_with_state(
                (state.clone(), DESIGN_COST),
                meter,
            )),
        )
        .route(
            "/renders",
            post(render).route_layer(middleware::from_fn_with_state(
                (state.clone(), RENDER_COST),
                meter,
            )),
        )
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
    let now = state.guard.clock().now();
    let id = format!("{kind}_{}", now.timestamp_micros());
    metrics::latency(histogram, started.elapsed().as_secs_f64());
    (
        StatusCode::ACCEPTED,
        Json(json!({ "id": id, "brandId": brand, "kind": kind, "status": "queued" })),
    )
}
