//! The usage chart of a counter: an inline SVG with axes (days of the period, units), the
//! period's cumulative usage (solid, one point per day with its value on hover), the
//! allowance (a labelled horizontal line, absent when unlimited), today's marker, and from
//! today to the period end the median projection (dashed) inside its 80 % band (shaded),
//! followed by an HTML legend. No script, no external resource.
//!
//! The vertical axis stops at `Y_CAP` (2) times the highest of the allowance and the real
//! usage, so a projection far above the limit cannot flatten the real curve; the chart then
//! says where it stops and where the band goes. The SVG's `aria-label` carries the same
//! figures as text.

use std::fmt::Write as _;

use chrono::{DateTime, Utc};
use maud::{Markup, html};
use quota_core::report::MetricSnapshot;

use crate::pages::i18n::Labels;

const WIDTH: f64 = 360.0;
const HEIGHT: f64 = 200.0;
/// Room for the units on the left, the days below, a little air above and to the right.
const LEFT: f64 = 46.0;
const RIGHT: f64 = 10.0;
const TOP: f64 = 14.0;
const BOTTOM: f64 = 30.0;
/// The vertical axis shows at most this multiple of the highest of the allowance and the
/// real usage.
pub(crate) const Y_CAP: u64 = 2;
/// Horizontal ticks every week of the period.
const X_TICK_DAYS: u16 = 7;
/// About this many steps on the vertical axis.
const Y_STEPS: u64 = 4;

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

/// The vertical axis: the highest value it shows, its top (5 % of air above it), the step
/// of its ticks, and whether it was capped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Axis {
    shown: u64,
    top: u64,
    step: u64,
    capped: bool,
}

/// The smallest 1, 2 or 5 times a power of ten at least `raw` (1 for 0).
fn nice_step(raw: u64) -> u64 {
    let mut magnitude: u64 = 1;
    loop {
        for m in [1, 2, 5] {
            let step = magnitude.saturating_mul(m);
            if step >= raw {
                return step;
            }
        }
        match magnitude.checked_mul(10) {
            Some(next) => magnitude = next,
            None => return u64::MAX,
        }
    }
}

/// The axis for the `real` units (the curve, the usage, the allowance) and the `wanted`
/// top (the projection's high end): it shows up to `wanted`, but no more than [`Y_CAP`]
/// times `real`, with ticks at round steps.
fn axis(real: u64, wanted: u64) -> Axis {
    let real = real.max(1);
    let cap = real.saturating_mul(Y_CAP);
    let capped = wanted > cap;
    let shown = wanted.max(real).min(cap);
    Axis {
        shown,
        top: shown.saturating_add(shown / 20).max(1),
        step: nice_step(shown.div_ceil(Y_STEPS)),
        capped,
    }
}

struct Scale {
    days: f64,
    top: f64,
}

impl Scale {
    fn x(&self, day: f64) -> f64 {
        LEFT + day / self.days * (WIDTH - LEFT - RIGHT)
    }

    #[allow(clippy::cast_precision_loss)] // units drawn on a 200 px axis
    fn y(&self, units: u64) -> f64 {
        HEIGHT - BOTTOM - (units as f64) / self.top * (HEIGHT - TOP - BOTTOM)
    }
}

/// One coordinate as the SVG writes it (one decimal).
fn coord(v: f64) -> String {
    format!("{v:.1}")
}

