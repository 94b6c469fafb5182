//! The simulated checkout (development only: nobody pays): its page
//! `GET /checkout/simulated/{session}` and the confirm / cancel forms that POST and redirect
//! to `successUrl` / `cancelUrl`. Every route answers 404 unless the simulated provider is on.
//!
//! Settling a checkout is restricted as the money it stands for: the caller must be the one
//! who started it (the same brand key, or an admin: `Authorization: Bearer`, `X-Api-Key`, or
//! the cockpit's `quota_admin` cookie), and a browser's request must come from this site
//! (`Sec-Fetch-Site` / `Origin`, as the cockpit's forms). The page carries the security
//! headers of every page (CSP with `frame-ancestors 'none'` and `form-action 'self'`,
//! `nosniff`, `no-store`).

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use http::{HeaderMap, StatusCode, Uri, header};
use maud::html;
use quota_payments::{
    SIMULATED_CHECKOUT_PATH, SimulatedCheckoutError, SimulatedError, SimulatedProvider,
    SimulatedState, settle_simulated,
};
use serde::Deserialize;

use crate::auth::Caller;
use crate::extract::ApiPath;
use crate::pages::admin::{cookie_token, same_origin};
use crate::pages::layout::{Audience, Page, page_lang, public_header};
use crate::problem::Problem;
use crate::state::AppState;

/// Query of the simulated page.
#[derive(Debug, Default, Deserialize)]
struct LangQuery {
    lang: Option<String>,
}

fn session_path(session: &str) -> String {
    format!("{SIMULATED_CHECKOUT_PATH}{session}")
}

fn provider(state: &AppState) -> Result<&Arc<SimulatedProvider>, Problem> {
    state.payments.simulated.as_ref().ok_or_else(|| {
        Problem::not_found("the simulated checkout is off on this server (development only)")
    })
}

/// `GET /checkout/simulated/{session}`: the simulated payment page.
pub async fn page(
    State(state): State<AppState>,
    ApiPath(session): ApiPath<String>,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    let sim = provider(&state)?;
    let q = Query::<LangQuery>::try_from_uri(&uri)
        .map(|Query(q)| q)
        .unwrap_or_default();
    let lang = page_lang(q.lang.as_deref(), &headers);
    let en = lang == "en";
    let colon = if en { ": " } else { " : " };
    let respond = |status: StatusCode, title: &str, main: maud::Markup| {
        Page {
            lang,
            title,
            header: public_header(&session_path(&session), &[], lang),
            main,
            script: None,
            audience: Audience::Public,
        }
        .respond(status)
    };
    let Some(s) = sim.session(&session) else {
        let (t, p) = if en {
            ("Unknown checkout", "This checkout session does not exist.")
        } else {
            (
                "Paiement inconnu",
                "Cette session de paiement n'existe pas.",
            )
        };
        return Ok(respond(
            StatusCode::NOT_FOUND,
            t,
            html! { h1 { (t) } p { (p) } },
        ));
    };
    let r = &s.request;
    let title = if en {
        "Simulated checkout"
    } else {
        "Paiement simulé"
    };
    let path = session_path(&s.session_id);
    let expired = s.state == SimulatedState::Open && sim.is_expired(&s);
    let main = html! {
        section class="card" {
            h1 { (title) }
            p class="muted" data-testid="simulated-warning" {
                (if en { "Development server: nobody is charged." } else { "Serveur de développement : personne n'est débité." })
            }
            p {
                (if en { "Top-up" } else { "Recharge" }) (colon) strong { (r.units) } " × " (r.metric)
                " (" (r.brand) ")"
                br;
                (if en { "Amount" } else { "Montant" }) (colon)
                strong data-testid="checkout-amount" {
                    (crate::pages::money::format_money(r.amount, if en { "en" } else { "fr" }))
                }
            }
            @if expired {
                p data-testid="checkout-expired" { (if en { "This checkout has expired." } else { "Ce paiement a expiré." }) }
            } @else {
                @match s.state {
                    SimulatedState::Open => {
                        form method="post" action={ (path) "/confirm" } {
                            button type="submit" data-testid="simulated-pay" { (if en { "Pay" } else { "Payer" }) }
                        }
                        form method="post" action={ (path) "/cancel" } {
                            button type="submit" class="secondary" data-testid="simulated-cancel" { (if en { "Cancel" } else { "Annuler" }) }
                        }
                    }
                    other => {
                        p { (if en { "Already settled" } else { "Déjà réglé" }) " : " (format!("{other:?}")) }
                    }
                }
            }
        }
    };
    Ok(respond(StatusCode::OK, title, main))
}

/// The caller of a confirm or cancel: the API's credentials when sent, else the sign-in
/// session of the admin cookie.
fn caller(state: &AppState, headers: &HeaderMap) -> Result<Caller, Problem> {
    if headers.contains_key(header::AUTHORIZATION) || headers.contains_key("x-api-key") {
        return state.auth.authenticate(headers);
    }
    match cookie_token(headers) {
        Some(token) => match state.sessions.check(&state.secrets, token) {
            Ok(_) => Ok(Caller::Admin),
            Err(error) => {
                tracing::debug!(%error, "session cookie refused on a checkout");
                Err(Problem::unauthorized(
                    "the credentials are invalid or expired: sign in again",
                ))
            }
        },
        None => Err(Problem::unauthorized(
            "settling a checkout needs the credentials that started it (admin token or cookie, or the brand's API key)",
        )),
    }
}

fn simulated_problem(e: SimulatedCheckoutError) -> Problem {
    let detail = e.to_string();
    match e {
        SimulatedCheckoutError::Session(SimulatedError::UnknownSession(_)) => {
            Problem::not_found(detail)
        }
        SimulatedCheckoutError::Session(SimulatedError::Expired(_)) => Problem::new(
            StatusCode::GONE,
            "checkout-expired",
            "Checkout expired",
            detail,
        ),
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

async fn settle(
    state: &AppState,
    headers: &HeaderMap,
    session: &str,
    paid: bool,
) -> Result<Response, Problem> {
    let sim = provider(state)?;
    if !same_origin(headers) {
        return Err(Problem::forbidden(
            "a checkout is settled from this site only: the request comes from another origin",
        ));
    }
    let who = caller(state, headers)?;
    let Some(s) = sim.session(session) else {
        return Err(simulated_problem(SimulatedCheckoutError::Session(
            SimulatedError::UnknownSession(session.chars().take(80).collect()),
        )));
    };
    let allowed = match &who {
        Caller::Admin => true,
        Caller::Brand(_) => crate::api::topups::requester(&who) == s.request.requested_by,
    };
    if !allowed {
        return Err(Problem::forbidden(
            "this checkout was started by another caller: only they (or an admin) may settle it",
        ));
    }
    let (redirect, topup) =
        settle_simulated(&state.guard, sim, &state.payments.pending, session, paid)
            .await
            .map_err(simulated_problem)?;
    tracing::info!(topup = %topup.id, status = %topup.status, "simulated checkout settled");
    Ok(Redirect::to(&redirect.redirect_url).into_response())
}

/// `POST /checkout/simulated/{session}/confirm`: pays, completes the top-up, 303 to
/// `successUrl`.
pub async fn confirm(
    State(state): State<AppState>,
    ApiPath(session): ApiPath<String>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    settle(&state, &headers, &session, true).await
}

/// `POST /checkout/simulated/{session}/cancel`: cancels the top-up, 303 to `cancelUrl`.
pub async fn cancel(
    State(state): State<AppState>,
    ApiPath(session): ApiPath<String>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    settle(&state, &headers, &session, false).await
}
