//! The snapshot as HTML: plan card, one card per metric (usage, badge, projection, chart),
//! timeline and recommendation. The cockpit and the share page both render it from here; in
//! [`Mode::Share`] nothing acts (no link that buys, upgrades or mails).

use std::fmt::Write as _;

use chrono::{DateTime, Utc};
use quota_core::report::{MetricSnapshot, ProjectionStatus, Snapshot};

use crate::pages::chart::{Frame, usage_chart};
use crate::pages::i18n::{Labels, event_text, labels, reason_text, severity_label, severity_name};
use crate::pages::layout::{esc, url_encode};
use crate::pages::money::format_money;

/// Where the experts answer ("Parler à un expert").
pub const EXPERT_EMAIL: &str = "experts@example.com";

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
pub(crate) fn sections(snap: &Snapshot, lang: &str, mode: Mode) -> String {
    let mut b = String::new();
    b.push_str("<div class=\"grid\">");
    plan_card(&mut b, snap, lang);
    recommendation_card(&mut b, snap, lang, mode);
    b.push_str("</div>");
    metric_cards(&mut b, snap, lang, mode);
    timeline(&mut b, snap, lang);
    b
}

fn plan_card(b: &mut String, snap: &Snapshot, lang: &str) {
    let l = labels(lang);
    let p = &snap.plan;
    let _ = write!(
        b,
        "<section class=\"card\" data-testid=\"plan-card\" aria-labelledby=\"plan-h\"><h2 id=\"plan-h\">{}</h2><p><strong data-testid=\"plan-name\">{}</strong></p><dl class=\"kv\"><dt>{}</dt><dd class=\"money\" data-testid=\"plan-price\">{}</dd><dt>{}</dt><dd class=\"money\" data-testid=\"overage-estimate\">{}</dd><dt>{}</dt><dd class=\"money\" data-testid=\"overage-so-far\">{}</dd><dt>{}</dt><dd class=\"money\" data-testid=\"estimated-total\">{}</dd></dl><p class=\"muted\">{}</p></section>",
        l.current_plan,
        esc(&p.name),
        l.monthly_price,
        esc(&format_money(p.price, lang)),
        l.overage_estimate,
        esc(&format_money(p.estimated_overage, lang)),
        l.overage_so_far,
        esc(&format_money(p.overage_so_far, lang)),
        l.estimated_total,
        esc(&format_money(p.estimated_total, lang)),
        esc(&period_line(snap, lang)),
    );
}

fn metric_cards(b: &mut String, snap: &Snapshot, lang: &str, mode: Mode) {
    let l = labels(lang);
    let frame = Frame {
        period_days: snap.period_days,
        start: snap.period.start,
        now: snap.generated_at,
    };
    let _ = write!(
        b,
        "<section aria-labelledby=\"metrics-h\" id=\"metrics\"><h2 id=\"metrics-h\">{}</h2><div class=\"grid\">",
        l.quotas
    );
    for m in &snap.metrics {
        metric_card(b, m, frame, lang, mode);
    }
    b.push_str("</div></section>");
}

fn metric_card(b: &mut String, m: &MetricSnapshot, frame: Frame, lang: &str, mode: Mode) {
    let l = labels(lang);
    let id = esc(&m.metric);
    let sev = severity_name(m.badge);
    let _ = write!(
        b,
        "<article class=\"card metric\" data-testid=\"metric-card\" data-metric=\"{id}\" aria-labelledby=\"m-{id}\"><div class=\"row\"><h3 id=\"m-{id}\">{}</h3><span class=\"badge b-{sev}\" data-testid=\"metric-badge\" data-severity=\"{sev}\">{}</span></div>",
        esc(&m.name),
        severity_label(m.badge, lang),
    );
    let limit = m
        .limit
        .map_or_else(|| l.unlimited.to_owned(), |v| v.to_string());
    let pct = m
        .percent
        .map_or_else(|| "—".to_owned(), |p| percent(&p.to_string(), lang));
    let remaining = m
        .remaining
        .map_or_else(|| l.unlimited.to_owned(), |v| v.to_string());
    let _ = write!(
        b,
        "<dl class=\"kv\"><dt>{}</dt><dd data-testid=\"metric-used\">{}</dd><dt>{}</dt><dd data-testid=\"metric-limit\">{}</dd><dt>{}</dt><dd data-testid=\"metric-percent\">{}</dd><dt>{}</dt><dd data-testid=\"metric-remaining\">{}</dd><dt>{}</dt><dd data-testid=\"metric-topups\">{}</dd></dl>",
        l.used,
        m.used,
        l.limit,
        esc(&limit),
        l.usage,
        esc(&pct),
        l.remaining,
        esc(&remaining),
        l.topup_units,
        m.topup_units,
    );
    if m.blocked {
        let _ = write!(
            b,
            "<div class=\"upgrade\"><p class=\"s-immediate_action\"><strong>{}</strong></p>",
            l.blocked_note
        );
        if mode == Mode::Cockpit {
            let _ = write!(
                b,
                "<a class=\"button\" data-testid=\"cta-upgrade\" href=\"/plans?lang={lang}\">{}</a>",
                l.upgrade
            );
        }
        b.push_str("</div>");
    }
    if let Some(p) = &m.projection {
        projection(b, p, lang, l);
    }
    if let Some(svg) = usage_chart(m, frame, l) {
        b.push_str(&svg);
    }
    b.push_str("</article>");
}

