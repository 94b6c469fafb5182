//! `/api/v1/usage-billing/record` and `/api/v1/usage-billing/check-quota`: consume units
//! atomically, or ask whether they would be admitted.

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use http::{HeaderMap, HeaderValue, StatusCode, header};
use quota_core::threshold::Severity;
use quota_core::{Decision, Verdict};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::openapi::{AuthErrors, BodyErrors, Problem as ProblemSchema, StoreErrors, UnknownBrand};
use super::schema::{BrandId, IdempotencyKey, MetricKey, Quantity};
use crate::auth::Caller;
use crate::extract::ApiJson;
use crate::metrics;
use crate::problem::Problem;
use crate::state::AppState;

/// The scope idempotency keys of `record` are bound to.
const RECORD_SCOPE: &str = "POST /api/v1/usage-billing/record";

fn one() -> u64 {
    1
}

/// Body of `POST /usage-billing/record`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RecordBody {
    #[schema(value_type = BrandId)]
    brand_id: String,
    #[schema(value_type = MetricKey)]
    metric: String,
    #[serde(default = "one", deserialize_with = "super::whole::number")]
    #[schema(value_type = Quantity)]
    quantity: u64,
    /// The idempotency key, when the `Idempotency-Key` header cannot be sent (the same key:
    /// both given and different is a 409).
    #[schema(value_type = Option<IdempotencyKey>)]
    idempotency_key: Option<String>,
}

/// Body of `POST /usage-billing/check-quota`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CheckBody {
    #[schema(value_type = BrandId)]
    brand_id: String,
    #[schema(value_type = MetricKey)]
    metric: String,
    #[serde(default = "one", deserialize_with = "super::whole::number")]
    #[schema(value_type = Quantity)]
    quantity: u64,
}

/// How a request was (or would be) decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum UsageOutcome {
    /// Within the allowance.
    Allowed,
    /// Past the allowance, billed as overage.
    Overage,
    /// Refused.
    Denied,
}

impl UsageOutcome {
    fn of(d: &Decision) -> Self {
        match d.verdict {
            _ if !d.is_allowed() => UsageOutcome::Denied,
            Verdict::AllowedWithOverage(_) => UsageOutcome::Overage,
            _ => UsageOutcome::Allowed,
        }
    }
}

/// Where usage stands: `ok` under every threshold, else the severity of the highest threshold
/// reached (`overage`: past the allowance, billed; `blocked`: requests refused).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum UsageBadge {
    /// Under every threshold.
    Ok,
    /// An information threshold reached.
    Info,
    /// A warning threshold reached.
    Warning,
    /// A critical threshold reached.
    Critical,
    /// Past the allowance, billed as overage.
    Overage,
    /// Requests are refused.
    Blocked,
}

impl From<Severity> for UsageBadge {
    fn from(s: Severity) -> Self {
        match s {
            Severity::Info => UsageBadge::Info,
            Severity::Warning => UsageBadge::Warning,
            Severity::Overage => UsageBadge::Overage,
            Severity::Blocked => UsageBadge::Blocked,
            // Critical, and any severity without a badge of its own.
            _ => UsageBadge::Critical,
        }
    }
}

/// A decision as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UsageView {
    brand_id: String,
    metric: String,
    quantity: u64,
    allowed: bool,
    outcome: UsageOutcome,
    /// Usage this period (counter) or level (gauge), after the request when admitted.
    used: u64,
    /// The allowance (included units plus top-ups); `null` when unlimited.
    limit: Option<u64>,
    remaining: Option<u64>,
    percent: Option<u64>,
    status: UsageBadge,
    /// Whether this answer replays an earlier consume with the same idempotency key. Not in
    /// the body (a replay answers the first body byte for byte): the `Idempotent-Replayed`
    /// header says it.
    #[serde(skip)]
    replayed: bool,
    /// When the period ends and usage starts again from zero.
    resets_at: Option<DateTime<Utc>>,
    /// The cheapest plan that would admit a refused request.
    #[serde(skip_serializing_if = "Option::is_none")]
    suggested_plan: Option<String>,
    /// Units of this request billed as overage.
    #[serde(skip_serializing_if = "Option::is_none")]
    overage_units: Option<u64>,
    /// What this request's overage costs.
    #[serde(skip_serializing_if = "Option::is_none")]
    charge: Option<quota_core::Money>,
}