/// The chart of `m` and its legend, or `None` when it has no curve (gauges). SVG elements
/// are written with an explicit end tag: inside `<svg>` the HTML parser does not close
/// void-looking tags.
pub(crate) fn usage_chart(
    m: &MetricSnapshot,
    name: &str,
    frame: Frame,
    l: &Labels,
) -> Option<Markup> {
    if m.curve.is_empty() {
        return None;
    }
    let projection = m.projection.as_ref();
    let real = m
        .curve
        .iter()
        .map(|p| p.units)
        .chain([m.used, m.limit.unwrap_or(0)])
        .max()
        .unwrap_or(0);
    let high = projection.map_or(0, |p| p.projected_high.max(p.projected_used));
    let ax = axis(real, high);
    #[allow(clippy::cast_precision_loss)]
    let scale = Scale {
        days: frame.days(),
        top: ax.top as f64,
    };
    let now = frame.now_days();
    let label = aria_label(m, name, l);
    let (left, right) = (coord(scale.x(0.0)), coord(scale.x(scale.days)));
    let (bottom, top) = (coord(scale.y(0)), coord(scale.y(ax.top)));
    let clip = format!("plot-{}", m.metric);
    let y_ticks: Vec<u64> = (0..=ax.top.checked_div(ax.step).unwrap_or(0))
        .map(|i| i.saturating_mul(ax.step))
        .collect();
    let x_ticks: Vec<u16> = (0..=frame.period_days)
        .step_by(usize::from(X_TICK_DAYS))
        .collect();
    let x_now = coord(scale.x(now));
    Some(html! {
        figure class="chart" data-testid="chart-figure" {
        svg class="chart" data-testid="usage-chart" role="img" aria-label=(label)
            viewBox={ "0 0 " (WIDTH) " " (HEIGHT) } xmlns="http://www.w3.org/2000/svg" {
            title { (label) }
            defs {
                clipPath id=(clip) {
                    rect x=(left) y=(top) width=(coord(scale.x(scale.days) - LEFT))
                        height=(coord(HEIGHT - TOP - BOTTOM)) {}
                }
            }
            g class="axis" data-testid="chart-y-axis" {
                @for t in &y_ticks {
                    @let y = coord(scale.y(*t));
                    line class="grid" x1=(left) y1=(y) x2=(right) y2=(y) {}
                    text x=(coord(LEFT - 4.0)) y=(y) text-anchor="end" dominant-baseline="middle" {
                        (t)
                    }
                }
                line x1=(left) y1=(top) x2=(left) y2=(bottom) {}
                text x="4" y=(coord(TOP - 4.0)) { (l.chart_units) }
            }
            g class="axis" data-testid="chart-x-axis" {
                line x1=(left) y1=(bottom) x2=(right) y2=(bottom) {}
                @for d in &x_ticks {
                    @let x = coord(scale.x(f64::from(*d)));
                    line x1=(x) y1=(bottom) x2=(x) y2=(coord(HEIGHT - BOTTOM + 3.0)) {}
                    text x=(x) y=(coord(HEIGHT - BOTTOM + 13.0)) text-anchor="middle" { (d) }
                }
                text x=(right) y=(coord(HEIGHT - 3.0)) text-anchor="end" { (l.chart_days) }
            }
            g clip-path={ "url(#" (clip) ")" } {
                @if let Some(p) = projection {
                    polygon class="band" data-testid="chart-band"
                        points=(format!("{x_now},{} {right},{} {right},{}",
                            coord(scale.y(m.used)), coord(scale.y(p.projected_high)),
                            coord(scale.y(p.projected_low)))) {}
                    line class="median" data-testid="chart-projection" stroke-dasharray="5 4" x1=(x_now)
                        y1=(coord(scale.y(m.used))) x2=(right)
                        y2=(coord(scale.y(p.projected_used))) {}
                }
                @if let Some(limit) = m.limit {
                    @let y = coord(scale.y(limit));
                    line class="limit" data-testid="chart-limit" x1=(left) y1=(y) x2=(right)
                        y2=(y) {}
                }
                polyline class="actual" data-testid="chart-actual"
                    points=(curve_points(m, &scale, now)) {}
                @for p in &m.curve {
                    circle class="point" cx=(coord(scale.x(f64::from(p.day).min(now))))
                        cy=(coord(scale.y(p.units))) r="2" {
                        title { (l.day) " " (p.day) (l.colon) (p.units) }
                    }
                }
            }
            @if let Some(limit) = m.limit.filter(|v| *v <= ax.top) {
                text class="limit-label" data-testid="chart-limit-label"
                    x=(coord(scale.x(scale.days) - 2.0)) y=(coord(scale.y(limit) - 3.0))
                    text-anchor="end" { (l.legend_allowance) " " (limit) }
            }
            line class="today" data-testid="chart-today" x1=(x_now) y1=(top) x2=(x_now)
                y2=(bottom) {}
            text class="today-label" x=(x_now) y=(coord(TOP - 4.0)) text-anchor="middle" {
                (l.legend_today)
            }
        }
        (legend(m, projection.is_some(), l))
        @if ax.capped {
            p class="muted chart-note" data-testid="chart-capped" {
                (l.chart_capped) " " (ax.shown) " " (l.chart_units) " "
                (l.chart_capped_reason) " " (high) "."
            }
        }
        }
    })
}

