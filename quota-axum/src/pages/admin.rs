//! Who may open the admin pages: an admin JWT in `Authorization: Bearer` (checked exactly as
//! the API checks it, [`crate::auth::authenticate`]) or a live sign-in session
//! ([`crate::session`]) in the `quota_admin` cookie set by `/login`. Without credentials the browser is sent to the login form; a brand's public key
//! gets 403. State-changing forms also refuse a cross-origin `Origin`.

use axum::response::{IntoResponse, Redirect, Response};
use http::{HeaderMap, StatusCode, header};

use crate::auth::{Caller, authenticate};
use crate::pages::i18n::labels;
use crate::pages::layout::{Audience, message_page, url_encode};
use crate::state::AppState;

/// The session cookie.
pub const COOKIE: &str = "quota_admin";

/// The value of the `quota_admin` cookie, if sent.
pub(crate) fn cookie_token(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| {
            let (k, v) = pair.trim().split_once('=')?;
            (k == COOKIE && !v.is_empty()).then_some(v)
        })
}

/// `/login?next=<next>`.
pub(crate) fn login_redirect(next: &str) -> Response {
    Redirect::to(&format!("/login?next={}", url_encode(next))).into_response()
}

/// Lets an admin through; otherwise the answer to send (boxed: it is large): 303 to the login form (no or a
/// stale cookie), 401 (a bad bearer token), 403 (a brand's public key). `next` is where
/// the login form sends back to.
pub(crate) fn require_admin(
    state: &AppState,
    headers: &HeaderMap,
    lang: &str,
    next: &str,
) -> Result<Caller, Box<Response>> {
    let l = labels(lang);
    let has_header =
        headers.contains_key(header::AUTHORIZATION) || headers.contains_key("x-api-key");
    if has_header {
        return match authenticate(&state.secrets, headers) {
            Ok(Caller::Admin) => Ok(Caller::Admin),
            Ok(Caller::Brand(_)) => Err(Box::new(message_page(
                StatusCode::FORBIDDEN,
                lang,
                l.forbidden_title,
                l.not_admin,
                Audience::Public,
            ))),
            Err(p) => {
                let mut res = message_page(
                    StatusCode::UNAUTHORIZED,
                    lang,
                    l.login_title,
                    l.bad_token,
                    Audience::Public,
                );
                for (name, value) in p.headers {
                    res.headers_mut().insert(name, value);
                }
                Err(Box::new(res))
            }
        };
    }
    match cookie_token(headers).map(|t| state.sessions.check(&state.secrets, t)) {
        Some(Ok(_)) => Ok(Caller::Admin),
        Some(Err(error)) => {
            tracing::debug!(%error, "session cookie refused");
            Err(Box::new(login_redirect(next)))
        }
        None => Err(Box::new(login_redirect(next))),
    }
}

/// The `Set-Cookie` value of the session cookie: HttpOnly, SameSite=Strict, for the whole
/// site, `Secure` when the public URL is https (the browser then never sends it in clear).
/// An empty `value` with `max_age` 0 clears it.
pub(crate) fn session_cookie(state: &AppState, value: &str, max_age: u64) -> String {
    let secure = state
        .config
        .public_url
        .get(..8)
        .is_some_and(|scheme| scheme.eq_ignore_ascii_case("https://"));
    format!(
        "{COOKIE}={value}; HttpOnly; SameSite=Strict; Path=/; Max-Age={max_age}{}",
        if secure { "; Secure" } else { "" }
    )
}

/// Whether a state-changing request comes from this site: `Sec-Fetch-Site` (set by the
/// browser, out of reach of pages) decides when sent; otherwise an `Origin` header, when
/// present, must name the request's `Host`.
pub(crate) fn same_origin(headers: &HeaderMap) -> bool {
    match headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        Some(site) if site.eq_ignore_ascii_case("same-origin") => return true,
        Some(site) if !site.eq_ignore_ascii_case("none") => return false,
        _ => {}
    }
    let Some(origin) = headers.get(header::ORIGIN) else {
        return true;
    };
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    match (origin.to_str().ok(), host) {
        (Some(origin), Some(host)) => origin.split_once("://").is_some_and(|(_, authority)| {
            authority.trim_end_matches('/').eq_ignore_ascii_case(host)
        }),
        _ => false,
    }
}

/// The 403 page of a cross-origin POST.
pub(crate) fn cross_origin_page(lang: &str) -> Response {
    let l = labels(lang);
    message_page(
        StatusCode::FORBIDDEN,
        lang,
        l.forbidden_title,
        l.cross_origin,
        Audience::Public,
    )
}

/// A local path to go back to after login: starts with one `/`, no `\`, no control
/// character; anything else becomes `/analytics`.
pub(crate) fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && !n.contains('\\')
                && n.len() <= 2048
                && !n.chars().any(char::is_control) =>
        {
            n.to_owned()
        }
        _ => "/analytics".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    #[test]
    fn next_stays_on_this_site() {
        assert_eq!(
            safe_next(Some("/analytics?brandId=b")),
            "/analytics?brandId=b"
        );
        for bad in [
            "//evil.example",
            "https://evil.example",
            "/\\evil",
            "",
            "analytics",
        ] {
            assert_eq!(safe_next(Some(bad)), "/analytics", "{bad}");
        }
        assert_eq!(safe_next(None), "/analytics");
    }

    #[test]
    fn origin_must_match_the_host() {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_static("127.0.0.1:3333"));
        assert!(same_origin(&h), "no Origin: a same-site form or a script");
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://127.0.0.1:3333"),
        );
        assert!(same_origin(&h));
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://evil.example"),
        );
        assert!(!same_origin(&h));
        h.insert(header::ORIGIN, HeaderValue::from_static("null"));
        assert!(!same_origin(&h));
        h.insert("sec-fetch-site", HeaderValue::from_static("same-origin"));
        assert!(same_origin(&h), "the browser says so, whatever Origin says");
        h.insert("sec-fetch-site", HeaderValue::from_static("same-site"));
        assert!(!same_origin(&h), "a sibling subdomain is another origin");
    }

    #[test]
    fn the_cookie_is_found_among_others() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; quota_admin=tok.en.x; b=2"),
        );
        assert_eq!(cookie_token(&h), Some("tok.en.x"));
    }
}
