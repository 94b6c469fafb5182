//! Top-ups: `POST /api/v1/usage-billing/topups/checkout`, `GET /api/v1/usage-billing/topups`,
//! the simulated checkout page (`/checkout/simulated/{session}`, with confirm / cancel forms
//! that POST and redirect) and the Stripe-compatible webhook
//! `POST /api/v1/usage-billing/topups/webhook` (raw body, `Stripe-Signature`).

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use http::{HeaderMap, HeaderValue, StatusCode, header};
use maud::html;
use quota_core::topup::UsageTopUp;
use quota_core::{Money, QuotaError};
use quota_payments::{
    CheckoutError, CompleteError, SIGNATURE_HEADER, SIMULATED_CHECKOUT_PATH,
    SimulatedCheckoutError, SimulatedError, SimulatedState, StartCheckout, StartedCheckout,
    WebhookError, WebhookOutcome, complete_from_webhook, settle_simulated, start_checkout,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::openapi::{
    AuthErrors, BodyErrors, ParamErrors, Problem as ProblemSchema, StoreErrors, UnknownBrand,
};
use super::schema::{BrandId, RedirectUrl, StripeSignature, TopUpMetricKey, TopUpUnits};
use crate::auth::Caller;
use crate::extract::{ApiJson, ApiQuery};
use crate::pages::layout::{page_lang, shell};
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
    #[schema(value_type = TopUpUnits)]
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
}

/// A brand's top-ups.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TopUpHistory {
    brand_id: String,
    /// Newest first.
    topups: Vec<UsageTopUp>,
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
    // An unknown brand is a 404 and an unknown metric a 422, as on the other routes.
    state.guard.subscription(&req.brand).await?;
    if state.guard.catalog().metric(&req.metric).is_none() {
        return Err(QuotaError::UnknownMetric(req.metric.clone()).into());
    }
    let started = start_checkout(&state.guard, &*state.payments.provider, req)
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
    request_body = CheckoutBody,
    responses(
        (status = 201, description = "The pending top-up and where to pay it", body = CheckoutView),
        (status = 409, description = "The brand's plan sells no top-up of this metric", body = ProblemSchema,
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

/// `GET /usage-billing/topups?brandId=`: the brand's top-ups, newest first.
#[utoipa::path(
    get,
    path = "/usage-billing/topups",
    tag = "topups",
    operation_id = "topUpHistory",
    summary = "The brand's top-ups, newest first",
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
    let topups = state.guard.topups(&q.brand_id).await?;
    Ok(Json(TopUpHistory {
        brand_id: q.brand_id,
        topups,
    }))
}

/// Query of the simulated page.
#[derive(Debug, Deserialize)]
pub struct LangQuery {
    lang: Option<String>,
}

fn page(status: StatusCode, body: String) -> Response {
    let mut res = (status, Html(body)).into_response();
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

fn session_path(session: &str) -> String {
    format!("{SIMULATED_CHECKOUT_PATH}{session}")
}

/// `GET /checkout/simulated/{session}`: the simulated payment page.
pub async fn simulated_page(
    State(state): State<AppState>,
    Path(session): Path<String>,
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
) -> Response {
    let lang = page_lang(q.lang.as_deref(), &headers);
    let en = lang == "en";
    let Some(s) = state.payments.simulated.session(&session) else {
        let (t, p) = if en {
            ("Unknown checkout", "This checkout session does not exist.")
        } else {
            (
                "Paiement inconnu",
                "Cette session de paiement n'existe pas.",
            )
        };
        return page(
            StatusCode::NOT_FOUND,
            shell(lang, t, &html! { h1 { (t) } p { (p) } }),
        );
    };
    let r = &s.request;
    let title = if en {
        "Simulated checkout"
    } else {
        "Paiement simulé"
    };
    let path = session_path(&s.session_id);
    let body = html! {
        h1 { (title) }
        p {
            (if en { "Top-up" } else { "Recharge" }) " : " strong { (r.units) } " × " (r.metric)
            " (" (r.brand) ")"
            br;
            (if en { "Amount" } else { "Montant" }) " : " strong { (r.amount.to_string()) }
        }
        @match s.state {
            SimulatedState::Open => {
                form method="post" action={ (path) "/confirm" } {
                    button type="submit" { (if en { "Pay" } else { "Payer" }) }
                }
                form method="post" action={ (path) "/cancel" } {
                    button type="submit" { (if en { "Cancel" } else { "Annuler" }) }
                }
            }
            other => {
                p { (if en { "Already settled" } else { "Déjà réglé" }) " : " (format!("{other:?}")) }
            }
        }
    };
    page(StatusCode::OK, shell(lang, title, &body))
}

fn simulated_problem(e: SimulatedCheckoutError) -> Problem {
    let detail = e.to_string();
    match e {
        SimulatedCheckoutError::Session(SimulatedError::UnknownSession(_)) => {
            Problem::not_found(detail)
        }
        SimulatedCheckoutError::Session(_) => Problem::new(
            StatusCode::CONFLICT,
            "checkout-settled",
            "Checkout already settled",
            detail,
        ),
        SimulatedCheckoutError::Quota(q) => Problem::from(q),
        _ => Problem::internal(detail),
    }
}

async fn settle(state: &AppState, session: &str, paid: bool) -> Result<Response, Problem> {
    let (redirect, topup) =
        settle_simulated(&state.guard, &state.payments.simulated, session, paid)
            .await
            .map_err(simulated_problem)?;
    tracing::info!(topup = %topup.id, status = %topup.status, "simulated checkout settled");
    Ok(Redirect::to(&redirect.redirect_url).into_response())
}

/// `POST /checkout/simulated/{session}/confirm`: pays, completes the top-up, 303 to
/// `successUrl`.
pub async fn simulated_confirm(
    State(state): State<AppState>,
    Path(session): Path<String>,
) -> Result<Response, Problem> {
    settle(&state, &session, true).await
}

/// `POST /checkout/simulated/{session}/cancel`: fails the top-up, 303 to `cancelUrl`.
pub async fn simulated_cancel(
    State(state): State<AppState>,
    Path(session): Path<String>,
) -> Result<Response, Problem> {
    settle(&state, &session, false).await
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
        StoreErrors,
    )
)]
pub async fn webhook(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<WebhookReceipt>, Problem> {
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
    }
    Ok(Json(WebhookReceipt {
        received: true,
        result,
        reason,
        topup,
    }))
}