/// The curve's points; the last one is the end of today, drawn at "now".
fn curve_points(m: &MetricSnapshot, scale: &Scale, now: f64) -> String {
    let mut points = String::new();
    for p in &m.curve {
        let day = f64::from(p.day).min(now);
        let _ = write!(points, "{:.1},{:.1} ", scale.x(day), scale.y(p.units));
    }
    points.trim_end().to_owned()
}

/// The chart as one sentence: usage, allowance, the median and the band.
fn aria_label(m: &MetricSnapshot, name: &str, l: &Labels) -> String {
    let limit = m
        .limit
        .map_or_else(|| l.unlimited.to_owned(), |v| v.to_string());
    let mut label = format!("{} — {name}{}{} / {limit}", l.chart, l.colon, m.used);
    if let Some(p) = &m.projection {
        let _ = write!(
            label,
            ", {} {}, {} {}–{}",
            l.forecast, p.projected_used, l.legend_band, p.projected_low, p.projected_high
        );
    }
    label
}

/// The legend under the chart: one swatch per line or area drawn.
fn legend(m: &MetricSnapshot, projected: bool, l: &Labels) -> Markup {
    html! {
        ul class="legend" data-testid="chart-legend" {
            li data-testid="legend-actual" { span class="sw sw-actual" aria-hidden="true" {} (l.legend_actual) }
            @if projected {
                li data-testid="legend-median" { span class="sw sw-median" aria-hidden="true" {} (l.legend_median) }
                li data-testid="legend-band" { span class="sw sw-band" aria-hidden="true" {} (l.legend_band) }
            }
            @if m.limit.is_some() {
                li data-testid="legend-allowance" { span class="sw sw-limit" aria-hidden="true" {} (l.legend_allowance) }
            }
            li data-testid="legend-today" { span class="sw sw-today" aria-hidden="true" {} (l.legend_today) }
        }
    }
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
        assert!((scale.x(30.0) - (WIDTH - RIGHT)).abs() < 1e-9);
        assert!((scale.x(0.0) - LEFT).abs() < 1e-9);
        assert!(scale.y(100) < scale.y(50), "higher usage is drawn higher");
        let frame = Frame {
            period_days: 30,
            start: Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap(),
            now: Utc.with_ymd_and_hms(2026, 11, 16, 0, 0, 0).unwrap(),
        };
        assert!((frame.now_days() - 15.0).abs() < 1e-9);
    }

    #[test]
    fn steps_are_one_two_or_five_times_a_power_of_ten() {
        assert_eq!(nice_step(0), 1);
        assert_eq!(nice_step(1), 1);
        assert_eq!(nice_step(3), 5);
        assert_eq!(nice_step(7), 10);
        assert_eq!(nice_step(131), 200);
        assert_eq!(nice_step(u64::MAX), u64::MAX);
    }

    #[test]
    fn the_axis_holds_the_band_unless_it_is_far_above_the_allowance() {
        // 500 allowance, band up to 700: everything shown, ticks every 200, 5 % of air.
        let a = axis(500, 700);
        assert_eq!((a.shown, a.top, a.step, a.capped), (700, 735, 200, false));
        // Band up to 8610 on a 500 allowance: the axis stops at twice the allowance.
        let a = axis(500, 8610);
        assert_eq!((a.shown, a.top, a.step, a.capped), (1000, 1050, 500, true));
        // Nothing used, no allowance: a 1-unit axis, not a division by zero.
        let a = axis(0, 0);
        assert!(a.top >= 1 && a.step >= 1 && !a.capped, "{a:?}");
        // Huge values saturate instead of overflowing.
        let a = axis(u64::MAX, u64::MAX);
        assert!(!a.capped && a.top == u64::MAX && a.step > 0, "{a:?}");
    }
}
