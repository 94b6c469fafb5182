//! The cockpit: `GET /analytics` (the brand's snapshot, its top-ups and the share form),
//! `POST /analytics/topup` (starts a checkout as the API does, 303 to it) and
//! `POST /analytics/share` (issues a link as the API does, shows it). Admins only.

use std::fmt::Write as _;

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use http::{HeaderMap, StatusCode, Uri};
use quota_core::QuotaError;
use quota_core::report::Snapshot;
use quota_payments::StartCheckout;
use quota_share::ShareLink;
use serde::Deserialize;

use crate::api::share::issue_link;
use crate::api::topups::{host, open_checkout};
use crate::pages::PageForm;
use crate::pages::admin::{cross_origin_page, require_admin, same_origin};
use crate::pages::i18n::{labels, topup_status};
use crate::pages::layout::{
    Audience, Page, admin_header, esc, message_page, page_lang, with_query,
};
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
}

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
            "brandId, lang, topup",
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
    let extras = Extras {
        toast,
        ..Extras::default()
    };
    let brand = q.brand_id.as_deref().unwrap_or(&state.config.default_brand);
    render(&state, brand, lang, &pairs, extras, StatusCode::OK).await
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
    let scheme = if headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("https"))
    {
        "https"
    } else {
        "http"
    };
    let origin = host(&headers).map_or_else(String::new, |h| format!("{scheme}://{h}"));
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
    match open_checkout(&state, &crate::auth::Caller::Admin, &req, host(&headers)).await {
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

/// `POST /analytics/share`: the cockpit with the new link.
pub async fn share(
    State(state): State<AppState>,
    headers: HeaderMap,
    PageForm(f): PageForm<CockpitForm>,
) -> Response {
    let (lang, brand) = match form_context(&state, &headers, &f) {
        Ok(c) => c,
        Err(res) => return *res,
    };
    let (extras, status) = match issue_link(&state, &crate::auth::Caller::Admin, brand, None).await
    {
        Ok(link) => (
            Extras {
                share: Some(link),
                ..Extras::default()
            },
            StatusCode::OK,
        ),
        Err(p) => (
            Extras {
                error: Some(format!(
                    "{}{}{}",
                    labels(lang).share_failed,
                    labels(lang).colon,
                    p.detail
                )),
                ..Extras::default()
            },
            p.status,
        ),
    };
    render(&state, brand, lang, &form_pairs(brand), extras, status).await
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

fn cockpit_main(snap: &Snapshot, lang: &str, extras: &Extras) -> String {
    let l = labels(lang);
    let brand = esc(&snap.brand_id);
    let mut b = format!(
        "<div class=\"row\"><h1>{} — <span data-testid=\"brand-id\">{brand}</span></h1><form method=\"get\" action=\"/analytics\" class=\"inline\" data-testid=\"brand-form\"><input type=\"hidden\" name=\"lang\" value=\"{lang}\"><label>{}<input name=\"brandId\" value=\"{brand}\" required></label><button type=\"submit\" class=\"secondary\">{}</button></form></div>",
        l.cockpit_title, l.brand, l.show,
    );
    if let Some((kind, text)) = extras.toast {
        let _ = write!(
            b,
            "<div class=\"toast {kind}\" role=\"status\" data-testid=\"toast\">{text}</div>"
        );
    }
    if let Some(e) = &extras.error {
        let _ = write!(
            b,
            "<div class=\"error\" role=\"alert\" data-testid=\"error\">{}</div>",
            esc(e)
        );
    }
    b.push_str(&sections(snap, lang, Mode::Cockpit));
    b.push_str("<div class=\"grid\">");
    topup_card(&mut b, snap, lang);
    share_card(&mut b, snap, lang, extras.share.as_ref());
    b.push_str("</div>");
    topup_history(&mut b, snap, lang);
    b
}

fn hidden_fields(snap: &Snapshot, lang: &str) -> String {
    format!(
        "<input type=\"hidden\" name=\"brandId\" value=\"{}\"><input type=\"hidden\" name=\"lang\" value=\"{lang}\">",
        esc(&snap.brand_id)
    )
}

fn topup_card(b: &mut String, snap: &Snapshot, lang: &str) {
    let l = labels(lang);
    let _ = write!(
        b,
        "<section class=\"card\" aria-labelledby=\"topup-h\"><h2 id=\"topup-h\">{}</h2>",
        l.buy_credits_title
    );
    let options: String = snap
        .metrics
        .iter()
        .filter(|m| m.accepts_topups)
        .map(|m| {
            format!(
                "<option value=\"{}\">{}</option>",
                esc(&m.metric),
                esc(&m.name)
            )
        })
        .collect();
    if options.is_empty() {
        let _ = write!(b, "<p class=\"muted\">{}</p>", l.no_topup_metric);
    } else {
        let _ = write!(
            b,
            "<form method=\"post\" action=\"/analytics/topup\" class=\"inline\" data-testid=\"topup-form\">{}<label>{}<select name=\"metric\" data-testid=\"topup-metric\">{options}</select></label><label>{}<input type=\"number\" name=\"units\" min=\"1\" step=\"1\" value=\"25\" required data-testid=\"topup-units\"></label><button type=\"submit\" data-testid=\"topup-button\">{}</button></form>",
            hidden_fields(snap, lang),
            l.metric,
            l.units,
            l.buy_credits,
        );
    }
    b.push_str("</section>");
}

fn share_card(b: &mut String, snap: &Snapshot, lang: &str, link: Option<&ShareLink>) {
    let l = labels(lang);
    let _ = write!(
        b,
        "<section class=\"card\" aria-labelledby=\"share-h\"><h2 id=\"share-h\">{}</h2><p class=\"muted\">{}</p><form method=\"post\" action=\"/analytics/share\" data-testid=\"share-form\">{}<button type=\"submit\" data-testid=\"share-button\">{}</button></form>",
        l.share_title_card,
        l.share_hint,
        hidden_fields(snap, lang),
        l.share,
    );
    if let Some(link) = link {
        let _ = write!(
            b,
            "<p><label for=\"share-url\">{}</label></p><div class=\"share-url\"><input id=\"share-url\" type=\"text\" readonly value=\"{}\" data-testid=\"share-url\"><button type=\"button\" data-testid=\"copy-button\" data-copied=\"{}\">{}</button></div><p class=\"muted\">{} {}</p>",
            l.share_url,
            esc(&link.url),
            l.copied,
            l.copy,
            l.valid_until,
            fmt_datetime(link.expires_at, lang),
        );
    }
    b.push_str("</section>");
}

fn topup_history(b: &mut String, snap: &Snapshot, lang: &str) {
    let l = labels(lang);
    let _ = write!(
        b,
        "<section class=\"card\" aria-labelledby=\"history-h\"><h2 id=\"history-h\">{}</h2><div class=\"table-wrap\"><table data-testid=\"topup-history\"><thead><tr><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th></tr></thead><tbody>",
        l.topup_history, l.date, l.metric, l.units, l.status,
    );
    for t in &snap.topups {
        let _ = write!(
            b,
            "<tr data-testid=\"topup-row\" data-status=\"{}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            t.status.as_str(),
            fmt_datetime(t.created_at, lang),
            esc(&t.metric),
            t.units,
            topup_status(t.status, lang),
        );
    }
    b.push_str("</tbody></table></div>");
    if snap.topups.is_empty() {
        let _ = write!(b, "<p class=\"muted\">{}</p>", l.no_topups);
    }
    b.push_str("</section>");
}
