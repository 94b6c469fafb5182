//! `GET /plans`: the plan catalog ("Comparer les plans"), one row per plan with its price and,
//! per metric, the included units and what happens past them. Public: these are list prices.

use axum::extract::{Query, State};
use axum::response::Response;
use http::{HeaderMap, StatusCode};
use maud::html;
use quota_core::{Catalog, Limit, OveragePolicy};
use serde::Deserialize;

use crate::pages::i18n::labels;
use crate::pages::layout::{Audience, Page, page_lang, public_header};
use crate::pages::money::format_money;
use crate::state::AppState;

/// Query of `/plans`.
#[derive(Debug, Deserialize)]
pub struct PlansQuery {
    lang: Option<String>,
}

fn limit_text(limit: Option<&Limit>, catalog: &Catalog, lang: &str) -> String {
    let l = labels(lang);
    let Some(limit) = limit else {
        return "—".to_owned();
    };
    let Some(included) = limit.included else {
        return l.unlimited.to_owned();
    };
    match limit.overage {
        OveragePolicy::Charge {
            unit_price,
            per_units,
            cap,
        } => {
            let price = format_money(
                quota_core::Money::from_u128(u128::from(unit_price), catalog.currency()),
                lang,
            );
            let per = if per_units.get() == 1 {
                String::new()
            } else {
                format!(" / {}", per_units.get())
            };
            let cap = cap.map_or_else(String::new, |c| {
                format!(
                    ", {} {}",
                    l.overage_capped,
                    format_money(
                        quota_core::Money::from_u128(u128::from(c), catalog.currency()),
                        lang
                    )
                )
            });
            format!(
                "{included} ({}{}{price}{per}{cap})",
                l.overage_charged, l.colon
            )
        }
        _ => format!("{included} ({})", l.overage_blocked),
    }
}

/// `GET /plans`.
pub async fn page(
    State(state): State<AppState>,
    Query(q): Query<PlansQuery>,
    headers: HeaderMap,
) -> Response {
    let lang = page_lang(q.lang.as_deref(), &headers);
    let l = labels(lang);
    let catalog = state.guard.catalog();
    let main = html! {
        h1 { (l.catalog_title) }
        section class="card" {
            div class="table-wrap" {
                table data-testid="plans-table" {
                    thead {
                        tr {
                            th scope="col" { (l.plan) }
                            th scope="col" { (l.price) }
                            @for m in catalog.metrics() {
                                th scope="col" { (m.name) }
                            }
                        }
                    }
                    tbody {
                        @for p in catalog.plans() {
                            tr data-testid="plan-row" data-plan=(p.id) {
                                th scope="row" { (p.name) }
                                td class="money" { (format_money(p.price, lang)) " " (l.per_month) }
                                @for m in catalog.metrics() {
                                    td { (limit_text(p.limit(&m.key), catalog, lang)) }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    let query = vec![("lang".to_owned(), lang.to_owned())];
    Page {
        lang,
        title: l.catalog_title,
        header: public_header("/plans", &query, lang),
        main,
        script: None,
        audience: Audience::Public,
    }
    .respond(StatusCode::OK)
}
