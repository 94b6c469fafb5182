//! The public demo routes' metering: the brand comes from its public API key, each call
//! consumes one unit of the route's metric, answers carry the IETF `RateLimit-Policy` /
//! `RateLimit` headers, and a denial is a 429 problem.
//!
//! This is a thin stand-in for `quota_tower::QuotaLayer` until that crate lands on `main`:
//! `authenticate_brand` already inserts the brand as a request extension, so switching is
//! `.layer(QuotaLayer::new(guard).routes(...))` in place of [`meter`].

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, HeaderValue};
use quota_core::Decision;

use crate::auth::{Caller, authenticate};
use crate::metrics;
use crate::problem::Problem;
use crate::state::AppState;

/// The brand a public request is made for (set by [`authenticate_brand`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrandId(pub String);

/// What a metered route consumes.
#[derive(Debug, Clone, Copy)]
pub struct Cost {
    /// Metric key.
    pub metric: &'static str,
    /// Units per call.
    pub units: u64,
}

/// Resolves the brand from the public API key; refuses admin tokens and a foreign
/// `X-Brand-Id` (403).
pub async fn authenticate_brand(
    State(state): State<AppState>,
    mut req: Request,
    next: Next,
) -> Response {
    let brand = match authenticate(&state.secrets, req.headers()) {
        Ok(Caller::Brand(b)) => b,
        Ok(Caller::Admin) => {
            return Problem::forbidden(
                "public routes are metered per brand: call them with the brand's public API key",
            )
            .into_response();
        }
        Err(p) => return p.into_response(),
    };
    if let Some(claimed) = req.headers().get("x-brand-id") {
        let claimed = claimed.to_str().unwrap_or_default();
        if claimed != brand {
            return Problem::forbidden(format!(
                "the API key of brand {brand:?} cannot act for brand {claimed:?}"
            ))
            .into_response();
        }
    }
    req.extensions_mut().insert(BrandId(brand));
    next.run(req).await
}

/// Consumes the route's cost before the handler runs.
pub async fn meter(
    State((state, cost)): State<(AppState, Cost)>,
    req: Request,
    next: Next,
) -> Response {
    let Some(BrandId(brand)) = req.extensions().get::<BrandId>().cloned() else {
        return Problem::unauthorized("no brand resolved for this request").into_response();
    };
    let key = match req.headers().get("idempotency-key").map(|v| v.to_str()) {
        None => None,
        Some(Ok(k)) => Some(k.to_owned()),
        Some(Err(_)) => {
            return Problem::bad_request("the Idempotency-Key header is not ASCII").into_response();
        }
    };
    let d = match state
        .guard
        .consume(&brand, cost.metric, cost.units, key.as_deref())
        .await
    {
        Ok(d) => d,
        Err(e) => return Problem::from(e).into_response(),
    };
    state.track_brand(&brand);
    metrics::count_decision(&d);
    metrics::observe_usage(&brand, cost.metric, d.used, d.limit);
    let now = state.guard.clock().now();
    let window = state
        .guard
        .period(&brand)
        .await
        .ok()
        .map(|p| p.duration().num_seconds());
    let mut res = if d.is_allowed() {
        next.run(req).await
    } else {
        match crate::api::usage::view(&state, &brand, cost.metric, cost.units, &d).await {
            Ok(v) => crate::api::usage::denied_problem(&v, now).into_response(),
            Err(p) => p.into_response(),
        }
    };
    ratelimit_headers(res.headers_mut(), cost.metric, &d, now, window);
    res
}

/// `RateLimit-Policy: "metric";q=<allowance>;w=<period secs>` and
/// `RateLimit: "metric";r=<remaining>;t=<secs to reset>` (draft-ietf-httpapi-ratelimit-headers).
pub fn ratelimit_headers(
    headers: &mut HeaderMap,
    metric: &str,
    d: &Decision,
    now: chrono::DateTime<chrono::Utc>,
    window_secs: Option<i64>,
) {
    let (Some(limit), Some(resets_at)) = (d.limit, d.resets_at) else {
        return;
    };
    let t = resets_at.signed_duration_since(now).num_seconds().max(0);
    let policy = match window_secs {
        Some(w) => format!("\"{metric}\";q={limit};w={w}"),
        None => format!("\"{metric}\";q={limit}"),
    };
    let current = format!("\"{metric}\";r={};t={t}", d.remaining().unwrap_or(0));
    if let Ok(v) = HeaderValue::from_str(&policy) {
        headers.insert("ratelimit-policy", v);
    }
    if let Ok(v) = HeaderValue::from_str(&current) {
        headers.insert("ratelimit", v);
    }
}
