//! Share links: `POST /api/v1/usage-billing/share`, `DELETE /api/v1/usage-billing/share/{id}`
//! (admin) and the read-only page `GET /share/quota/{token}` (no credentials: the token is
//! the credential). A bad token of any kind gets the "Lien invalide" / "Invalid link" page,
//! 404 or 410 (expired, revoked), and never data.

use std::fmt::Write as _;
use std::time::Duration;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::response::{Html, IntoResponse, Response};
use chrono::{DateTime, Utc};
use http::{HeaderMap, HeaderValue, StatusCode, header};
use quota_core::Snapshot;
use quota_share::{IssueError, ShareTokenError};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth::Caller;
use crate::extract::ApiJson;
use crate::problem::Problem;
use crate::state::AppState;

/// Body of `POST /usage-billing/share`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ShareBody {
    brand_id: String,
    ttl_ms: Option<u64>,
}

/// `POST /usage-billing/share`: issues a signed link to a brand's snapshot (admin).
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<ShareBody>,
) -> Result<Response, Problem> {
    caller.require_admin()?;
    quota_core::validate_brand_id(&body.brand_id)
        .map_err(|e| Problem::bad_request(e.to_string()))?;
    // Only existing brands get links (404 otherwise).
    state.guard.subscription(&body.brand_id).await?;
    let link = state
        .share
        .issuer
        .issue(&body.brand_id, body.ttl_ms.map(Duration::from_millis))
        .map_err(|e| match e {
            IssueError::Random(_) => Problem::internal(e.to_string()),
            other => Problem::bad_request(other.to_string()),
        })?;
    let out = json!({
        "id": link.id,
        "token": link.token,
        "url": link.url,
        "expiresAt": link.expires_at,
    });
    Ok((StatusCode::CREATED, Json(out)).into_response())
}

/// `DELETE /usage-billing/share/{id}`: revokes a link (admin). Idempotent: 204 each time.
pub async fn revoke(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, Problem> {
    caller.require_admin()?;
    let ok = id.len() <= 80
        && id
            .strip_prefix("sh_")
            .is_some_and(|h| !h.is_empty() && h.bytes().all(|b| b.is_ascii_alphanumeric()));
    if !ok {
        return Err(Problem::bad_request(
            "a share link id looks like `sh_` followed by letters and digits (the `id` returned when it was issued)",
        ));
    }
    state
        .share
        .issuer
        .revoke(&*state.share.revocations, &id)
        .await
        .map_err(quota_core::QuotaError::from)?;
    Ok(StatusCode::NO_CONTENT)
}

/// Query of the share page.
#[derive(Debug, Deserialize)]
pub struct PageQuery {
    lang: Option<String>,
}

/// The page language: `?lang=`, else the first of `Accept-Language`, else French.
pub(crate) fn page_lang(query: Option<&str>, headers: &HeaderMap) -> &'static str {
    let pick = |s: &str| {
        let s = s.trim().to_ascii_lowercase();
        if s.starts_with("en") {
            Some("en")
        } else if s.starts_with("fr") {
            Some("fr")
        } else {
            None
        }
    };
    if let Some(l) = query.and_then(pick) {
        return l;
    }
    headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').find_map(|part| pick(part.split(';').next()?)))
        .unwrap_or("fr")
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
        Ok(snap) => html(
            StatusCode::OK,
            render_snapshot(&snap, claims.expires_at(), lang),
        ),
        Err(quota_core::QuotaError::UnknownBrand(_)) => {
            invalid_page(&ShareTokenError::Malformed("unknown brand"), lang)
        }
        Err(e) => {
            tracing::warn!(error = %e, "share page: snapshot failed");
            let (title, text) = if lang == "en" {
                ("Temporarily unavailable", "Please try again in a moment.")
            } else {
                (
                    "Temporairement indisponible",
                    "Merci de réessayer dans un instant.",
                )
            };
            html(
                StatusCode::SERVICE_UNAVAILABLE,
                shell(lang, title, &format!("<h1>{title}</h1><p>{text}</p>")),
            )
        }
    }
}

fn html(status: StatusCode, body: String) -> Response {
    let mut res = (status, Html(body)).into_response();
    let h = res.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert("x-robots-tag", HeaderValue::from_static("noindex"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; form-action 'none'",
        ),
    );
    res
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
    html(
        status,
        shell(lang, title, &format!("<h1>{title}</h1><p>{text}</p>")),
    )
}

/// Escapes text for HTML.
pub(crate) fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A whole page around `body`.
pub(crate) fn shell(lang: &str, title: &str, body: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"{lang}\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><meta name=\"robots\" content=\"noindex\"><title>{}</title><style>body{{font-family:system-ui,sans-serif;max-width:860px;margin:2rem auto;padding:0 1rem;color:#1a1a1a}}table{{border-collapse:collapse;width:100%}}td,th{{border-bottom:1px solid #ddd;padding:.4rem;text-align:left}}.card{{border:1px solid #ddd;border-radius:8px;padding:1rem;margin:1rem 0}}.b-critical,.b-blocked{{color:#b00020}}.b-warning{{color:#a15c00}}.muted{{color:#666}}</style></head><body>\n{body}\n</body></html>\n",
        esc(title)
    )
}

