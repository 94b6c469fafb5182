//! What an alert says: the facts of a timeline event, the cockpit link, and the text in
//! French or English. Every sink renders from [`Alert`], so they all say the same thing.

use chrono::{DateTime, Utc};
use quota_core::report::{EventKind, TimelineEvent};
use quota_core::threshold::{Severity, percent_of};
use serde::Serialize;

/// The language of alert texts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Lang {
    /// English (default).
    #[default]
    En,
    /// French.
    Fr,
}

impl Lang {
    /// `fr...` is French, anything else English.
    pub fn parse(tag: &str) -> Lang {
        if tag.trim().to_ascii_lowercase().starts_with("fr") {
            Lang::Fr
        } else {
            Lang::En
        }
    }
}

/// The kinds of timeline events that are delivered as alerts.
pub const DELIVERED_KINDS: [&str; 3] = ["threshold_crossed", "alert_resolved", "blocked"];

/// One alert, ready to render.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Alert {
    /// `threshold_crossed`, `alert_resolved` or `blocked`.
    pub kind: &'static str,
    /// The brand.
    pub brand: String,
    /// The metric.
    pub metric: String,
    /// The threshold in percent (none for `blocked`).
    pub threshold: Option<u16>,
    /// Usage in whole percent of the allowance.
    pub percent: u64,
    /// Units used.
    pub used: u64,
    /// The allowance.
    pub limit: u64,
    /// `info`, `warning`, `critical` or `blocked`.
    pub severity: &'static str,
    /// When it happened.
    pub at: DateTime<Utc>,
    /// The billing period (`YYYYMMDD` of its start).
    pub period: String,
    /// `$FRONTEND_URL/analytics?brandId=...`.
    pub cockpit_url: String,
}

impl Alert {
    /// The alert for an event, or `None` for kinds that are not delivered (plan changes,
    /// top-ups, resets).
    pub fn from_event(event: &TimelineEvent, frontend_url: &str) -> Option<Alert> {
        let (kind, threshold, used, limit) = match &event.kind {
            EventKind::ThresholdCrossed {
                threshold,
                used,
                limit,
            } => ("threshold_crossed", Some(*threshold), *used, *limit),
            EventKind::AlertResolved {
                threshold,
                used,
                limit,
            } => ("alert_resolved", Some(*threshold), *used, *limit),
            EventKind::Blocked { used, limit } => ("blocked", None, *used, *limit),
            _ => return None,
        };
        Some(Alert {
            kind,
            brand: event.brand.clone(),
            metric: event.metric.clone().unwrap_or_default(),
            threshold,
            percent: percent_of(used, limit),
            used,
            limit,
            severity: severity_name(event.severity),
            at: event.at,
            period: event.period.to_string(),
            cockpit_url: cockpit_url(frontend_url, &event.brand),
        })
    }

    /// A one-line title, e.g. `[critical] acme: renders_2d at 91 % (threshold 90 %)`.
    pub fn title(&self, lang: Lang) -> String {
        let Alert {
            brand,
            metric,
            percent,
            severity,
            ..
        } = self;
        match (self.kind, self.threshold, lang) {
            ("blocked", _, Lang::En) => {
                format!("[{severity}] {brand}: {metric} is blocked ({percent} % used)")
            }
            ("blocked", _, Lang::Fr) => {
                format!("[{severity}] {brand} : {metric} est bloqué ({percent} % consommés)")
            }
            ("alert_resolved", Some(t), Lang::En) => {
                format!("[resolved] {brand}: {metric} back under {t} % ({percent} % used)")
            }
            ("alert_resolved", Some(t), Lang::Fr) => {
                format!("[résolu] {brand} : {metric} repassé sous {t} % ({percent} % consommés)")
            }
            (_, t, Lang::En) => format!(
                "[{severity}] {brand}: {metric} at {percent} % (threshold {} %)",
                t.unwrap_or(0)
            ),
            (_, t, Lang::Fr) => format!(
                "[{severity}] {brand} : {metric} à {percent} % (seuil {} %)",
                t.unwrap_or(0)
            ),
        }
    }

    /// The full text: title, figures and the cockpit link.
    pub fn body(&self, lang: Lang) -> String {
        let details = match lang {
            Lang::En => format!(
                "Brand: {}\nMetric: {}\nUsage: {} / {} ({} %)\nSeverity: {}\nPeriod: {}\nAt: {}\nCockpit: {}",
                self.brand,
                self.metric,
                self.used,
                self.limit,
                self.percent,
                self.severity,
                self.period,
                self.at.to_rfc3339(),
                self.cockpit_url
            ),
            Lang::Fr => format!(
                "Marque : {}\nMétrique : {}\nConsommation : {} / {} ({} %)\nSévérité : {}\nPériode : {}\nDate : {}\nCockpit : {}",
                self.brand,
                self.metric,
                self.used,
                self.limit,
                self.percent,
                self.severity,
                self.period,
                self.at.to_rfc3339(),
                self.cockpit_url
            ),
        };
        format!("{}\n\n{details}\n", self.title(lang))
    }
}

fn severity_name(s: Severity) -> &'static str {
    s.as_str()
}

/// What a query value keeps as is: the unreserved characters of RFC 3986.
const QUERY_VALUE: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// `$FRONTEND_URL/analytics?brandId=<brand>`, with the brand query-encoded.
pub fn cockpit_url(frontend_url: &str, brand: &str) -> String {
    let base = frontend_url.trim_end_matches('/');
    let brand = percent_encoding::utf8_percent_encode(brand, QUERY_VALUE);
    format!("{base}/analytics?brandId={brand}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use quota_core::period::PeriodKey;

    fn event(kind: EventKind, severity: Severity) -> TimelineEvent {
        TimelineEvent::new(
            "acme@eu",
            DateTime::<Utc>::UNIX_EPOCH,
            PeriodKey(20261101),
            Some("renders_2d".into()),
            severity,
            kind,
        )
    }

    #[test]
    fn a_crossing_says_brand_metric_percent_severity_and_link() {
        let e = event(
            EventKind::ThresholdCrossed {
                threshold: 90,
                used: 91,
                limit: 100,
            },
            Severity::Critical,
        );
        let a = Alert::from_event(&e, "https://app.example/").unwrap_or_else(|| unreachable!());
        assert_eq!(a.percent, 91);
        assert_eq!(
            a.cockpit_url,
            "https://app.example/analytics?brandId=acme%40eu"
        );
        assert_eq!(
            a.title(Lang::En),
            "[critical] acme@eu: renders_2d at 91 % (threshold 90 %)"
        );
        assert_eq!(
            a.title(Lang::Fr),
            "[critical] acme@eu : renders_2d à 91 % (seuil 90 %)"
        );
        assert!(
            a.body(Lang::Fr)
                .contains("Cockpit : https://app.example/analytics")
        );
    }

    #[test]
    fn other_events_are_not_alerts() {
        let e = event(
            EventKind::PeriodReset {
                reason: "support".into(),
                level: None,
            },
            Severity::Info,
        );
        assert_eq!(Alert::from_event(&e, "http://x"), None);
    }

    #[test]
    fn language_tags() {
        assert_eq!(Lang::parse("fr-FR"), Lang::Fr);
        assert_eq!(Lang::parse("en"), Lang::En);
        assert_eq!(Lang::parse(""), Lang::En);
    }
}
