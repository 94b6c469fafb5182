//! The snapshot as HTML: plan card, one card per metric (usage, badge, projection, chart),
//! timeline and recommendation. The cockpit and the share page both render it from here; in
//! share mode nothing acts (no link that buys, upgrades or mails).

use chrono::{DateTime, Utc};
use maud::{Markup, html};
use quota_core::report::{MetricSnapshot, ProjectionStatus, Snapshot, TimelineEvent};

use crate::pages::chart::{Frame, usage_chart};
use crate::pages::i18n::{
    Labels, event_text, labels, reason_text, risk_text, severity_label, severity_name,
};
use crate::pages::layout::with_query;
use crate::pages::money::format_money;

/// Most timeline events shown.
const TIMELINE_ITEMS: usize = 50;

/// Who looks at the snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// The admin cockpit: calls to action are links.
    Cockpit,
    /// A share link: read-only, calls to action are plain text or absent.
    Share,
}

/// A date and time, `30/11/2026 12:00 UTC` or `2026-11-30 12:00 UTC`.
pub(crate) fn fmt_datetime(at: DateTime<Utc>, lang: &str) -> String {
    if lang == "en" {
        at.format("%Y-%m-%d %H:%M UTC").to_string()
    } else {
        at.format("%d/%m/%Y %H:%M UTC").to_string()
    }
}

fn fmt_date(at: DateTime<Utc>, lang: &str) -> String {
    if lang == "en" {
        at.format("%Y-%m-%d").to_string()
    } else {
        at.format("%d/%m/%Y").to_string()
    }
}

/// `92 %` in French, `92%` in English.
pub(crate) fn percent(value: &str, lang: &str) -> String {
    if lang == "en" {
        format!("{value}%")
    } else {
        format!("{value} %")
    }
}

/// `data-status` of a projection status.
pub(crate) fn status_name(s: ProjectionStatus) -> &'static str {
    match s {
        ProjectionStatus::UnderStrain => "under_strain",
        ProjectionStatus::ImmediateAction => "immediate_action",
        _ => "stable",
    }
}

/// The period line: `Période : 01/11/2026 → 01/12/2026`.
fn period_line(snap: &Snapshot, lang: &str) -> String {
    let l = labels(lang);
    format!(
        "{}{}{} → {}",
        l.period,
        l.colon,
        fmt_date(snap.period.start, lang),
        fmt_date(snap.period.end, lang)
    )
}

/// Every section of the snapshot.
///
/// `expert` is where "Talk to an expert" leads on the cockpit (`QUOTA_EXPERT_URL`); the button
/// is not shown without it.
pub(crate) fn sections(snap: &Snapshot, lang: &str, mode: Mode, expert: Option<&str>) -> Markup {
    html! {
        div class="grid" {
            (plan_card(snap, lang))
            (recommendation_card(snap, lang, mode, expert))
        }
        (metric_cards(snap, lang, mode))
        (timeline(snap, lang))
    }
}

fn plan_card(snap: &Snapshot, lang: &str) -> Markup {
    let l = labels(lang);
    let p = &snap.plan;
    html! {
        section class="card" data-testid="plan-card" aria-labelledby="plan-h" {
            h2 id="plan-h" { (l.current_plan) }
            p { strong data-testid="plan-name" { (p.name) } }
            dl class="kv" {
                dt { (l.monthly_price) }
                dd class="money" data-testid="plan-price" { (format_money(p.price, lang)) }
                dt { (l.overage_estimate) }
                dd class="money" data-testid="overage-estimate" {
                    (format_money(p.estimated_overage, lang))
                }
                dt { (l.overage_so_far) }
                dd class="money" data-testid="overage-so-far" {
                    (format_money(p.overage_so_far, lang))
                }
                dt { (l.estimated_total) }
                dd class="money" data-testid="estimated-total" {
                    (format_money(p.estimated_total, lang))
                }
            }
            p class="muted" { (period_line(snap, lang)) }
        }
    }
}

fn metric_cards(snap: &Snapshot, lang: &str, mode: Mode) -> Markup {
    let frame = Frame {
        period_days: snap.period_days,
        start: snap.period.start,
        now: snap.generated_at,
    };
    html! {
        section aria-labelledby="metrics-h" id="metrics" {
            h2 id="metrics-h" { (labels(lang).quotas) }
            div class="grid" {
                @for m in &snap.metrics {
                    (metric_card(m, frame, lang, mode))
                }
            }
        }
    }
}

