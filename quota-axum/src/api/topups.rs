//! Top-ups: `POST /api/v1/usage-billing/topups/checkout`, `GET /api/v1/usage-billing/topups`
//! (paginated) and the Stripe-compatible webhook `POST /api/v1/usage-billing/topups/webhook`
//! (raw body, `Stripe-Signature`). The simulated checkout page is [`super::simulated`].

use axum::Json;
use axum::extract::State;
use http::{HeaderMap, HeaderValue, StatusCode, header};
use quota_core::topup::UsageTopUp;
use quota_core::{Money, QuotaError};
use quota_payments::{
    CheckoutError, CompleteError, SIGNATURE_HEADER, StartCheckout, StartedCheckout, WebhookError,
    WebhookOutcome, complete_from_webhook, start_checkout,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::openapi::{
    AuthErrors, BodyErrors, ParamErrors, Problem as ProblemSchema, StoreErrors, UnknownBrand,
};
use super::schema::{BrandId, CheckoutUnits, RedirectUrl, StripeSignature, TopUpMetricKey};
use crate::auth::Caller;
use crate::extract::{ApiBytes, ApiJson, ApiQuery};
use crate::problem::Problem;
use crate::state::AppState;

/// Body of `POST /usage-billing/topups/checkout`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CheckoutBody {
    #[schema(value_type = BrandId)]
    brand_id: String,
    #[schema(value_type = TopUpMetricKey)]
    metric: String,
    #[serde(deserialize_with = "super::whole::number")]
    #[schema(value_type = CheckoutUnits)]
    units: u64,
    /// Where the buyer lands once paid.
    #[schema(value_type = RedirectUrl)]
    success_url: String,
    /// Where the buyer lands on giving up.
    #[schema(value_type = RedirectUrl)]
    cancel_url: String,
}

/// A started checkout.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CheckoutView {
    /// Where to send the buyer: the simulated page (absolute on this host) or Stripe Checkout.
    checkout_url: String,
    /// The provider's session id.
    session_id: String,
    /// The pending top-up's id.
    topup_id: String,
    /// What the buyer pays.
    amount: Money,
    /// The pending top-up.
    topup: UsageTopUp,
}

/// Query of `GET /usage-billing/topups`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct HistoryQuery {
    /// The brand.
    #[param(value_type = BrandId)]
    brand_id: String,
    /// Top-ups per page (1 to 200, default 50).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<usize>,
    /// How many of the newest top-ups to skip (0 to 10 000, default 0): the previous page's
    /// `nextOffset`.
    #[param(minimum = 0, maximum = 10000)]
    offset: Option<usize>,
}

/// Default page size of `GET /usage-billing/topups`.
pub const DEFAULT_HISTORY_LIMIT: usize = 50;
/// Largest page size.
pub const MAX_HISTORY_LIMIT: usize = 200;
/// Largest offset: a page never reads more than `MAX_HISTORY_OFFSET + MAX_HISTORY_LIMIT + 1`
/// top-ups from the store.
pub const MAX_HISTORY_OFFSET: usize = 10_000;

/// A page of a brand's top-ups.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TopUpHistory {
    brand_id: String,
    /// Newest first.
    topups: Vec<UsageTopUp>,
    /// The `offset` of the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    next_offset: Option<usize>,
}

fn checkout_problem(e: CheckoutError) -> Problem {
    let status = StatusCode::from_u16(e.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let detail = e.to_string();
    match e {
        CheckoutError::TopUpNotAllowed { metric, plan } => {
            Problem::new(status, "topup-not-allowed", "Top-up not allowed", detail)
                .with("metric", metric)
                .with("planId", plan)
        }
        CheckoutError::Invalid(_) => Problem::bad_request(detail),
        CheckoutError::Redirect(r) => {
            Problem::new(status, "invalid-redirect", "Redirect URL refused", detail)
                .with("field", r.field)
        }
        CheckoutError::TooManyPending { brand, max } => Problem::new(
            status,
            "too-many-pending-checkouts",
            "Too many open checkouts",
            detail,
        )
        .with("brandId", brand)
        .with("maxPending", max),
        CheckoutError::Provider(_) => Problem::new(
            status,
            "payment-provider",
            "Payment provider failed",
            detail,
        ),
        CheckoutError::Quota(q) => Problem::from(q),
        _ => Problem::internal(detail),
    }
}

/// Who started a checkout, as the simulated page checks it: `admin` or `brand:<id>`.
pub(crate) fn requester(caller: &Caller) -> String {
    match caller {
        Caller::Admin => "admin".to_owned(),
        Caller::Brand(b) => format!("brand:{b}"),
    }
}

/// The 503 of a server without a checkout provider.
fn topups_off() -> Problem {
    Problem::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "topups-disabled",
        "Top-ups are off",
        "this server has no checkout provider: set STRIPE_SECRET_KEY, or start a development \
         server with --dev (--checkout simulated: nobody pays)",
    )
}

