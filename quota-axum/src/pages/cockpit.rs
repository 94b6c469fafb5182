//! The cockpit: `GET /analytics` (the brand's snapshot, its top-ups and the share form),
//! `POST /analytics/topup` (starts a checkout as the API does, 303 to it) and
//! `POST /analytics/share` (issues a link as the API does, shows it). Admins only.

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use http::{HeaderMap, StatusCode, Uri};
use maud::{Markup, html};
use quota_core::QuotaError;
use quota_core::report::Snapshot;
use quota_payments::StartCheckout;
use quota_share::ShareLink;
use serde::Deserialize;

use crate::api::share::issue_link;
use crate::api::topups::open_checkout;
use crate::pages::PageForm;
use crate::pages::admin::{cross_origin_page, require_admin, same_origin};
use crate::pages::i18n::{labels, topup_status};
use crate::pages::layout::{Audience, Page, admin_header, message_page, page_lang, with_query};
use crate::pages::snapshot_view::{Mode, fmt_datetime, sections};
use crate::problem::Problem;
use crate::state::AppState;

/// Copies the share URL (progressive enhancement: the URL is selectable without it).
const COPY_SCRIPT: &str = "document.querySelectorAll('[data-testid=\"copy-button\"]').forEach(function(b){b.addEventListener('click',function(){var i=document.getElementById('share-url');if(!i){return;}var done=function(){b.textContent=b.getAttribute('data-copied');};i.select();if(navigator.clipboard&&navigator.clipboard.writeText){navigator.clipboard.writeText(i.value).then(done,function(){});}});});";

/// Query of `GET /analytics`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CockpitQuery {
    brand_id: Option<String>,
    lang: Option<String>,
    topup: Option<String>,
    /// The token of a link the share form just issued (post/redirect/get): the card shows it
    /// again once the token checks out for this brand.
    shared: Option<String>,
}

/// Longest `shared` token the cockpit checks, bytes (issued tokens are far shorter).
const MAX_SHARED_TOKEN: usize = 2048;

/// Body of the cockpit's forms.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CockpitForm {
    brand_id: Option<String>,
    lang: Option<String>,
    metric: Option<String>,
    units: Option<String>,
}

/// What the cockpit shows besides the snapshot.
#[derive(Debug, Default)]
struct Extras {
    toast: Option<(&'static str, &'static str)>,
    error: Option<String>,
    share: Option<ShareLink>,
    /// "Talk to an expert" for this brand (`QUOTA_EXPERT_URL`), when configured.
    expert: Option<String>,
}

/// `GET /analytics`.
pub async fn page(State(state): State<AppState>, uri: Uri, headers: HeaderMap) -> Response {
    let query = Query::<CockpitQuery>::try_from_uri(&uri);
    let lang_param = query.as_ref().ok().and_then(|q| q.lang.clone());
    let lang = page_lang(lang_param.as_deref(), &headers);
    let next = uri
        .path_and_query()
        .map_or("/analytics", |pq| pq.as_str())
        .to_owned();
    if let Err(res) = require_admin(&state, &headers, lang, &next) {
        return *res;
    }
    let l = labels(lang);
    let Ok(Query(q)) = query else {
        return message_page(
            StatusCode::BAD_REQUEST,
            lang,
            l.bad_request_title,
            "brandId, lang, topup, shared",
            Audience::Admin,
        );
    };
    let pairs = Query::<Vec<(String, String)>>::try_from_uri(&uri)
        .map(|Query(p)| p)
        .unwrap_or_default();
    let toast = match q.topup.as_deref() {
        Some("success") => Some(("ok", l.topup_success)),
        Some("cancel") => Some(("cancel", l.topup_cancel)),
        _ => None,
    };
    let brand = q.brand_id.as_deref().unwrap_or(&state.config.default_brand);
    let share = match q.shared.as_deref() {
        Some(token) => shared_link(&state, brand, token).await,
        None => None,
    };
    // The token stays out of the page's other links (language switch).
    let pairs: Vec<(String, String)> = pairs.into_iter().filter(|(k, _)| k != "shared").collect();
    let extras = Extras {
        toast,
        share,
        ..Extras::default()
    };
    render(&state, brand, lang, &pairs, extras, StatusCode::OK).await
}

/// The link the share form issued, back from its token: shown only when the token verifies
/// (signature, expiry, not revoked) and names this brand.
async fn shared_link(state: &AppState, brand: &str, token: &str) -> Option<ShareLink> {
    if token.len() > MAX_SHARED_TOKEN {
        return None;
    }
    let claims = state
        .share
        .issuer
        .verify(state.share.revocations.as_ref(), token)
        .await
        .ok()
        .filter(|c| c.brand == brand)?;
    state.share.issuer.link_of(token, &claims)
}