fn metric_card(m: &MetricSnapshot, frame: Frame, lang: &str, mode: Mode) -> Markup {
    let l = labels(lang);
    let sev = severity_name(m.badge);
    let heading = format!("m-{}", m.metric);
    let limit = m
        .limit
        .map_or_else(|| l.unlimited.to_owned(), |v| v.to_string());
    let pct = m
        .percent
        .map_or_else(|| "—".to_owned(), |p| percent(&p.to_string(), lang));
    let remaining = m
        .remaining
        .map_or_else(|| l.unlimited.to_owned(), |v| v.to_string());
    html! {
        article class="card metric" data-testid="metric-card" data-metric=(m.metric)
            aria-labelledby=(heading) {
            div class="row" {
                h3 id=(heading) { (m.name_in(lang)) }
                span class={ "badge b-" (sev) } data-testid="metric-badge" data-severity=(sev) {
                    (severity_label(m.badge, lang))
                }
            }
            dl class="kv" {
                dt { (l.used) }
                dd data-testid="metric-used" { (m.used) }
                dt { (l.limit) }
                dd data-testid="metric-limit" { (limit) }
                dt { (l.usage) }
                dd data-testid="metric-percent" { (pct) }
                dt { (l.remaining) }
                dd data-testid="metric-remaining" { (remaining) }
                dt { (l.topup_units) }
                dd data-testid="metric-topups" { (m.topup_units) }
            }
            @if m.blocked {
                div class="upgrade" {
                    p class="s-immediate_action" { strong { (l.blocked_note) } }
                    @if mode == Mode::Cockpit {
                        a class="button" data-testid="cta-upgrade"
                            href=(with_query("/plans", &[("lang", lang)])) { (l.upgrade) }
                    }
                }
            }
            @if let Some(p) = &m.projection {
                (projection(p, lang, l))
            }
            @if let Some(svg) = usage_chart(m, m.name_in(lang), frame, l) {
                (svg)
            }
        }
    }
}

fn projection(p: &quota_core::report::Projection, lang: &str, l: &Labels) -> Markup {
    let name = status_name(p.status);
    let ratio = p
        .projected_ratio
        .map(|r| format!(" ({})", percent(&format!("{:.0}", r * 100.0), lang)))
        .unwrap_or_default();
    let days = p.days_until_exhaustion.map(|d| {
        let mut n = format!("{d:.1}");
        if lang != "en" {
            n = n.replace('.', ",");
        }
        let unit = if (lang == "en" && (d - 1.0).abs() < f64::EPSILON) || (lang != "en" && d < 2.0)
        {
            l.day
        } else {
            l.days
        };
        format!("{n} {unit}")
    });
    html! {
        div class="projection" {
            div class="row" {
                span { (l.projection) }
                span class={ "badge s-" (name) } data-testid="projection-status" data-status=(name) {
                    (p.status.label(lang))
                }
            }
            p data-testid="projection-end" {
                (l.projected_end) (l.colon) strong { (p.projected_used) (ratio) }
            }
            p data-testid="projection-band" {
                (l.legend_band) (l.colon) (p.projected_low) " – " (p.projected_high)
            }
            @if let Some(days) = days {
                p data-testid="projection-days" { (l.runs_out_in) " " strong { (days) } }
            }
        }
    }
}

/// The API's spelling of an event's type (`top_up_completed`), not the short name.
fn event_type(e: &TimelineEvent) -> String {
    serde_json::to_value(&e.kind)
        .ok()
        .and_then(|v| v.get("type").and_then(|t| t.as_str()).map(str::to_owned))
        .unwrap_or_else(|| e.kind.name().to_owned())
}

fn timeline(snap: &Snapshot, lang: &str) -> Markup {
    html! {
        section class="card" id="timeline" aria-labelledby="timeline-h" {
            h2 id="timeline-h" { (labels(lang).timeline) }
            ol class="timeline" data-testid="timeline" {
                @if snap.stable || snap.timeline.is_empty() {
                    li data-testid="timeline-stable" {
                        (quota_core::report::stable_label(lang))
                    }
                }
                @for e in snap.timeline.iter().take(TIMELINE_ITEMS) {
                    (timeline_item(snap, e, lang))
                }
            }
        }
    }
}