fn projection(b: &mut String, p: &quota_core::report::Projection, lang: &str, l: &Labels) {
    let status = p.status;
    let name = status_name(status);
    let _ = write!(
        b,
        "<div class=\"projection\"><div class=\"row\"><span>{}</span><span class=\"badge s-{name}\" data-testid=\"projection-status\" data-status=\"{name}\">{}</span></div>",
        l.projection,
        status.label(lang),
    );
    let ratio = p
        .projected_ratio
        .map(|r| format!(" ({})", percent(&format!("{:.0}", r * 100.0), lang)))
        .unwrap_or_default();
    let _ = write!(
        b,
        "<p data-testid=\"projection-end\">{}{}<strong>{}{}</strong></p>",
        l.projected_end,
        l.colon,
        p.projected_used,
        esc(&ratio)
    );
    if let Some(d) = p.days_until_exhaustion {
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
        let _ = write!(
            b,
            "<p data-testid=\"projection-days\">{} <strong>{n} {unit}</strong></p>",
            l.runs_out_in
        );
    }
    b.push_str("</div>");
}

fn timeline(b: &mut String, snap: &Snapshot, lang: &str) {
    let l = labels(lang);
    let _ = write!(
        b,
        "<section class=\"card\" id=\"timeline\" aria-labelledby=\"timeline-h\"><h2 id=\"timeline-h\">{}</h2><ol class=\"timeline\" data-testid=\"timeline\">",
        l.timeline
    );
    if snap.stable || snap.timeline.is_empty() {
        let _ = write!(
            b,
            "<li data-testid=\"timeline-stable\">{}</li>",
            quota_core::report::stable_label(lang)
        );
    }
    for e in snap.timeline.iter().take(TIMELINE_ITEMS) {
        let sev = e.severity.as_str();
        // The API's spelling of the event type (`top_up_completed`), not the short name.
        let kind = serde_json::to_value(&e.kind)
            .ok()
            .and_then(|v| v.get("type").and_then(|t| t.as_str()).map(str::to_owned))
            .unwrap_or_else(|| e.kind.name().to_owned());
        let _ = write!(
            b,
            "<li data-testid=\"timeline-item\" data-type=\"{}\" data-seq=\"{}\"><span class=\"badge b-{sev}\" data-testid=\"severity-badge\" data-severity=\"{sev}\">{}</span><time datetime=\"{}\">{}</time><span>{}</span>",
            esc(&kind),
            e.seq,
            severity_label(Some(e.severity), lang),
            e.at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            fmt_datetime(e.at, lang),
            esc(&event_text(e, lang)),
        );
        if let Some(m) = &e.metric {
            let _ = write!(b, "<span class=\"muted\">{}</span>", esc(m));
        }
        b.push_str("</li>");
    }
    b.push_str("</ol></section>");
}

fn recommendation_card(b: &mut String, snap: &Snapshot, lang: &str, mode: Mode) {
    let l = labels(lang);
    let _ = write!(
        b,
        "<section class=\"card\" data-testid=\"recommendation-card\" aria-labelledby=\"reco-h\"><h2 id=\"reco-h\">{}</h2>",
        l.recommended_plan
    );
    let (name, reason, saving) = match &snap.recommendation {
        Some(r) => {
            let name = r.recommended.as_ref().map(|p| p.name.clone());
            let reason = reason_text(r.reason, name.as_deref(), &r.current.blocked_metrics, lang);
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
    let _ = write!(
        b,
        "<p><strong data-testid=\"recommended-plan\">{}</strong></p><p data-testid=\"recommendation-reason\">{}</p>",
        esc(&name),
        esc(&reason)
    );
    if saving.amount_minor != 0 {
        let (label, amount) = if saving.amount_minor > 0 {
            (l.monthly_saving, saving)
        } else {
            (
                l.extra_cost,
                quota_core::Money::zero(saving.currency).saturating_sub(saving),
            )
        };
        let _ = write!(
            b,
            "<p data-testid=\"recommendation-saving\">{label}{}<strong class=\"money\">{}</strong></p>",
            l.colon,
            esc(&format_money(amount, lang))
        );
    }
    if mode == Mode::Cockpit {
        let subject = url_encode(&format!("Usage Quota Guardian — {}", snap.brand_id));
        let _ = write!(
            b,
            "<div class=\"row\"><a class=\"button\" data-testid=\"cta-compare\" href=\"/plans?lang={lang}\">{}</a><a class=\"button secondary\" data-testid=\"cta-expert\" href=\"mailto:{EXPERT_EMAIL}?subject={subject}\">{}</a></div>",
            l.compare_plans, l.talk_to_expert,
        );
    }
    b.push_str("</section>");
}
