//! The usage chart of a counter: an inline SVG with the period's cumulative usage (solid), the
//! projection from now to the period end (dashed) and the limit (a horizontal line, absent
//! when unlimited). No script, no external resource.

use std::fmt::Write as _;

use chrono::{DateTime, Utc};
use maud::{Markup, html};
use quota_core::report::MetricSnapshot;

use crate::pages::i18n::Labels;

const WIDTH: f64 = 320.0;
const HEIGHT: f64 = 120.0;
const PAD: f64 = 6.0;

/// The time frame of the chart: the period and where "now" falls in it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Frame {
    /// Days in the period.
    pub(crate) period_days: u16,
    /// Start of the period.
    pub(crate) start: DateTime<Utc>,
    /// When the snapshot was taken.
    pub(crate) now: DateTime<Utc>,
}

impl Frame {
    fn days(&self) -> f64 {
        f64::from(self.period_days.max(1))
    }

    /// Days since the period started, within the period.
    fn now_days(&self) -> f64 {
        let secs = self.now.signed_duration_since(self.start).num_seconds();
        #[allow(clippy::cast_precision_loss)] // seconds within a billing period
        let d = secs as f64 / 86_400.0;
        d.clamp(0.0, self.days())
    }
}

struct Scale {
    days: f64,
    top: f64,
}

impl Scale {
    fn x(&self, day: f64) -> f64 {
        PAD + day / self.days * (WIDTH - 2.0 * PAD)
    }

    #[allow(clippy::cast_precision_loss)] // units drawn on a 120 px axis
    fn y(&self, units: u64) -> f64 {
        HEIGHT - PAD - (units as f64) / self.top * (HEIGHT - 2.0 * PAD)
    }
}

/// One coordinate as the SVG writes it (one decimal).
fn coord(v: f64) -> String {
    format!("{v:.1}")
}

/// The chart of `m`, or `None` when it has no curve (gauges). SVG elements are written with
/// an explicit end tag: inside `<svg>` the HTML parser does not close void-looking tags.
pub(crate) fn usage_chart(m: &MetricSnapshot, frame: Frame, l: &Labels) -> Option<Markup> {
    if m.curve.is_empty() {
        return None;
    }
    let projected = m.projection.as_ref().map(|p| p.projected_used);
    let highest = m
        .curve
        .iter()
        .map(|p| p.units)
        .chain([m.used, m.limit.unwrap_or(0), projected.unwrap_or(0), 1])
        .max()
        .unwrap_or(1);
    #[allow(clippy::cast_precision_loss)]
    let scale = Scale {
        days: frame.days(),
        top: highest as f64 * 1.1,
    };
    let now = frame.now_days();
    let mut points = String::new();
    for p in &m.curve {
        // The last point is the end of today: draw it at "now".
        let day = f64::from(p.day).min(now);
        let _ = write!(points, "{:.1},{:.1} ", scale.x(day), scale.y(p.units));
    }
    let limit_text = m
        .limit
        .map_or_else(|| l.unlimited.to_owned(), |v| v.to_string());
    let forecast = projected.map_or_else(String::new, |p| format!(", {} {p}", l.forecast));
    let label = format!(
        "{} — {}{}{} / {limit_text}{forecast}",
        l.chart, m.name, l.colon, m.used
    );
    let (left, right) = (coord(scale.x(0.0)), coord(scale.x(scale.days)));
    Some(html! {
        svg class="chart" data-testid="usage-chart" role="img" aria-label=(label)
            viewBox={ "0 0 " (WIDTH) " " (HEIGHT) } xmlns="http://www.w3.org/2000/svg" {
            title { (label) }
            rect x="0" y="0" width=(WIDTH) height=(HEIGHT) fill="#fbfcfd" stroke="#e3e6ea" {}
            @if let Some(limit) = m.limit {
                @let y = coord(scale.y(limit));
                line data-testid="chart-limit" x1=(left) y1=(y) x2=(right) y2=(y)
                    stroke="#b00020" stroke-width="1.5" {}
            }
            @if let Some(p) = projected {
                line data-testid="chart-projection" x1=(coord(scale.x(now)))
                    y1=(coord(scale.y(m.used))) x2=(right) y2=(coord(scale.y(p)))
                    stroke="#8a4b00" stroke-width="2" stroke-dasharray="5 4" {}
            }
            polyline data-testid="chart-actual" points=(points.trim_end()) fill="none"
                stroke="#0b57d0" stroke-width="2" stroke-linejoin="round" {}
        }
    })
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn the_scale_spans_the_period_and_draws_more_usage_higher() {
        let scale = Scale {
            days: 30.0,
            top: 110.0,
        };
        assert!((scale.x(30.0) - (WIDTH - PAD)).abs() < 1e-9);
        assert!(scale.y(100) < scale.y(50), "higher usage is drawn higher");
        let frame = Frame {
            period_days: 30,
            start: Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap(),
            now: Utc.with_ymd_and_hms(2026, 11, 16, 0, 0, 0).unwrap(),
        };
        assert!((frame.now_days() - 15.0).abs() < 1e-9);
    }
}
