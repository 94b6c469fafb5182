//! The public demo routes `POST /designs` (one `ai_generations`) and `POST /renders` (one
//! `renders_2d`), authenticated by the brand's public API key and metered per call, with
//! their OpenAPI operations.

use std::time::Instant;

use axum::extract::{Extension, State};
use axum::{Json, middleware};
use http::StatusCode;
use serde::Serialize;
use utoipa::{IntoResponses, ToSchema};
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouter};
use utoipa_axum::routes;

use quota_tower::{Cost, QuotaLayer};

use quota_axum::AppState;
use quota_axum::api::openapi::{Problem as ProblemSchema, StoreErrors};
use quota_axum::api::schema::{BrandId as BrandIdSchema, IdempotencyKey};
use quota_axum::guarded::{BrandId, authenticate_brand};
use quota_axum::metrics;

/// The metric `POST /designs` consumes (one unit a call).
pub const DESIGN_METRIC: &str = "ai_generations";
/// The metric `POST /renders` consumes (one unit a call).
pub const RENDER_METRIC: &str = "renders_2d";

/// The public routes: the API key check, then `QuotaLayer` (atomic consume, RateLimit
/// headers, 429 problem+json past a hard limit), then the handler.
pub fn routes(state: &AppState) -> OpenApiRouter<AppState> {
    // The layer wraps the handler only (`route_layer`): another method's 405 is not metered.
    let metered = |(schemas, paths, method): UtoipaMethodRouter<AppState>, metric| {
        let layer = QuotaLayer::new(state.guard.clone())
            .brand_from_extension()
            .cost(Cost::one(metric))
            .refund_on_server_errors();
        (schemas, paths, method.route_layer(layer))
    };
    OpenApiRouter::new()
        .routes(metered(routes!(design), DESIGN_METRIC))
        .routes(metered(routes!(render), RENDER_METRIC))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            authenticate_brand,
        ))
}

/// A queued demo job.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Job {
    /// `design_<µs>` or `render_<µs>`.
    id: String,
    /// The brand of the API key.
    brand_id: String,
    /// `design` or `render`.
    kind: &'static str,
    /// Always `queued`.
    status: &'static str,
}

/// The refusals of a metered demo route.
#[derive(IntoResponses)]
#[allow(dead_code)]
enum MeteredRefusals {
    /// A malformed Idempotency-Key
    #[response(status = 400, content_type = "application/problem+json")]
    BadKey(ProblemSchema),
    /// No, malformed or unknown API key
    #[response(status = 401, content_type = "application/problem+json")]
    Unauthorized(ProblemSchema),
    /// An admin token (these routes are metered per brand), or another brand in X-Brand-Id
    #[response(status = 403, content_type = "application/problem+json")]
    Forbidden(ProblemSchema),
    /// The idempotency key was first used for another request
    #[response(status = 409, content_type = "application/problem+json")]
    KeyReused(ProblemSchema),
    /// Quota exceeded
    #[response(
        status = 429,
        content_type = "application/problem+json",
        headers(("Retry-After" = u64, description = "Seconds until the period ends"))
    )]
    QuotaExceeded(ProblemSchema),
}

/// `POST /designs`: one `ai_generations`.
#[utoipa::path(
    post,
    path = "/designs",
    tag = "demo",
    operation_id = "createDesign",
    summary = "Public demo route: consumes one ai_generations of the API key's brand",
    params(
        ("Idempotency-Key" = Option<IdempotencyKey>, Header, description = "Makes the call idempotent"),
        ("X-Brand-Id" = Option<BrandIdSchema>, Header, description = "Must name the API key's brand when sent"),
    ),
    responses(
        (status = 202, description = "Queued", body = Job, headers(
            ("RateLimit-Policy" = String, description = "`\"quota\";q=<limit>;w=<period seconds>`"),
            ("RateLimit" = String, description = "`\"quota\";r=<remaining>;t=<seconds to reset>`"),
        )),
        MeteredRefusals,
        StoreErrors,
    ),
    security(("apiKey" = []))
)]
async fn design(
    State(state): State<AppState>,
    Extension(BrandId(brand)): Extension<BrandId>,
) -> (StatusCode, Json<Job>) {
    job(&state, &brand, "design", metrics::DESIGN_LATENCY)
}

/// `POST /renders`: one `renders_2d`.
#[utoipa::path(
    post,
    path = "/renders",
    tag = "demo",
    operation_id = "createRender",
    summary = "Public demo route: consumes one renders_2d of the API key's brand",
    params(
        ("Idempotency-Key" = Option<IdempotencyKey>, Header, description = "Makes the call idempotent"),
        ("X-Brand-Id" = Option<BrandIdSchema>, Header, description = "Must name the API key's brand when sent"),
    ),
    responses(
        (status = 202, description = "Queued", body = Job, headers(
            ("RateLimit-Policy" = String, description = "`\"quota\";q=<limit>;w=<period seconds>`"),
            ("RateLimit" = String, description = "`\"quota\";r=<remaining>;t=<seconds to reset>`"),
        )),
        MeteredRefusals,
        StoreErrors,
    ),
    security(("apiKey" = []))
)]
async fn render(
    State(state): State<AppState>,
    Extension(BrandId(brand)): Extension<BrandId>,
) -> (StatusCode, Json<Job>) {
    job(&state, &brand, "render", metrics::RENDER_LATENCY)
}

/// A demo job: queued at once (the real work is not this server's business).
fn job(
    state: &AppState,
    brand: &str,
    kind: &'static str,
    histogram: &'static str,
) -> (StatusCode, Json<Job>) {
    let started = Instant::now();
    state.track_brand(brand);
    let now = state.guard.clock().now();
    let id = format!("{kind}_{}", now.timestamp_micros());
    metrics::latency(histogram, started.elapsed().as_secs_f64());
    (
        StatusCode::ACCEPTED,
        Json(Job {
            id,
            brand_id: brand.to_owned(),
            kind,
            status: "queued",
        }),
    )
}
