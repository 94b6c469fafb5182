//! `POST /api/v1/usage-billing/reset`: the runbook's support reset (admin only).

use axum::Json;
use axum::extract::State;
use quota_core::reset::ResetRequest;
use serde::Deserialize;
use utoipa::ToSchema;

use super::openapi::{AuthErrors, BodyErrors, StoreErrors, UnknownBrand};
use super::schema::{BrandId, CounterMetricKey, TargetPercent, TopUpUnits};
use super::usage::validate_ids;
use crate::auth::Caller;
use crate::extract::ApiJson;
use crate::problem::Problem;
use crate::reset::{ResetReport, run_reset};
use crate::state::AppState;

/// Body of `POST /usage-billing/reset`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ResetBody {
    #[schema(value_type = BrandId)]
    brand_id: String,
    #[schema(value_type = CounterMetricKey)]
    metric: String,
    #[serde(deserialize_with = "super::whole::number")]
    #[schema(value_type = TargetPercent)]
    target: u16,
    /// Units of a completed top-up to add (metrics whose overage is charged).
    #[serde(default, deserialize_with = "super::whole::optional")]
    #[schema(value_type = Option<TopUpUnits>)]
    topup: Option<u64>,
    /// Plan only: write nothing.
    #[serde(default)]
    dry_run: bool,
}

/// `POST /usage-billing/reset`: the runbook's `quota reset` (admin only).
#[utoipa::path(
    post,
    path = "/usage-billing/reset",
    tag = "admin",
    operation_id = "resetUsage",
    summary = "Admin: set a counter's period usage to a percent of its allowance (dryRun writes nothing)",
    request_body = ResetBody,
    responses(
        (status = 200, description = "What was (or would be) done", body = ResetReport),
        AuthErrors, BodyErrors, UnknownBrand, StoreErrors,
    ),
    security(("adminJwt" = []))
)]
pub async fn reset(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<ResetBody>,
) -> Result<Json<ResetReport>, Problem> {
    caller.require_admin()?;
    validate_ids(&body.brand_id, &body.metric)?;
    let mut req = ResetRequest::new(body.brand_id.clone(), body.metric.clone(), body.target);
    if let Some(units) = body.topup {
        req = req.with_topup(units);
    }
    let report = run_reset(&state.guard, &req, body.dry_run, &state.config).await?;
    if !report.dry_run {
        state.track_brand(&body.brand_id);
        // The gauges follow the reset at once (no stale series).
        if let Ok(snap) = state.guard.snapshot(&body.brand_id).await {
            state.metrics.observe_snapshot(&snap);
        }
    }
    Ok(Json(report))
}
