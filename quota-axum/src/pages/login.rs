//! `GET /login` (the admin token form) and `POST /login`: the token is checked as the API
//! checks it and a sign-in session ([`crate::session`], at most 8 h and never past the token)
//! is kept in the `quota_admin` cookie (HttpOnly, SameSite=Strict, `Secure` under an https
//! public URL), then 303 back to the page asked for. `POST /logout` revokes the session and
//! clears the cookie.

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use http::{HeaderMap, HeaderValue, StatusCode, header};
use maud::html;
use serde::Deserialize;

use crate::auth::PUBLIC_KEY_PREFIX;
use crate::pages::PageForm;
use crate::pages::admin::{
    cookie_token, cross_origin_page, safe_next, same_origin, session_cookie,
};
use crate::pages::i18n::labels;
use crate::pages::layout::{Audience, Page, page_lang, public_header};
use crate::state::AppState;

/// Query of `GET /login`.
#[derive(Debug, Deserialize)]
pub struct LoginQuery {
    next: Option<String>,
    lang: Option<String>,
}

/// Body of `POST /login`.
#[derive(Debug, Deserialize)]
pub struct LoginForm {
    token: Option<String>,
    next: Option<String>,
    lang: Option<String>,
}

/// The language: `lang`, else the `lang` of the page to go back to, else `Accept-Language`.
fn login_lang(lang: Option<&str>, next: &str, headers: &HeaderMap) -> &'static str {
    let from_next = next
        .split_once('?')
        .and_then(|(_, q)| q.split('&').find_map(|kv| kv.strip_prefix("lang=")));
    page_lang(lang.or(from_next), headers)
}

fn render(status: StatusCode, lang: &str, next: &str, error: Option<&str>) -> Response {
    let l = labels(lang);
    let main = html! {
        section class="card" aria-labelledby="login-h" {
            h1 id="login-h" { (l.login_title) }
            @if let Some(e) = error {
                div class="error" role="alert" data-testid="login-error" { (e) }
            }
            p class="muted" { (l.login_hint) }
            form method="post" action="/login" data-testid="login-form" {
                input type="hidden" name="next" value=(next);
                input type="hidden" name="lang" value=(lang);
                p {
                    label for="token" { (l.admin_token) }
                    input id="token" name="token" type="password" autocomplete="off" required
                        data-testid="login-token";
                }
                p { button type="submit" data-testid="login-button" { (l.sign_in) } }
            }
        }
    };
    let query = vec![("next".to_owned(), next.to_owned())];
    Page {
        lang,
        title: l.login_title,
        header: public_header("/login", &query, lang),
        main,
        script: None,
        audience: Audience::Public,
    }
    .respond(status)
}

/// `GET /login?next=`.
pub async fn form(Query(q): Query<LoginQuery>, headers: HeaderMap) -> Response {
    let next = safe_next(q.next.as_deref());
    let lang = login_lang(q.lang.as_deref(), &next, &headers);
    render(StatusCode::OK, lang, &next, None)
}

/// `POST /login`: 303 to `next` with the cookie, or the form again (401 bad token, 403 a
/// brand's public key).
pub async fn submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    PageForm(f): PageForm<LoginForm>,
) -> Response {
    let next = safe_next(f.next.as_deref());
    let lang = login_lang(f.lang.as_deref(), &next, &headers);
    if !same_origin(&headers) {
        return cross_origin_page(lang);
    }
    let l = labels(lang);
    let token = f.token.as_deref().unwrap_or("").trim();
    if token.starts_with(PUBLIC_KEY_PREFIX) && state.secrets.verify_public_key(token).is_some() {
        return render(StatusCode::FORBIDDEN, lang, &next, Some(l.not_admin));
    }
    let claims = match state.secrets.verify_admin(token) {
        Ok(c) => c,
        Err(e) => {
            tracing::debug!(error = %e, "login refused");
            return render(StatusCode::UNAUTHORIZED, lang, &next, Some(l.bad_token));
        }
    };
    let (session, exp) = match state.sessions.open(&state.secrets, claims.exp) {
        Ok(s) => s,
        Err(error) => {
            tracing::error!(%error, "no session opened");
            return render(
                StatusCode::SERVICE_UNAVAILABLE,
                lang,
                &next,
                Some(l.bad_token),
            );
        }
    };
    let max_age = exp.saturating_sub(unix_now());
    let mut res = Redirect::to(&next).into_response();
    match HeaderValue::from_str(&session_cookie(&state, &session, max_age)) {
        Ok(v) => {
            res.headers_mut().insert(header::SET_COOKIE, v);
            res
        }
        // A session token is plain ASCII; refuse rather than answer without the cookie.
        Err(_) => render(StatusCode::UNAUTHORIZED, lang, &next, Some(l.bad_token)),
    }
}

/// Body of `POST /logout`.
#[derive(Debug, Deserialize)]
pub struct LogoutForm {
    lang: Option<String>,
}

/// `POST /logout`: revokes the session of the cookie (when live), clears the cookie and
/// sends to the login form. A form post only (same-origin check), so no link or image on
/// another site can sign an admin out.
pub async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    PageForm(f): PageForm<LogoutForm>,
) -> Response {
    let lang = page_lang(f.lang.as_deref(), &headers);
    if !same_origin(&headers) {
        return cross_origin_page(lang);
    }
    if let Some(Ok(claims)) =
        cookie_token(&headers).map(|t| state.sessions.check(&state.secrets, t))
        && !state.sessions.revoke(&claims)
    {
        tracing::warn!("too many revoked sessions: this one ends at its expiry only");
    }
    let mut res = Redirect::to(&format!("/login?lang={lang}")).into_response();
    if let Ok(v) = HeaderValue::from_str(&session_cookie(&state, "", 0)) {
        res.headers_mut().insert(header::SET_COOKIE, v);
    }
    res
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
