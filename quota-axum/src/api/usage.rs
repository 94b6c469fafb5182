//! `/api/v1/usage-billing/*`: record, check-quota, summary, plans and the support reset.

use std::time::Instant;

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use http::{HeaderMap, HeaderValue, StatusCode, header};
use quota_core::report::ProjectionStatus;
use quota_core::reset::ResetRequest;
use quota_core::{Decision, Verdict};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::auth::Caller;
use crate::extract::{ApiJson, ApiQuery};
use crate::metrics;
use crate::problem::Problem;
use crate::reset::run_reset;
use crate::state::AppState;

/// The scope idempotency keys of `record` are bound to.
const RECORD_SCOPE: &str = "POST /api/v1/usage-billing/record";

fn one() -> u64 {
    1
}

/// Body of `POST /usage-billing/record`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RecordBody {
    brand_id: String,
    metric: String,
    #[serde(default = "one")]
    quantity: u64,
    idempotency_key: Option<String>,
}

/// Body of `POST /usage-billing/check-quota`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CheckBody {
    brand_id: String,
    metric: String,
    #[serde(default = "one")]
    quantity: u64,
}

/// Query of `GET /usage-billing/summary`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SummaryQuery {
    brand_id: String,
    lang: Option<String>,
}

/// Body of `POST /usage-billing/reset`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ResetBody {
    brand_id: String,
    metric: String,
    target: u16,
    topup: Option<u64>,
    #[serde(default)]
    dry_run: bool,
}

/// A decision as the API shows it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UsageView {
    brand_id: String,
    metric: String,
    quantity: u64,
    allowed: bool,
    outcome: &'static str,
    used: u64,
    limit: Option<u64>,
    remaining: Option<u64>,
    percent: Option<u64>,
    /// Badge: `ok`, `info`, `warning`, `critical`, `overage` (past the allowance, billed) or
    /// `blocked` (requests refused).
    status: &'static str,
    /// Whether this answer replays an earlier consume with the same idempotency key. Not in
    /// the body (a replay answers the first body byte for byte): the `Idempotent-Replayed`
    /// header says it.
    #[serde(skip)]
    replayed: bool,
    resets_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    suggested_plan: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    overage_units: Option<u64>,
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
) -> Result<&'static str, Problem> {
    let Some(limit) = limit else {
        return Ok("ok");
    };
    let sub = state.guard.subscription(brand).await?;
    let catalog = state.guard.catalog();
    let Some(plan) = catalog.plan(&sub.plan) else {
        return Ok("ok");
    };
    let Some(lim) = sub.overrides.get(metric).or_else(|| plan.limit(metric)) else {
        return Ok("ok");
    };
    let thresholds = catalog.thresholds_for(plan, lim);
    Ok(quota_core::threshold::badge(thresholds, used, limit)
        .map_or("ok", |s| s.honest(limit_state).as_str()))
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
        outcome: metrics::outcome(d),
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
        (Some(h), Some(b)) if h != b => Err(Problem::bad_request(
            "the Idempotency-Key header and the body's idempotencyKey differ",
        )),
        (h, b) => Ok(h.or(b)),
    }
}

/// `POST /usage-billing/record`: atomic check-and-consume.
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
    metrics::observe_usage(&body.brand_id, &body.metric, d.used, d.limit);
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

/// `GET /usage-billing/summary?brandId=`: the snapshot, with status labels.
pub async fn summary(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<SummaryQuery>,
) -> Result<Json<Value>, Problem> {
    quota_core::ids::validate_brand_id(&q.brand_id)
        .map_err(|e| Problem::bad_request(e.to_string()))?;
    caller.may_access(&q.brand_id)?;
    let lang = q.lang.as_deref().unwrap_or("fr");
    let started = Instant::now();
    let snap = state.guard.snapshot(&q.brand_id).await?;
    metrics::latency(metrics::SUMMARY_LATENCY, started.elapsed().as_secs_f64());
    state.track_brand(&q.brand_id);
    metrics::observe_snapshot(&snap);
    let mut value = serde_json::to_value(&snap)
        .map_err(|e| Problem::internal(format!("snapshot does not serialize: {e}")))?;
    if let Some(list) = value.get_mut("metrics").and_then(Value::as_array_mut) {
        for (m, snap_m) in list.iter_mut().zip(&snap.metrics) {
            let status = match &snap_m.projection {
                Some(p) => p.status,
                None if snap_m.blocked => ProjectionStatus::ImmediateAction,
                None => ProjectionStatus::Stable,
            };
            if let Some(obj) = m.as_object_mut() {
                obj.insert(
                    "status".into(),
                    serde_json::to_value(status).unwrap_or_default(),
                );
                obj.insert("statusLabel".into(), status.label(lang).into());
            }
        }
    }
    if let Some(obj) = value.as_object_mut() {
        let label = if snap.stable {
            Some(quota_core::report::stable_label(lang))
        } else {
            None
        };
        obj.insert("stableLabel".into(), label.into());
    }
    Ok(Json(value))
}

/// `GET /usage-billing/plans`: the catalog.
pub async fn plans(State(state): State<AppState>, caller: Caller) -> Json<Value> {
    let _ = caller;
    Json(serde_json::to_value(state.guard.catalog()).unwrap_or_default())
}

/// `POST /usage-billing/reset`: the runbook's `quota reset` (admin only).
pub async fn reset(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<ResetBody>,
) -> Result<Json<crate::reset::ResetReport>, Problem> {
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
            metrics::observe_snapshot(&snap);
        }
    }
    Ok(Json(report))
}