fn fmt_date(at: DateTime<Utc>, lang: &str) -> String {
    if lang == "en" {
        at.format("%Y-%m-%d %H:%M UTC").to_string()
    } else {
        at.format("%d/%m/%Y %H:%M UTC").to_string()
    }
}

fn event_label(e: &Value, lang: &str) -> String {
    let kind = e.get("type").and_then(Value::as_str).unwrap_or("");
    let t = e
        .get("threshold")
        .and_then(Value::as_u64)
        .map(|t| t.to_string())
        .unwrap_or_default();
    let en = lang == "en";
    match kind {
        "threshold_crossed" if en => format!("Threshold {t} % crossed"),
        "threshold_crossed" => format!("Seuil de {t} % franchi"),
        "alert_resolved" if en => format!("Back under {t} %"),
        "alert_resolved" => format!("Repassé sous {t} %"),
        "blocked" if en => "Blocked at the hard limit".into(),
        "blocked" => "Bloqué à la limite".into(),
        "top_up_completed" | "topup_completed" if en => "Top-up completed".into(),
        "top_up_completed" | "topup_completed" => "Recharge effectuée".into(),
        "plan_changed" if en => "Plan changed".into(),
        "plan_changed" => "Changement de plan".into(),
        "period_reset" if en => "Period reset".into(),
        "period_reset" => "Période réinitialisée".into(),
        other => esc(other),
    }
}

/// The read-only snapshot page: plan card, metrics (used / limit / %), timeline. No form,
/// no button, no link that acts.
pub fn render_snapshot(snap: &Snapshot, link_expires: DateTime<Utc>, lang: &str) -> String {
    let en = lang == "en";
    let (t_title, t_plan, t_price, t_overage, t_total, t_metric, t_used, t_limit, t_pct, t_tl) =
        if en {
            (
                "Quota usage",
                "Plan",
                "Price",
                "Overage so far",
                "Estimated total",
                "Metric",
                "Used",
                "Limit",
                "%",
                "Timeline",
            )
        } else {
            (
                "Consommation des quotas",
                "Plan",
                "Prix",
                "Dépassement à ce jour",
                "Total estimé",
                "Métrique",
                "Utilisé",
                "Limite",
                "%",
                "Historique",
            )
        };
    let unlimited = if en { "unlimited" } else { "illimité" };
    let mut b = String::new();
    let _ = write!(
        b,
        "<h1>{t_title} — {}</h1><p class=\"muted\">{} {} → {} · {} {}</p>",
        esc(&snap.brand_id),
        if en { "Period" } else { "Période" },
        fmt_date(snap.period.start, lang),
        fmt_date(snap.period.end, lang),
        if en {
            "read-only link, valid until"
        } else {
            "lien en lecture seule, valable jusqu'au"
        },
        fmt_date(link_expires, lang),
    );
    let p = &snap.plan;
    let _ = write!(
        b,
        "<section class=\"card\" id=\"plan\"><h2>{t_plan} : {}</h2><p>{t_price} : {}<br>{t_overage} : {}<br>{t_total} : {}</p></section>",
        esc(&p.name),
        esc(&p.price.to_string()),
        esc(&p.overage_so_far.to_string()),
        esc(&p.estimated_total.to_string()),
    );
    let _ = write!(
        b,
        "<section id=\"metrics\"><table><thead><tr><th>{t_metric}</th><th>{t_used}</th><th>{t_limit}</th><th>{t_pct}</th><th></th></tr></thead><tbody>"
    );
    for m in &snap.metrics {
        let status = match &m.projection {
            Some(pr) => pr.status.label(lang),
            None if m.blocked => quota_core::ProjectionStatus::ImmediateAction.label(lang),
            None => quota_core::ProjectionStatus::Stable.label(lang),
        };
        let badge = m.badge.map_or("ok", |s| s.as_str());
        let _ = write!(
            b,
            "<tr data-metric=\"{}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"b-{badge}\">{}</td></tr>",
            esc(&m.metric),
            esc(&m.name),
            m.used,
            m.limit
                .map_or_else(|| unlimited.to_owned(), |l| l.to_string()),
            m.percent
                .map_or_else(|| "—".to_owned(), |p| format!("{p} %")),
            esc(status),
        );
    }
    b.push_str("</tbody></table></section>");
    let _ = write!(b, "<section id=\"timeline\"><h2>{t_tl}</h2><ul>");
    if snap.timeline.is_empty() {
        let _ = write!(
            b,
            "<li class=\"muted\">{}</li>",
            if en {
                "Nothing this period."
            } else {
                "Rien sur cette période."
            }
        );
    }
    for e in snap.timeline.iter().take(50) {
        let v = serde_json::to_value(e).unwrap_or_default();
        let _ = write!(
            b,
            "<li>{} — {}{}</li>",
            fmt_date(e.at, lang),
            event_label(&v, lang),
            e.metric
                .as_deref()
                .map(|m| format!(" ({})", esc(m)))
                .unwrap_or_default(),
        );
    }
    b.push_str("</ul></section>");
    shell(lang, t_title, &b)
}
