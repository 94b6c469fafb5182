//! `GET /monitoring` (admin): the store answers or not (a real ping and a subscription read,
//! under a timeout), each alert channel with its outbox backlog, and the server's settings
//! that matter to support (checkout, share revocations, dev clock).

use std::time::{Duration, Instant};

use axum::extract::{Query, State};
use axum::response::Response;
use http::{HeaderMap, StatusCode, Uri};
use maud::{Markup, html};
use quota_core::outbox::OutboxStatus;
use serde::Deserialize;

use crate::pages::admin::require_admin;
use crate::pages::i18n::{Labels, labels};
use crate::pages::layout::{Audience, Page, admin_header, page_lang, with_query};
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
    let store = store_health(&state, lang).await;
    let sinks = sink_health(&state, l).await;
    let b = html! {
        h1 { (l.monitoring) }
        (store)
        (sinks)
        (server_card(&state, lang))
    };
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

async fn store_health(state: &AppState, lang: &str) -> Markup {
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
    html! {
        section class="card" data-testid="store-health" data-ok=(ok) data-store=(kind)
            aria-labelledby="store-h" {
            h2 id="store-h" { (l.store_health) }
            p { strong { (kind) } " " span class={ "badge " (badge) } { (text) } }
        }
    }
}

fn count(n: usize) -> String {
    if n >= COUNT_LIMIT {
        format!("{COUNT_LIMIT}+")
    } else {
        n.to_string()
    }
}

/// The pending and dead-letter counts of one channel (`?` when the outbox cannot be read).
async fn outbox_counts(alerts: &crate::state::Alerts, sink: &str) -> [String; 2] {
    let mut cells = [String::new(), String::new()];
    for (cell, status) in cells
        .iter_mut()
        .zip([OutboxStatus::Pending, OutboxStatus::Dead])
    {
        *cell = match alerts
            .outbox
            .outbox_records(sink, status, COUNT_LIMIT)
            .await
        {
            Ok(list) => count(list.len()),
            Err(e) => {
                tracing::debug!(sink, error = %e, "monitoring: outbox count failed");
                "?".to_owned()
            }
        };
    }
    cells
}

async fn sink_health(state: &AppState, l: &Labels) -> Markup {
    let Some(alerts) = state.alerts.as_ref().filter(|a| !a.sinks.is_empty()) else {
        return html! {
            section class="card" data-testid="sink-health" aria-labelledby="sinks-h" {
                h2 id="sinks-h" { (l.alert_sinks) }
                p data-testid="no-sink" { (l.no_sink) }
            }
        };
    };
    let mut rows = Vec::with_capacity(alerts.sinks.len());
    for sink in &alerts.sinks {
        rows.push((sink, outbox_counts(alerts, sink).await));
    }
    html! {
        section class="card" data-testid="sink-health" aria-labelledby="sinks-h" {
            h2 id="sinks-h" { (l.alert_sinks) }
            div class="table-wrap" {
                table {
                    thead {
                        tr {
                            th scope="col" { (l.sink) }
                            th scope="col" { (l.pending) }
                            th scope="col" { (l.dead_letters) }
                        }
                    }
                    tbody {
                        @for (sink, cells) in &rows {
                            tr data-testid="sink-row" data-sink=(sink) {
                                th scope="row" { (sink) }
                                @for c in cells {
                                    td { (c) }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn server_card(state: &AppState, lang: &str) -> Markup {
    let l = labels(lang);
    let clock = match &state.dev_clock {
        Some(c) => format!("{} s", c.offset().num_seconds()),
        None => l.off.to_owned(),
    };
    let brands = state.tracked_brands();
    html! {
        section class="card" aria-labelledby="server-h" {
            h2 id="server-h" { (l.server) }
            dl class="kv" {
                dt { (l.now) }
                dd { (fmt_datetime(state.guard.clock().now(), lang)) }
                dt { (l.dev_clock) }
                dd { (clock) }
                dt { (l.checkout_provider) }
                dd { (state.payments.provider_name()) }
                dt { (l.share_revocations) }
                dd { (state.share.revocations_in) }
            }
            p class="row" {
                a data-testid="link-metrics-page" href="/metrics" { "/metrics" }
                a data-testid="link-healthz" href="/healthz" { "/healthz" }
                a data-testid="link-cockpit-page" href=(with_query("/analytics", &[("lang", lang)])) {
                    (l.cockpit)
                }
            }
            @if !brands.is_empty() {
                ul {
                    @for brand in brands.iter().take(BRANDS_LISTED) {
                        li {
                            a href=(with_query("/analytics", &[("brandId", brand), ("lang", lang)])) {
                                (brand)
                            }
                        }
                    }
                }
            }
        }
    }
}