fn timeline_item(snap: &Snapshot, e: &TimelineEvent, lang: &str) -> Markup {
    let sev = e.severity.as_str();
    html! {
        li data-testid="timeline-item" data-type=(event_type(e)) data-seq=(e.seq) {
            span class={ "badge b-" (sev) } data-testid="severity-badge" data-severity=(sev) {
                (severity_label(Some(e.severity), lang))
            }
            time datetime=(e.at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)) {
                (fmt_datetime(e.at, lang))
            }
            span { (event_text(e, lang)) }
            @if let Some(m) = &e.metric {
                span class="muted" { (metric_name(snap, m, lang)) }
            }
        }
    }
}

fn recommendation_card(snap: &Snapshot, lang: &str, mode: Mode, expert: Option<&str>) -> Markup {
    let l = labels(lang);
    let (name, reason, saving) = match &snap.recommendation {
        Some(r) => {
            let name = r.recommended.as_ref().map(|p| p.name.clone());
            let blocked = metric_names(snap, &r.current.blocked_metrics, lang);
            let reason = reason_text(r.reason, name.as_deref(), &blocked, lang);
            (
                name.unwrap_or_else(|| "—".to_owned()),
                reason,
                r.monthly_saving,
            )
        }
        None => (
            snap.plan.name.clone(),
            reason_text(
                quota_core::report::RecommendationReason::StayOnCurrent,
                None,
                &[],
                lang,
            ),
            quota_core::Money::zero(snap.plan.price.currency),
        ),
    };
    let saving = (saving.amount_minor != 0).then(|| {
        if saving.amount_minor > 0 {
            (l.monthly_saving, saving)
        } else {
            (
                l.extra_cost,
                quota_core::Money::zero(saving.currency).saturating_sub(saving),
            )
        }
    });
    // The numbers behind the advice: the recommended plan's price, the projected total on the
    // current plan and on the recommended one (when it is another plan).
    let reco = snap.recommendation.as_ref();
    let recommended = reco.and_then(|r| r.recommended.as_ref());
    let current_total = reco.map(|r| (&r.current.name, r.current.total));
    let other_total = reco
        .and_then(|r| r.recommended.as_ref().filter(|p| p.plan != r.current.plan))
        .map(|p| (&p.name, p.total));
    let risk = reco.and_then(|r| r.risk.as_ref());
    html! {
        section class="card" data-testid="recommendation-card" aria-labelledby="reco-h" {
            h2 id="reco-h" { (l.recommended_plan) }
            p {
                strong data-testid="recommended-plan" { (name) }
                @if let Some(p) = recommended {
                    " — " span class="money" data-testid="recommended-price" {
                        (format_money(p.price, lang)) " " (l.per_month)
                    }
                }
            }
            p data-testid="recommendation-reason" { (reason) }
            @if let Some((plan, total)) = current_total {
                p data-testid="recommendation-current-total" {
                    (l.projected_total_on) " " (plan) (l.colon)
                    strong class="money" { (format_money(total, lang)) }
                }
            }
            @if let Some((plan, total)) = other_total {
                p data-testid="recommendation-recommended-total" {
                    (l.projected_total_on) " " (plan) (l.colon)
                    strong class="money" { (format_money(total, lang)) }
                }
            }
            @if let Some((label, amount)) = saving {
                p data-testid="recommendation-saving" {
                    (label) (l.colon) strong class="money" { (format_money(amount, lang)) }
                }
            }
            @if let Some(risk) = risk {
                p class="note" data-testid="recommendation-risk" {
                    (risk_text(
                        &metric_names(snap, &risk.blocked_metrics, lang),
                        risk.safer_plan.as_deref(),
                        lang,
                    ))
                }
            }
            @if mode == Mode::Cockpit {
                div class="row" {
                    a class="button" data-testid="cta-compare"
                        href=(with_query("/plans", &[("lang", lang)])) { (l.compare_plans) }
                    @if let Some(expert) = expert {
                        a class="button secondary" data-testid="cta-expert" href=(expert) {
                            (l.talk_to_expert)
                        }
                    }
                }
            }
        }
    }
}

/// The display name of metric `key` in `lang`, as the snapshot has it (the key itself for a
/// metric the plan no longer has).
pub(crate) fn metric_name<'a>(snap: &'a Snapshot, key: &'a str, lang: &str) -> &'a str {
    snap.metrics
        .iter()
        .find(|m| m.metric == key)
        .map_or(key, |m| m.name_in(lang))
}

/// [`metric_name`] of each key.
fn metric_names(snap: &Snapshot, keys: &[String], lang: &str) -> Vec<String> {
    keys.iter()
        .map(|k| metric_name(snap, k, lang).to_owned())
        .collect()
}
