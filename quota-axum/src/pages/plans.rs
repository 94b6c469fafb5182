//! `GET /plans`: the plan catalog ("Comparer les plans"), one row per plan with its price and,
//! per metric, the included units and what happens past them. Public: these are list prices.

use std::fmt::Write as _;

use axum::extract::{Query, State};
use axum::response::Response;
use http::{HeaderMap, StatusCode};
use quota_core::{Catalog, Limit, OveragePolicy};
use serde::Deserialize;

use crate::pages::i18n::labels;
use crate::pages::layout::{Audience, BRAND_HEADER, Page, esc, lang_links, page_lang};
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
            format!("{included} ({}: {price}{per}{cap})", l.overage_charged)
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
    let mut b = format!(
        "<h1>{}</h1><section class=\"card\"><div class=\"table-wrap\"><table data-testid=\"plans-table\"><thead><tr><th scope=\"col\">{}</th><th scope=\"col\">{}</th>",
        l.catalog_title, l.plan, l.price
    );
    for m in catalog.metrics() {
        let _ = write!(b, "<th scope=\"col\">{}</th>", esc(&m.name));
    }
    b.push_str("</tr></thead><tbody>");
    for p in catalog.plans() {
        let _ = write!(
            b,
            "<tr data-testid=\"plan-row\" data-plan=\"{}\"><th scope=\"row\">{}</th><td class=\"money\">{} {}</td>",
            esc(&p.id),
            esc(&p.name),
            esc(&format_money(p.price, lang)),
            l.per_month,
        );
        for m in catalog.metrics() {
            let _ = write!(
                b,
                "<td>{}</td>",
                esc(&limit_text(p.limit(&m.key), catalog, lang))
            );
        }
        b.push_str("</tr>");
    }
    b.push_str("</tbody></table></div></section>");
    let query = vec![("lang".to_owned(), lang.to_owned())];
    Page {
        lang,
        title: l.catalog_title,
        header: format!("{BRAND_HEADER}{}", lang_links("/plans", &query, lang)),
        main: b,
        script: None,
        audience: Audience::Public,
    }
    .respond(StatusCode::OK)
}
