//! Share links: `POST /api/v1/usage-billing/share` and `DELETE /api/v1/usage-billing/share/{id}`
//! (admin). The read-only page they open, `GET /share/quota/{token}`, is in
//! [`crate::pages::share`].

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use http::StatusCode;
use quota_share::{IssueError, ShareLink};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::openapi::{AuthErrors, BodyErrors, ParamErrors, StoreErrors, UnknownBrand};
use super::schema::{BrandId, MAX_SHARE_LINK_ID_LEN, ShareLinkId};
use crate::auth::Caller;
use crate::extract::ApiJson;
use crate::problem::Problem;
use crate::state::AppState;

/// Body of `POST /usage-billing/share`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ShareBody {
    #[schema(value_type = BrandId)]
    brand_id: String,
    /// Lifetime in milliseconds, clamped to the cap (30 days); the server's default (7 days
    /// unless configured) when absent.
    #[serde(default, deserialize_with = "super::whole::optional")]
    #[schema(minimum = 1, maximum = 18_446_744_073_709_551_615u64)]
    ttl_ms: Option<u64>,
}

/// An issued share link.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ShareLinkView {
    /// The link's id, to revoke it.
    #[schema(value_type = ShareLinkId)]
    id: String,
    /// The signed token.
    token: String,
    /// `<frontend>/share/quota/<token>`: the read-only snapshot page.
    url: String,
    /// When the link stops working.
    expires_at: DateTime<Utc>,
}

impl From<ShareLink> for ShareLinkView {
    fn from(link: ShareLink) -> Self {
        ShareLinkView {
            id: link.id,
            token: link.token,
            url: link.url,
            expires_at: link.expires_at,
        }
    }
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
#[utoipa::path(
    post,
    path = "/usage-billing/share",
    tag = "admin",
    operation_id = "createShareLink",
    summary = "Admin: a signed, expiring read-only link to a brand's snapshot",
    request_body = ShareBody,
    responses(
        (status = 201, description = "The link", body = ShareLinkView),
        AuthErrors, BodyErrors, UnknownBrand, StoreErrors,
    ),
    security(("adminJwt" = []))
)]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<ShareBody>,
) -> Result<(StatusCode, Json<ShareLinkView>), Problem> {
    let link = issue_link(
        &state,
        &caller,
        &body.brand_id,
        body.ttl_ms.map(Duration::from_millis),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(link.into())))
}

/// `DELETE /usage-billing/share/{id}`: revokes a link (admin). Idempotent: 204 each time.
#[utoipa::path(
    delete,
    path = "/usage-billing/share/{id}",
    tag = "admin",
    operation_id = "revokeShareLink",
    summary = "Admin: revoke a share link (its page answers 410 from now on); 204 each time",
    params(("id" = ShareLinkId, Path, description = "The link's id")),
    responses(
        (status = 204, description = "Revoked"),
        AuthErrors, ParamErrors, StoreErrors,
    ),
    security(("adminJwt" = []))
)]
pub async fn revoke(
    State(state): State<AppState>,
    caller: Caller,
    crate::extract::ApiPath(id): crate::extract::ApiPath<String>,
) -> Result<StatusCode, Problem> {
    caller.require_admin()?;
    let ok = id.len() <= MAX_SHARE_LINK_ID_LEN
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