/// The form's language and brand, after the same-origin and admin checks.
fn form_context<'a>(
    state: &'a AppState,
    headers: &HeaderMap,
    f: &'a CockpitForm,
) -> Result<(&'static str, &'a str), Box<Response>> {
    let lang = page_lang(f.lang.as_deref(), headers);
    if !same_origin(headers) {
        return Err(Box::new(cross_origin_page(lang)));
    }
    let brand = f.brand_id.as_deref().unwrap_or(&state.config.default_brand);
    let back = with_query("/analytics", &[("brandId", brand), ("lang", lang)]);
    require_admin(state, headers, lang, &back)?;
    Ok((lang, brand))
}

fn form_pairs(brand: &str) -> Vec<(String, String)> {
    vec![("brandId".to_owned(), brand.to_owned())]
}

/// `POST /analytics/topup`: 303 to the checkout page, or the cockpit with the error.
pub async fn topup(
    State(state): State<AppState>,
    headers: HeaderMap,
    PageForm(f): PageForm<CockpitForm>,
) -> Response {
    let (lang, brand) = match form_context(&state, &headers, &f) {
        Ok(c) => c,
        Err(res) => return *res,
    };
    let l = labels(lang);
    let failed = |detail: &str| Extras {
        error: Some(format!("{}{}{detail}", l.topup_failed, l.colon)),
        ..Extras::default()
    };
    let units = f
        .units
        .as_deref()
        .and_then(|u| u.trim().parse::<u64>().ok())
        .filter(|u| *u >= 1);
    let Some(units) = units else {
        let extras = failed(l.bad_units);
        return render(
            &state,
            brand,
            lang,
            &form_pairs(brand),
            extras,
            StatusCode::BAD_REQUEST,
        )
        .await;
    };
    let origin = state.config.public_url.trim_end_matches('/');
    let back = |outcome: &str| {
        format!(
            "{origin}{}",
            with_query(
                "/analytics",
                &[("brandId", brand), ("lang", lang), ("topup", outcome)]
            )
        )
    };
    let req = StartCheckout::new(
        brand,
        f.metric.as_deref().unwrap_or(""),
        units,
        back("success"),
        back("cancel"),
    );
    match open_checkout(&state, &crate::auth::Caller::Admin, &req).await {
        Ok((url, started)) => {
            tracing::info!(topup = %started.topup.id, brand, "cockpit top-up checkout started");
            Redirect::to(&url).into_response()
        }
        Err(p) => {
            let status = p.status;
            let extras = failed(&p.detail);
            render(&state, brand, lang, &form_pairs(brand), extras, status).await
        }
    }
}

/// `POST /analytics/share`: 303 to the cockpit showing the new link.
pub async fn share(
    State(state): State<AppState>,
    headers: HeaderMap,
    PageForm(f): PageForm<CockpitForm>,
) -> Response {
    let (lang, brand) = match form_context(&state, &headers, &f) {
        Ok(c) => c,
        Err(res) => return *res,
    };
    match issue_link(&state, &crate::auth::Caller::Admin, brand, None).await {
        // Post/redirect/get: a refresh shows the link again instead of issuing another.
        Ok(link) => Redirect::to(&with_query(
            "/analytics",
            &[("brandId", brand), ("lang", lang), ("shared", &link.token)],
        ))
        .into_response(),
        Err(p) => {
            let extras = Extras {
                error: Some(format!(
                    "{}{}{}",
                    labels(lang).share_failed,
                    labels(lang).colon,
                    p.detail
                )),
                ..Extras::default()
            };
            render(&state, brand, lang, &form_pairs(brand), extras, p.status).await
        }
    }
}

/// The cockpit of `brand`, or the 400 / 404 / 503 page.
async fn render(
    state: &AppState,
    brand: &str,
    lang: &'static str,
    query: &[(String, String)],
    extras: Extras,
    status: StatusCode,
) -> Response {
    let l = labels(lang);
    if let Err(e) = quota_core::ids::validate_brand_id(brand) {
        return message_page(
            StatusCode::BAD_REQUEST,
            lang,
            l.bad_request_title,
            &e.to_string(),
            Audience::Admin,
        );
    }
    let snap = match state.guard.snapshot(brand).await {
        Ok(s) => s,
        Err(QuotaError::UnknownBrand(_)) => {
            return message_page(
                StatusCode::NOT_FOUND,
                lang,
                l.unknown_brand_title,
                &format!("{} ({brand})", l.unknown_brand),
                Audience::Admin,
            );
        }
        Err(e) => {
            let p = Problem::from(e);
            return message_page(
                p.status,
                lang,
                l.unavailable_title,
                l.unavailable,
                Audience::Admin,
            );
        }
    };
    state.track_brand(brand);
    let extras = Extras {
        expert: state.config.expert_url.as_ref().map(|u| u.link_for(brand)),
        ..extras
    };
    let title = format!("{} — {brand}", l.cockpit_title);
    Page {
        lang,
        title: &title,
        header: admin_header(lang, "/analytics", query),
        main: cockpit_main(&snap, lang, &extras),
        script: Some(COPY_SCRIPT),
        audience: Audience::Admin,
    }
    .respond(status)
}

