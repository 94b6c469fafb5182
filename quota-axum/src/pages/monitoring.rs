//! `GET /monitoring` (admin): the store answers or not (a real ping and a subscription read,
//! under a timeout), each alert channel with its outbox backlog, and the server's settings
//! that matter to support (checkout, share revocations, dev clock).

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use axum::extract::{Query, State};
use axum::response::Response;
use http::{HeaderMap, StatusCode, Uri};
use quota_core::outbox::OutboxStatus;
use serde::Deserialize;

use crate::pages::admin::require_admin;
use crate::pages::i18n::{Labels, labels};
use crate::pages::layout::{Audience, Page, admin_header, esc, page_lang, with_query};
use crate::pages::snapshot_view::fmt_datetime;
use crate::state::AppState;

/// How long the store probe may take before the store counts as down.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(2);
/// Outbox records counted per channel and status (more shows as `1000+`).
const COUNT_LIMIT: usize = 1000;
/// Brands listed with a link to their cockpit.
const BRANDS_LISTED: usize = 20;

/// Query of `/monitoring`.
#[derive(Debug, Deserialize)]
pub struct MonitoringQuery {
    lang: Option<String>,
}

/// The store probe: `Ok(elapsed)` or why it failed.
async fn probe(state: &AppState) -> Result<Duration, String> {
    let started = Instant::now();
    let store = state.guard.store();
    let read = async {
        store.ping().await?;
        store
            .subscription(&state.config.default_brand)
            .await
            .map(|_| ())
    };
    match tokio::time::timeout(PROBE_TIMEOUT, read).await {
        Ok(Ok(())) => Ok(started.elapsed()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err(format!("no answer within {} s", PROBE_TIMEOUT.as_secs())),
    }
}

/// `GET /monitoring`.
pub async fn page(
    State(state): State<AppState>,
    Query(q): Query<MonitoringQuery>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let lang = page_lang(q.lang.as_deref(), &headers);
    let next = uri
        .path_and_query()
        .map_or("/monitoring", |pq| pq.as_str())
        .to_owned();
    if let Err(res) = require_admin(&state, &headers, lang, &next) {
        return *res;
    }
    let l = labels(lang);
    let mut b = format!("<h1>{}</h1>", l.monitoring);
    store_health(&mut b, &state, lang).await;
    sink_health(&mut b, &state, l).await;
    server_card(&mut b, &state, lang);
    let query = vec![("lang".to_owned(), lang.to_owned())];
    Page {
        lang,
        title: l.monitoring,
        header: admin_header(lang, "/monitoring", &query),
        main: b,
        script: None,
        audience: Audience::Admin,
    }
    .respond(StatusCode::OK)
}

async fn store_health(b: &mut String, state: &AppState, lang: &str) {
    let l = labels(lang);
    let kind = state.config.store_name;
    let (ok, text) = match probe(state).await {
        Ok(elapsed) => (
            true,
            format!(
                "OK — {} {:.1} ms",
                l.answered_in,
                elapsed.as_secs_f64() * 1000.0
            ),
        ),
        Err(e) => (false, format!("{}{}{e}", l.store_down, l.colon)),
    };
    let badge = if ok { "b-ok" } else { "b-blocked" };
    let _ = write!(
        b,
        "<section class=\"card\" data-testid=\"store-health\" data-ok=\"{ok}\" data-store=\"{kind}\" aria-labelledby=\"store-h\"><h2 id=\"store-h\">{}</h2><p><strong>{kind}</strong> <span class=\"badge {badge}\">{}</span></p></section>",
        l.store_health,
        esc(&text),
    );
}

fn count(n: usize) -> String {
    if n >= COUNT_LIMIT {
        format!("{COUNT_LIMIT}+")
    } else {
        n.to_string()
    }
}

async fn sink_health(b: &mut String, state: &AppState, l: &Labels) {
    let _ = write!(
        b,
        "<section class=\"card\" data-testid=\"sink-health\" aria-labelledby=\"sinks-h\"><h2 id=\"sinks-h\">{}</h2>",
        l.alert_sinks
    );
    let Some(alerts) = state.alerts.as_ref().filter(|a| !a.sinks.is_empty()) else {
        let _ = write!(b, "<p data-testid=\"no-sink\">{}</p></section>", l.no_sink);
        return;
    };
    let _ = write!(
        b,
        "<div class=\"table-wrap\"><table><thead><tr><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th></tr></thead><tbody>",
        l.sink, l.pending, l.dead_letters
    );
    for sink in &alerts.sinks {
        let mut cells = Vec::with_capacity(2);
        for status in [OutboxStatus::Pending, OutboxStatus::Dead] {
            cells.push(
                match alerts
                    .outbox
                    .outbox_records(sink, status, COUNT_LIMIT)
                    .await
                {
                    Ok(list) => count(list.len()),
                    Err(e) => {
                        tracing::debug!(sink, error = %e, "monitoring: outbox count failed");
                        "?".to_owned()
                    }
                },
            );
        }
        let _ = write!(
            b,
            "<tr data-testid=\"sink-row\" data-sink=\"{}\"><th scope=\"row\">{}</th>",
            esc(sink),
            esc(sink)
        );
        for c in cells {
            let _ = write!(b, "<td>{c}</td>");
        }
        b.push_str("</tr>");
    }
    b.push_str("</tbody></table></div></section>");
}

fn server_card(b: &mut String, state: &AppState, lang: &str) {
    let l = labels(lang);
    let clock = match &state.dev_clock {
        Some(c) => format!("{} s", c.offset().num_seconds()),
        None => l.off.to_owned(),
    };
    let _ = write!(
        b,
        "<section class=\"card\" aria-labelledby=\"server-h\"><h2 id=\"server-h\">{}</h2><dl class=\"kv\"><dt>{}</dt><dd>{}</dd><dt>{}</dt><dd>{}</dd><dt>{}</dt><dd>{}</dd><dt>{}</dt><dd>{}</dd></dl><p class=\"row\"><a data-testid=\"link-metrics-page\" href=\"/metrics\">/metrics</a><a data-testid=\"link-healthz\" href=\"/healthz\">/healthz</a><a data-testid=\"link-cockpit-page\" href=\"/analytics?lang={lang}\">{}</a></p>",
        l.server,
        l.now,
        fmt_datetime(state.guard.clock().now(), lang),
        l.dev_clock,
        esc(&clock),
        l.checkout_provider,
        esc(state.payments.provider.name()),
        l.share_revocations,
        state.share.revocations_in,
        l.cockpit,
    );
    let brands = state.tracked_brands();
    if !brands.is_empty() {
        b.push_str("<ul>");
        for brand in brands.iter().take(BRANDS_LISTED) {
            let href = with_query("/analytics", &[("brandId", brand), ("lang", lang)]);
            let _ = write!(b, "<li><a href=\"{}\">{}</a></li>", esc(&href), esc(brand));
        }
        b.push_str("</ul>");
    }
    b.push_str("</section>");
}
