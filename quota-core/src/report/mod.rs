//! The read models: what a brand's usage looks like, for the cockpit, share links and
//! reports. [`QuotaGuard::snapshot`](crate::QuotaGuard::snapshot) assembles a [`Snapshot`]
//! from the store; the types here and their pure functions do the rest:
//!
//! - the snapshot ([`Snapshot`], [`MetricSnapshot`], [`PlanCard`]);
//! - projections: where usage will stand at period end, as a median and an 80 % band
//!   ([`project`], [`Projection`], [`cumulative_curve`]), from a forecaster robust to
//!   spikes and resets, aware of trends, weekdays and level shifts;
//! - plan recommendations: what each plan would cost for the projected usage, with a risk
//!   note when the high end of the band would block ([`recommend`], [`recommend_for_band`],
//!   [`plan_cost`], [`Recommendation`]);
//! - the timeline: a brand's append-only events, newest first ([`TimelineEvent`],
//!   [`EventKind`]). Stores append and read them through
//!   [`AlertStore`](crate::AlertStore).

mod forecast;
mod projection;
mod recommendation;
mod snapshot;
mod timeline;

pub use projection::{
    CurvePoint, IMMEDIATE_HORIZON_DAYS, Projection, ProjectionInput, ProjectionStatus,
    RECENT_WINDOW_DAYS, ResetPoint, STRAIN_RATIO, cumulative_curve, project,
};
pub use recommendation::{
    PlanCost, Recommendation, RecommendationReason, RecommendationRisk, plan_cost, recommend,
    recommend_for_band,
};
pub use snapshot::{MetricSnapshot, PlanCard, SNAPSHOT_TIMELINE_LEN, SNAPSHOT_TOPUPS, Snapshot};
pub use timeline::{EventKind, TimelineEvent, stable_label};
