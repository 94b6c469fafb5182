//! `GET /share/quota/{token}`: the snapshot a share link opens, read-only (no form, no
//! button, no call to action), rendered by the cockpit's own view. No credentials: the token
//! is the credential. A bad token of any kind gets the "Lien invalide" / "Invalid link" page,
//! 404 or 410 (expired, revoked), 503 when revocations cannot be read, and never data.

use axum::extract::{Path, Query, State};
use axum::response::Response;
use chrono::{DateTime, Utc};
use http::{HeaderMap, StatusCode};
use maud::html;
use quota_core::report::Snapshot;
use quota_share::ShareTokenError;
use serde::Deserialize;

use crate::pages::i18n::labels;
use crate::pages::layout::{Audience, Page, brand_header, message_page, page_lang, public_header};
use crate::pages::snapshot_view::{Mode, fmt_datetime, sections};
use crate::state::AppState;

/// Query of the share page.
#[derive(Debug, Deserialize)]
pub struct PageQuery {
    lang: Option<String>,
}

/// `GET /share/quota/{token}`: the snapshot, read-only, or the invalid-link page.
pub async fn page(
    State(state): State<AppState>,
    Path(token): Path<String>,
    Query(q): Query<PageQuery>,
    headers: HeaderMap,
) -> Response {
    let lang = page_lang(q.lang.as_deref(), &headers);
    let claims = match state
        .share
        .issuer
        .verify(&*state.share.revocations, &token)
        .await
    {
        Ok(c) => c,
        Err(e) => return invalid_page(&e, lang),
    };
    match state.guard.snapshot(&claims.brand).await {
        Ok(snap) => render_snapshot(&snap, claims.expires_at(), &token, lang),
        Err(quota_core::QuotaError::UnknownBrand(_)) => {
            invalid_page(&ShareTokenError::Malformed("unknown brand"), lang)
        }
        Err(e) => {
            tracing::warn!(error = %e, "share page: snapshot failed");
            let l = labels(lang);
            message_page(
                StatusCode::SERVICE_UNAVAILABLE,
                lang,
                l.unavailable_title,
                l.unavailable,
                Audience::Public,
            )
        }
    }
}

/// The invalid-link page: 410 for expired or revoked tokens, 503 when revocations cannot be
/// read, 404 otherwise. It shows no data.
fn invalid_page(e: &ShareTokenError, lang: &str) -> Response {
    let status = if e.is_gone() {
        StatusCode::GONE
    } else if e.is_unavailable() {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::NOT_FOUND
    };
    tracing::debug!(error = %e, "share page refused");
    let (title, text) = match (lang, e.is_gone()) {
        ("en", true) => (
            "Invalid link",
            "This share link has expired or was revoked. Ask for a new one.",
        ),
        ("en", false) => (
            "Invalid link",
            "This share link is not valid. Check that it was copied whole, or ask for a new one.",
        ),
        (_, true) => (
            "Lien invalide",
            "Ce lien de partage a expiré ou a été révoqué. Demandez-en un nouveau.",
        ),
        (_, false) => (
            "Lien invalide",
            "Ce lien de partage n'est pas valide. Vérifiez qu'il a été copié en entier, ou demandez-en un nouveau.",
        ),
    };
    Page {
        lang,
        title,
        header: brand_header(),
        main: html! {
            section class="card" data-testid="invalid-link" {
                h1 { (title) }
                p { (text) }
            }
        },
        script: None,
        audience: Audience::Share,
    }
    .respond(status)
}

/// The read-only snapshot page.
fn render_snapshot(
    snap: &Snapshot,
    link_expires: DateTime<Utc>,
    token: &str,
    lang: &str,
) -> Response {
    let l = labels(lang);
    let main = html! {
        h1 { (l.share_title) " — " (snap.brand_id) }
        p class="muted" { (l.read_only_until) " " (fmt_datetime(link_expires, lang)) }
        (sections(snap, lang, Mode::Share, None))
    };
    let path = format!("/share/quota/{token}");
    Page {
        lang,
        title: l.share_title,
        header: public_header(&path, &[], lang),
        main,
        script: None,
        audience: Audience::Share,
    }
    .respond(StatusCode::OK)
}