fn cockpit_main(snap: &Snapshot, lang: &str, extras: &Extras) -> Markup {
    let l = labels(lang);
    html! {
        div class="row" {
            h1 { (l.cockpit_title) " — " span data-testid="brand-id" { (snap.brand_id) } }
            form method="get" action="/analytics" class="inline" data-testid="brand-form" {
                input type="hidden" name="lang" value=(lang);
                label { (l.brand) input name="brandId" value=(snap.brand_id) required; }
                button type="submit" class="secondary" { (l.show) }
            }
        }
        @if let Some((kind, text)) = extras.toast {
            div class={ "toast " (kind) } role="status" data-testid="toast" { (text) }
        }
        @if let Some(e) = &extras.error {
            div class="error" role="alert" data-testid="error" { (e) }
        }
        (sections(snap, lang, Mode::Cockpit, extras.expert.as_deref()))
        div class="grid" {
            (topup_card(snap, lang))
            (share_card(snap, lang, extras.share.as_ref()))
        }
        (topup_history(snap, lang))
    }
}

/// The brand and language every cockpit form sends back.
fn hidden_fields(snap: &Snapshot, lang: &str) -> Markup {
    html! {
        input type="hidden" name="brandId" value=(snap.brand_id);
        input type="hidden" name="lang" value=(lang);
    }
}

fn topup_card(snap: &Snapshot, lang: &str) -> Markup {
    let l = labels(lang);
    let metrics: Vec<_> = snap.metrics.iter().filter(|m| m.accepts_topups).collect();
    html! {
        section class="card" aria-labelledby="topup-h" {
            h2 id="topup-h" { (l.buy_credits_title) }
            @if metrics.is_empty() {
                p class="muted" { (l.no_topup_metric) }
            } @else {
                form method="post" action="/analytics/topup" class="inline" data-testid="topup-form" {
                    (hidden_fields(snap, lang))
                    label {
                        (l.metric)
                        select name="metric" data-testid="topup-metric" {
                            @for m in &metrics {
                                option value=(m.metric) { (m.name) }
                            }
                        }
                    }
                    label {
                        (l.units)
                        input type="number" name="units" min="1" step="1" value="25" required
                            data-testid="topup-units";
                    }
                    button type="submit" data-testid="topup-button" { (l.buy_credits) }
                }
            }
        }
    }
}

fn share_card(snap: &Snapshot, lang: &str, link: Option<&ShareLink>) -> Markup {
    let l = labels(lang);
    html! {
        section class="card" aria-labelledby="share-h" {
            h2 id="share-h" { (l.share_title_card) }
            p class="muted" { (l.share_hint) }
            form method="post" action="/analytics/share" data-testid="share-form" {
                (hidden_fields(snap, lang))
                button type="submit" data-testid="share-button" { (l.share) }
            }
            @if let Some(link) = link {
                p { label for="share-url" { (l.share_url) } }
                div class="share-url" {
                    input id="share-url" type="text" readonly value=(link.url) data-testid="share-url";
                    button type="button" data-testid="copy-button" data-copied=(l.copied) { (l.copy) }
                }
                p class="muted" { (l.valid_until) " " (fmt_datetime(link.expires_at, lang)) }
            }
        }
    }
}

fn topup_history(snap: &Snapshot, lang: &str) -> Markup {
    let l = labels(lang);
    html! {
        section class="card" aria-labelledby="history-h" {
            h2 id="history-h" { (l.topup_history) }
            div class="table-wrap" {
                table data-testid="topup-history" {
                    thead {
                        tr {
                            th scope="col" { (l.date) }
                            th scope="col" { (l.metric) }
                            th scope="col" { (l.units) }
                            th scope="col" { (l.status) }
                        }
                    }
                    tbody {
                        @for t in &snap.topups {
                            tr data-testid="topup-row" data-status=(t.status.as_str()) {
                                td { (fmt_datetime(t.created_at, lang)) }
                                td { (t.metric) }
                                td { (t.units) }
                                td { (topup_status(t.status, lang)) }
                            }
                        }
                    }
                }
            }
            @if snap.topups.is_empty() {
                p class="muted" { (l.no_topups) }
            }
        }
    }
}
