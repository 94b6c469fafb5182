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
use quota_payments::{
    CheckoutError, CompleteError, SIGNATURE_HEADER, SIMULATED_CHECKOUT_PATH,
    SimulatedCheckoutError, SimulatedError, SimulatedState, StartCheckout, StartedCheckout,
    WebhookOutcome, complete_from_webhook, settle_simulated, start_checkout,
};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth::Caller;
use crate::extract::{ApiJson, ApiQuery};
use crate::pages::layout::{page_lang, shell};
use crate::problem::Problem;
use crate::state::AppState;

/// Body of `POST /usage-billing/topups/checkout`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CheckoutBody {
    brand_id: String,
    metric: String,
    units: u64,
    success_url: String,
    cancel_url: String,
}

/// Query of `GET /usage-billing/topups`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HistoryQuery {
    brand_id: String,
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
/// the caller, opens the session, and makes the simulated page's URL absolute on `host` (the
/// request's `Host`) so a frontend on another origin can redirect to it.
pub(crate) async fn open_checkout(
    state: &AppState,
    caller: &Caller,
    req: &StartCheckout,
    host: Option<&str>,
) -> Result<(String, StartedCheckout), Problem> {
    crate::api::usage::validate_ids(&req.brand, &req.metric)?;
    caller.may_access(&req.brand)?;
    let started = start_checkout(&state.guard, &*state.payments.provider, req)
        .await
        .map_err(checkout_problem)?;
    let mut url = started.session.checkout_url.clone();
    if url.starts_with('/') {
        if let Some(host) = host {
            url = format!("http://{host}{url}");
        }
    }
    Ok((url, started))
}

/// The request's `Host` header, when it is readable.
pub(crate) fn host(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::HOST).and_then(|h| h.to_str().ok())
}

/// `POST /usage-billing/topups/checkout`: a pending top-up and its checkout URL.
pub async fn checkout(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    ApiJson(body): ApiJson<CheckoutBody>,
) -> Result<Response, Problem> {
    let req = StartCheckout::new(
        body.brand_id,
        body.metric,
        body.units,
        body.success_url,
        body.cancel_url,
    );
    let (url, started) = open_checkout(&state, &caller, &req, host(&headers)).await?;
    let out = json!({
        "checkoutUrl": url,
        "sessionId": started.session.session_id,
        "topupId": started.topup.id,
        "amount": started.amount,
        "topup": started.topup,
    });
    Ok((StatusCode::CREATED, Json(out)).into_response())
}

/// `GET /usage-billing/topups?brandId=`: the brand's top-ups, newest first.
pub async fn history(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<HistoryQuery>,
) -> Result<Json<Value>, Problem> {
    quota_core::ids::validate_brand_id(&q.brand_id)
        .map_err(|e| Problem::bad_request(e.to_string()))?;
    caller.may_access(&q.brand_id)?;
    let topups = state.guard.topups(&q.brand_id).await?;
    Ok(Json(json!({ "brandId": q.brand_id, "topups": topups })))
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

/// `POST /usage-billing/topups/webhook`: a Stripe event, verified on the raw body.
pub async fn webhook(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, Problem> {
    let sig = headers
        .get(SIGNATURE_HEADER)
        .map(|v| v.to_str().unwrap_or(""));
    let now = state.guard.clock().now();
    let outcome = complete_from_webhook(&state.guard, &body, sig, &state.payments.webhook, now)
        .await
        .map_err(|e| {
            let status =
                StatusCode::from_u16(e.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let detail = e.to_string();
            match e {
                CompleteError::Quota(q) => Problem::from(q),
                CompleteError::NotCompletable { .. } => Problem::new(
                    status,
                    "topup-not-completable",
                    "Top-up not completable",
                    detail,
                ),
                _ => Problem::new(status, "webhook-refused", "Webhook refused", detail),
            }
        })?;
    let (result, topup) = match outcome {
        WebhookOutcome::Completed(t) => ("completed", Some(t)),
        WebhookOutcome::AlreadyCompleted(t) => ("already_completed", Some(t)),
        WebhookOutcome::Failed(t) => ("failed", Some(t)),
        WebhookOutcome::Ignored { reason } => {
            return Ok(Json(
                json!({ "received": true, "result": "ignored", "reason": reason }),
            ));
        }
        _ => ("ignored", None),
    };
    if let Some(t) = &topup {
        state.track_brand(&t.brand);
    }
    Ok(Json(
        json!({ "received": true, "result": result, "topup": topup }),
    ))
}