/// Starts a top-up checkout (the API's and the cockpit's one code path): checks the ids and
/// the caller, opens the session, and makes the simulated page's URL absolute on the
/// configured public URL (never the request's `Host`) so a frontend on another origin can
/// redirect to it.
pub(crate) async fn open_checkout(
    state: &AppState,
    caller: &Caller,
    req: &StartCheckout,
) -> Result<(String, StartedCheckout), Problem> {
    crate::api::usage::validate_ids(&req.brand, &req.metric)?;
    caller.may_access(&req.brand)?;
    let provider = state.payments.provider.as_ref().ok_or_else(topups_off)?;
    // An unknown brand is a 404 and an unknown metric a 422, as on the other routes.
    state.guard.subscription(&req.brand).await?;
    if state.guard.catalog().metric(&req.metric).is_none() {
        return Err(QuotaError::UnknownMetric(req.metric.clone()).into());
    }
    let req = req.clone().requested_by(requester(caller));
    let payments = &state.payments;
    let started = start_checkout(
        &state.guard,
        &**provider,
        &payments.redirects,
        &payments.pending,
        &req,
    )
    .await
    .map_err(checkout_problem)?;
    let mut url = started.session.checkout_url.clone();
    if url.starts_with('/') {
        url = format!("{}{url}", state.config.public_url.trim_end_matches('/'));
    }
    Ok((url, started))
}

/// `POST /usage-billing/topups/checkout`: a pending top-up and its checkout URL.
#[utoipa::path(
    post,
    path = "/usage-billing/topups/checkout",
    tag = "topups",
    operation_id = "startTopUpCheckout",
    summary = "Start a top-up: a pending top-up and its checkout URL (simulated page, or Stripe Checkout)",
    description = "`units` is at most the metric's `maxTopupUnits` (catalog, default 1 000 000; 422 past it). \
                   `successUrl` and `cancelUrl` must be paths or absolute URLs on the server's public origin \
                   (422 otherwise). The checkout and its pending top-up expire after the checkout lifetime \
                   (default 1 h). 503 when the server has no checkout provider.",
    request_body = CheckoutBody,
    responses(
        (status = 201, description = "The pending top-up and where to pay it", body = CheckoutView),
        (status = 409, description = "The brand's plan sells no top-up of this metric", body = ProblemSchema,
            content_type = "application/problem+json"),
        (status = 429, description = "The brand already has the most open checkouts (default 20): pay, \
                                      cancel or let one expire", body = ProblemSchema,
            content_type = "application/problem+json"),
        (status = 502, description = "The payment provider failed (the top-up is marked failed)", body = ProblemSchema,
            content_type = "application/problem+json"),
        AuthErrors, BodyErrors, UnknownBrand, StoreErrors,
    ),
    security(("adminJwt" = []), ("apiKey" = []))
)]
pub async fn checkout(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<CheckoutBody>,
) -> Result<(StatusCode, Json<CheckoutView>), Problem> {
    let req = StartCheckout::new(
        body.brand_id,
        body.metric,
        body.units,
        body.success_url,
        body.cancel_url,
    );
    let (url, started) = open_checkout(&state, &caller, &req).await?;
    let view = CheckoutView {
        checkout_url: url,
        session_id: started.session.session_id,
        topup_id: started.topup.id.clone(),
        amount: started.amount,
        topup: started.topup,
    };
    Ok((StatusCode::CREATED, Json(view)))
}

/// `GET /usage-billing/topups?brandId=&limit=&offset=`: a page of the brand's top-ups,
/// newest first.
#[utoipa::path(
    get,
    path = "/usage-billing/topups",
    tag = "topups",
    operation_id = "topUpHistory",
    summary = "The brand's top-ups, newest first, a page at a time (`nextOffset`)",
    params(HistoryQuery),
    responses(
        (status = 200, description = "The top-ups", body = TopUpHistory),
        AuthErrors, ParamErrors, UnknownBrand, StoreErrors,
    ),
    security(("adminJwt" = []), ("apiKey" = []))
)]
pub async fn history(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<HistoryQuery>,
) -> Result<Json<TopUpHistory>, Problem> {
    quota_core::ids::validate_brand_id(&q.brand_id)
        .map_err(|e| Problem::bad_request(e.to_string()))?;
    caller.may_access(&q.brand_id)?;
    let limit = q.limit.unwrap_or(DEFAULT_HISTORY_LIMIT);
    let offset = q.offset.unwrap_or(0);
    if !(1..=MAX_HISTORY_LIMIT).contains(&limit) {
        return Err(Problem::bad_request(format!(
            "limit must be within 1..={MAX_HISTORY_LIMIT}, got {limit}"
        )));
    }
    if offset > MAX_HISTORY_OFFSET {
        return Err(Problem::bad_request(format!(
            "offset must be within 0..={MAX_HISTORY_OFFSET}, got {offset}"
        )));
    }
    // One more than the page tells whether another page follows; both bounds keep the read
    // within MAX_HISTORY_OFFSET + MAX_HISTORY_LIMIT + 1.
    let read = offset.saturating_add(limit).saturating_add(1);
    let mut topups = state.guard.recent_topups(&q.brand_id, read).await?;
    let more = topups.len() == read;
    topups.truncate(read.saturating_sub(1));
    let topups: Vec<_> = topups.into_iter().skip(offset).collect();
    Ok(Json(TopUpHistory {
        brand_id: q.brand_id,
        topups,
        next_offset: more.then(|| offset.saturating_add(limit)),
    }))
}