/// Checks brand and metric identifiers before anything touches the store.
pub(crate) fn validate_ids(brand: &str, metric: &str) -> Result<(), Problem> {
    quota_core::ids::validate_brand_id(brand).map_err(|e| Problem::bad_request(e.to_string()))?;
    quota_core::ids::validate_metric_key(metric)
        .map_err(|e| Problem::bad_request(e.to_string()))?;
    Ok(())
}

fn validate_quantity(quantity: u64) -> Result<(), Problem> {
    if quantity == 0 {
        return Err(Problem::bad_request(
            "quantity must be a whole number of at least 1",
        ));
    }
    Ok(())
}

/// The badge of `used` against `limit` for a brand's metric (`ok` under every threshold),
/// as honest as the metric's `limit_state` allows (see `Severity::honest`).
pub(crate) async fn badge(
    state: &AppState,
    brand: &str,
    metric: &str,
    used: u64,
    limit: Option<u64>,
    limit_state: quota_core::LimitState,
) -> Result<UsageBadge, Problem> {
    let Some(limit) = limit else {
        return Ok(UsageBadge::Ok);
    };
    let sub = state.guard.subscription(brand).await?;
    let catalog = state.guard.catalog();
    let Some(plan) = catalog.plan(&sub.plan) else {
        return Ok(UsageBadge::Ok);
    };
    let Some(lim) = sub.overrides.get(metric).or_else(|| plan.limit(metric)) else {
        return Ok(UsageBadge::Ok);
    };
    let thresholds = catalog.thresholds_for(plan, lim);
    Ok(quota_core::threshold::badge(thresholds, used, limit)
        .map_or(UsageBadge::Ok, |s| s.honest(limit_state).into()))
}

/// Builds the view of a decision.
pub(crate) async fn view(
    state: &AppState,
    brand: &str,
    metric: &str,
    quantity: u64,
    d: &Decision,
) -> Result<UsageView, Problem> {
    let (suggested_plan, overage_units, charge) = match &d.verdict {
        Verdict::Denied(why) => (why.suggested_plan.clone(), None, None),
        Verdict::AllowedWithOverage(o) => (None, Some(o.overage_units), Some(o.charge)),
        _ => (None, None, None),
    };
    // A denied request that was only too large for what is left does not make the metric
    // blocked: the badge says where usage stands.
    let status = badge(state, brand, metric, d.used, d.limit, d.state).await?;
    Ok(UsageView {
        brand_id: brand.to_owned(),
        metric: metric.to_owned(),
        quantity,
        allowed: d.is_allowed(),
        outcome: UsageOutcome::of(d),
        used: d.used,
        limit: d.limit,
        remaining: d.remaining(),
        percent: d.percent(),
        status,
        replayed: d.replayed,
        resets_at: d.resets_at,
        suggested_plan,
        overage_units,
        charge,
    })
}

/// The 429 answer of a denied consume.
pub(crate) fn denied_problem(v: &UsageView, now: DateTime<Utc>) -> Problem {
    let detail = match v.limit {
        Some(l) => format!(
            "brand {:?} has used {} of {} {} this period: {} more would pass the hard limit",
            v.brand_id, v.used, l, v.metric, v.quantity
        ),
        None => format!("{} more {} would pass the limit", v.quantity, v.metric),
    };
    let mut p = Problem::new(
        StatusCode::TOO_MANY_REQUESTS,
        "quota-exceeded",
        "Quota exceeded",
        detail,
    );
    if let Ok(Value::Object(map)) = serde_json::to_value(v) {
        p.extensions = map;
    }
    if let Some(at) = v.resets_at {
        let secs = at.signed_duration_since(now).num_seconds().max(1);
        if let Ok(h) = HeaderValue::from_str(&secs.to_string()) {
            p = p.with_header(header::RETRY_AFTER, h);
        }
    }
    p
}

