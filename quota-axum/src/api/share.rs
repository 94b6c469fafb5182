//! Share links: `POST /api/v1/usage-billing/share` and `DELETE /api/v1/usage-billing/share/{id}`
//! (admin). The read-only page they open, `GET /share/quota/{token}`, is in
//! [`crate::pages::share`].

use std::time::Duration;

use axum::Json;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use quota_share::{IssueError, ShareLink};
use serde::Deserialize;
use serde_json::json;

use crate::auth::Caller;
use crate::extract::ApiJson;
use crate::problem::Problem;
use crate::state::AppState;

/// Body of `POST /usage-billing/share`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ShareBody {
    brand_id: String,
    ttl_ms: Option<u64>,
}

/// Issues a share link to an existing brand's snapshot (the API's and the cockpit's one code
/// path): admins only, 404 for an unknown brand, 400 for a bad id or lifetime.
pub(crate) async fn issue_link(
    state: &AppState,
    caller: &Caller,
    brand: &str,
    ttl: Option<Duration>,
) -> Result<ShareLink, Problem> {
    caller.require_admin()?;
    quota_core::ids::validate_brand_id(brand).map_err(|e| Problem::bad_request(e.to_string()))?;
    // Only existing brands get links (404 otherwise).
    state.guard.subscription(brand).await?;
    state.share.issuer.issue(brand, ttl).map_err(|e| match e {
        IssueError::Random(_) => Problem::internal(e.to_string()),
        other => Problem::bad_request(other.to_string()),
    })
}

/// `POST /usage-billing/share`: issues a signed link to a brand's snapshot (admin).
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<ShareBody>,
) -> Result<Response, Problem> {
    let link = issue_link(
        &state,
        &caller,
        &body.brand_id,
        body.ttl_ms.map(Duration::from_millis),
    )
    .await?;
    let out = json!({
        "id": link.id,
        "token": link.token,
        "url": link.url,
        "expiresAt": link.expires_at,
    });
    Ok((StatusCode::CREATED, Json(out)).into_response())
}

/// `DELETE /usage-billing/share/{id}`: revokes a link (admin). Idempotent: 204 each time.
pub async fn revoke(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, Problem> {
    caller.require_admin()?;
    let ok = id.len() <= 80
        && id
            .strip_prefix("sh_")
            .is_some_and(|h| !h.is_empty() && h.bytes().all(|b| b.is_ascii_alphanumeric()));
    if !ok {
        return Err(Problem::bad_request(
            "a share link id looks like `sh_` followed by letters and digits (the `id` returned when it was issued)",
        ));
    }
    state
        .share
        .issuer
        .revoke(&*state.share.revocations, &id)
        .await
        .map_err(quota_core::QuotaError::from)?;
    Ok(StatusCode::NO_CONTENT)
}
