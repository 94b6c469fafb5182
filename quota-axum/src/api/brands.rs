//! `POST /api/v1/brands`: creates a brand's subscription and hands out its public API key.

use axum::Json;
use axum::extract::State;
use http::StatusCode;
use quota_core::Subscription;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::openapi::{AuthErrors, BodyErrors, Problem as ProblemSchema, StoreErrors};
use super::schema::{BrandId, PlanId};
use crate::auth::Caller;
use crate::extract::ApiJson;
use crate::problem::Problem;
use crate::state::AppState;

/// Body of `POST /brands`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateBrand {
    #[schema(value_type = BrandId)]
    brand_id: String,
    #[schema(value_type = PlanId)]
    plan_id: String,
}

/// A created brand.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BrandCreated {
    brand_id: String,
    plan_id: String,
    /// The brand's public API key (`X-Api-Key`): it reads and writes this brand only.
    api_key: String,
}

/// Creates a brand (admin only); 409 if it already exists.
#[utoipa::path(
    post,
    path = "/brands",
    tag = "admin",
    operation_id = "createBrand",
    summary = "Admin: subscribe a new brand to a plan and get its public API key",
    request_body = CreateBrand,
    responses(
        (status = 201, description = "Created", body = BrandCreated),
        (status = 409, description = "The brand already has a subscription", body = ProblemSchema,
            content_type = "application/problem+json"),
        AuthErrors, BodyErrors, StoreErrors,
    ),
    security(("adminJwt" = []))
)]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<CreateBrand>,
) -> Result<(StatusCode, Json<BrandCreated>), Problem> {
    caller.require_admin()?;
    quota_core::ids::validate_brand_id(&body.brand_id)
        .map_err(|e| Problem::bad_request(e.to_string()))?;
    quota_core::ids::validate_plan_id(&body.plan_id)
        .map_err(|e| Problem::bad_request(e.to_string()))?;
    if state.guard.catalog().plan(&body.plan_id).is_none() {
        return Err(quota_core::QuotaError::UnknownPlan(body.plan_id).into());
    }
    if state
        .guard
        .store()
        .subscription(&body.brand_id)
        .await?
        .is_some()
    {
        return Err(Problem::new(
            StatusCode::CONFLICT,
            "brand-exists",
            "Brand exists",
            format!("brand {:?} already has a subscription", body.brand_id),
        )
        .with("brandId", body.brand_id));
    }
    let now = state.guard.clock().now();
    state
        .guard
        .subscribe(Subscription::new(&body.brand_id, &body.plan_id, now))
        .await?;
    state.track_brand(&body.brand_id);
    Ok((
        StatusCode::CREATED,
        Json(BrandCreated {
            api_key: state.secrets.public_key(&body.brand_id),
            brand_id: body.brand_id,
            plan_id: body.plan_id,
        }),
    ))
}