fn idempotency_key(headers: &HeaderMap, body: Option<String>) -> Result<Option<String>, Problem> {
    let header = match headers.get("idempotency-key") {
        None => None,
        Some(v) => Some(
            v.to_str()
                .map_err(|_| Problem::bad_request("the Idempotency-Key header is not ASCII"))?
                .to_owned(),
        ),
    };
    match (header, body) {
        // Two keys for one request conflict like a key reused for another request.
        (Some(h), Some(b)) if h != b => Err(Problem::new(
            StatusCode::CONFLICT,
            "idempotency-key-conflict",
            "Idempotency keys differ",
            "the Idempotency-Key header and the body's idempotencyKey differ: send one key",
        )),
        (h, b) => Ok(h.or(b)),
    }
}

/// `POST /usage-billing/record`: atomic check-and-consume.
#[utoipa::path(
    post,
    path = "/usage-billing/record",
    tag = "usage",
    operation_id = "recordUsage",
    summary = "Consume units atomically",
    description = "Checks and consumes `quantity` units of `metric` in one step. With an idempotency key \
                   (header or body) a retry replays the first answer byte for byte and counts nothing.",
    params(
        ("Idempotency-Key" = Option<IdempotencyKey>, Header, description = "Makes the call idempotent")
    ),
    request_body = RecordBody,
    responses(
        (status = 200, description = "Admitted: within the allowance, or billed as overage", body = UsageView,
            headers(("Idempotent-Replayed" = String, description = "`true` when this answer replays an earlier call with the same key"))),
        (status = 409, description = "The idempotency key was first used for another request, or the header and the body name different keys",
            body = ProblemSchema, content_type = "application/problem+json"),
        (status = 429, description = "Quota exceeded: the problem carries the decision's fields",
            body = ProblemSchema, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds until the period ends"))),
        AuthErrors, BodyErrors, UnknownBrand, StoreErrors,
    ),
    security(("adminJwt" = []), ("apiKey" = []))
)]
pub async fn record(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    ApiJson(body): ApiJson<RecordBody>,
) -> Result<Response, Problem> {
    validate_ids(&body.brand_id, &body.metric)?;
    caller.may_access(&body.brand_id)?;
    validate_quantity(body.quantity)?;
    let key = idempotency_key(&headers, body.idempotency_key)?;
    // A key is bound to this route, the metric and the quantity: reused for another request
    // it is a 409 and nothing is recorded.
    let d = match key.as_deref() {
        None => {
            state
                .guard
                .consume(&body.brand_id, &body.metric, body.quantity, None)
                .await?
        }
        Some(key) => {
            state
                .guard
                .consume_scoped(
                    &body.brand_id,
                    &body.metric,
                    body.quantity,
                    key,
                    RECORD_SCOPE,
                )
                .await?
        }
    };
    state.track_brand(&body.brand_id);
    metrics::count_decision(&d);
    state
        .metrics
        .observe_usage(&body.brand_id, &body.metric, d.used, d.limit);
    let v = view(&state, &body.brand_id, &body.metric, body.quantity, &d).await?;
    if !v.allowed {
        return Err(denied_problem(&v, state.guard.clock().now()));
    }
    let replayed = v.replayed;
    let mut res = Json(v).into_response();
    if replayed {
        res.headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    Ok(res)
}

/// `POST /usage-billing/check-quota`: would it be admitted? No side effect.
#[utoipa::path(
    post,
    path = "/usage-billing/check-quota",
    tag = "usage",
    operation_id = "checkQuota",
    summary = "Would the quantity be admitted? No side effect",
    request_body = CheckBody,
    responses(
        (status = 200, description = "The decision, refusals included (`allowed: false`)", body = UsageView),
        AuthErrors, BodyErrors, UnknownBrand, StoreErrors,
    ),
    security(("adminJwt" = []), ("apiKey" = []))
)]
pub async fn check_quota(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<CheckBody>,
) -> Result<Json<UsageView>, Problem> {
    validate_ids(&body.brand_id, &body.metric)?;
    caller.may_access(&body.brand_id)?;
    validate_quantity(body.quantity)?;
    let d = state
        .guard
        .check(&body.brand_id, &body.metric, body.quantity)
        .await?;
    Ok(Json(
        view(&state, &body.brand_id, &body.metric, body.quantity, &d).await?,
    ))
}