/// What a webhook did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum WebhookResult {
    /// The top-up was pending and is now completed.
    Completed,
    /// The top-up was already completed: nothing changed.
    AlreadyCompleted,
    /// The checkout expired or its payment failed: the top-up is failed.
    Failed,
    /// Nothing to do (another event type, a session not paid yet, no top-up id).
    Ignored,
}

/// The answer to a webhook.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookReceipt {
    /// Always `true`.
    received: bool,
    result: WebhookResult,
    /// Why the event was ignored.
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
    /// The top-up the event settled.
    #[serde(skip_serializing_if = "Option::is_none")]
    topup: Option<UsageTopUp>,
}

fn webhook_problem(e: CompleteError) -> Problem {
    let status = StatusCode::from_u16(e.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let detail = e.to_string();
    match e {
        CompleteError::Quota(q) => Problem::from(q),
        CompleteError::NotCompletable { .. } => Problem::new(
            status,
            "topup-not-completable",
            "Top-up not completable",
            detail,
        ),
        // A well-formed signature that does not verify (stale, or from another secret) is
        // a credential refused.
        CompleteError::Webhook(
            WebhookError::Stale { .. }
            | WebhookError::SignatureMismatch
            | WebhookError::NoSignature,
        ) => Problem::new(
            StatusCode::UNAUTHORIZED,
            "webhook-signature",
            "Webhook signature refused",
            detail,
        )
        .with_header(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Stripe-Signature realm=\"webhook\""),
        ),
        _ => Problem::new(status, "webhook-refused", "Webhook refused", detail),
    }
}

/// `POST /usage-billing/topups/webhook`: a Stripe event, verified on the raw body.
#[utoipa::path(
    post,
    path = "/usage-billing/topups/webhook",
    tag = "topups",
    operation_id = "stripeWebhook",
    summary = "Stripe webhook: completes (or fails) a top-up once",
    description = "The raw body is verified against `Stripe-Signature` (HMAC-SHA256 with the webhook secret, \
                   300 s tolerance) before it is read. Body limit: 256 KiB.",
    params(("Stripe-Signature" = StripeSignature, Header, description = "Stripe's signature of the raw body")),
    request_body(content = Object, content_type = "application/json",
        description = "A Stripe event (`checkout.session.completed`, `checkout.session.async_payment_succeeded`, \
                       `checkout.session.async_payment_failed`, `checkout.session.expired`; others are ignored)"),
    responses(
        (status = 200, description = "Received", body = WebhookReceipt),
        (status = 400, description = "Missing or malformed signature header, a body that is not a Stripe event, \
                                      or an unknown top-up", body = ProblemSchema, content_type = "application/problem+json"),
        (status = 401, description = "The signature does not verify (another secret, or outside the tolerance)",
            body = ProblemSchema, content_type = "application/problem+json",
            headers(("WWW-Authenticate" = String, description = "`Stripe-Signature realm=\"webhook\"`"))),
        (status = 409, description = "The top-up failed earlier and cannot be completed", body = ProblemSchema,
            content_type = "application/problem+json"),
        (status = 413, description = "The body is over 256 KiB", body = ProblemSchema,
            content_type = "application/problem+json"),
        (status = 415, description = "The body is not `application/json`", body = ProblemSchema,
            content_type = "application/problem+json"),
        StoreErrors,
    )
)]
pub async fn webhook(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiBytes(body): ApiBytes,
) -> Result<Json<WebhookReceipt>, Problem> {
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
    if !json {
        return Err(crate::problem::status_problem(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "a Stripe webhook body is `Content-Type: application/json`".into(),
        ));
    }
    let sig = headers
        .get(SIGNATURE_HEADER)
        .map(|v| v.to_str().unwrap_or(""));
    let now = state.guard.clock().now();
    let outcome = complete_from_webhook(&state.guard, &body, sig, &state.payments.webhook, now)
        .await
        .map_err(webhook_problem)?;
    let (result, topup, reason) = match outcome {
        WebhookOutcome::Completed(t) => (WebhookResult::Completed, Some(t), None),
        WebhookOutcome::AlreadyCompleted(t) => (WebhookResult::AlreadyCompleted, Some(t), None),
        WebhookOutcome::Failed(t) => (WebhookResult::Failed, Some(t), None),
        WebhookOutcome::Ignored { reason } => (WebhookResult::Ignored, None, Some(reason)),
        _ => (WebhookResult::Ignored, None, None),
    };
    if let Some(t) = &topup {
        state.track_brand(&t.brand);
        if t.status != quota_core::topup::TopUpStatus::Pending {
            state.payments.pending.settled(&t.brand, &t.id);
        }
    }
    Ok(Json(WebhookReceipt {
        received: true,
        result,
        reason,
        topup,
    }))
}
