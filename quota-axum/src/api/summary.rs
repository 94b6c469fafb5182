//! `GET /api/v1/usage-billing/summary` (the brand's snapshot with status labels) and
//! `GET /api/v1/usage-billing/plans` (the catalog).

use std::time::Instant;

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use quota_core::Catalog;
use quota_core::period::{BillingPeriod, PeriodKey};
use quota_core::report::{
    MetricSnapshot, PlanCard, ProjectionStatus, Recommendation, Snapshot, TimelineEvent,
};
use quota_core::topup::UsageTopUp;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::openapi::{AuthErrors, ParamErrors, StoreErrors, UnknownBrand};
use super::schema::BrandId;
use crate::auth::Caller;
use crate::extract::ApiQuery;
use crate::metrics;
use crate::problem::Problem;
use crate::state::AppState;

/// The language of the labels.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    /// French (the default).
    #[default]
    Fr,
    /// English.
    En,
}

impl Lang {
    /// `fr` or `en`.
    pub fn code(self) -> &'static str {
        match self {
            Lang::Fr => "fr",
            Lang::En => "en",
        }
    }
}

/// Query of `GET /usage-billing/summary`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SummaryQuery {
    /// The brand.
    #[param(value_type = BrandId)]
    brand_id: String,
    /// The language of `statusLabel` and `stableLabel` (default `fr`).
    #[param(value_type = Option<Lang>, nullable = false)]
    lang: Option<Lang>,
}

/// One metric of the summary: the snapshot's metric, its status and the status's label.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MetricView {
    #[serde(flatten)]
    metric: MetricSnapshot,
    /// The projection's status (`immediate_action` for a blocked metric without projection).
    status: ProjectionStatus,
    /// The status in the requested language.
    status_label: &'static str,
}

/// A brand's summary: its snapshot, each metric with a status and a label, and the label of
/// a stable period.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SummaryView {
    brand_id: String,
    generated_at: DateTime<Utc>,
    period: BillingPeriod,
    /// The period's start as `YYYYMMDD`.
    period_key: PeriodKey,
    period_days: u16,
    plan: PlanCard,
    /// Metrics, in catalog order.
    metrics: Vec<MetricView>,
    recommendation: Option<Recommendation>,
    /// This period's events, newest first.
    timeline: Vec<TimelineEvent>,
    /// Whether the period has no event.
    stable: bool,
    /// "Consommation stable" / "Stable usage" when `stable`.
    stable_label: Option<&'static str>,
    /// This period's top-ups, newest first.
    topups: Vec<UsageTopUp>,
}

impl SummaryView {
    fn new(snap: Snapshot, lang: Lang) -> Self {
        let lang = lang.code();
        let metrics = snap
            .metrics
            .into_iter()
            .map(|m| {
                let status = match &m.projection {
                    Some(p) => p.status,
                    None if m.blocked => ProjectionStatus::ImmediateAction,
                    None => ProjectionStatus::Stable,
                };
                MetricView {
                    metric: m,
                    status,
                    status_label: status.label(lang),
                }
            })
            .collect();
        SummaryView {
            brand_id: snap.brand_id,
            generated_at: snap.generated_at,
            period: snap.period,
            period_key: snap.period_key,
            period_days: snap.period_days,
            plan: snap.plan,
            metrics,
            recommendation: snap.recommendation,
            timeline: snap.timeline,
            stable: snap.stable,
            stable_label: snap.stable.then(|| quota_core::report::stable_label(lang)),
            topups: snap.topups,
        }
    }
}

/// `GET /usage-billing/summary?brandId=`: the snapshot, with status labels.
#[utoipa::path(
    get,
    path = "/usage-billing/summary",
    tag = "usage",
    operation_id = "usageSummary",
    summary = "The brand's snapshot: plan card, metrics, projections, recommendation, timeline",
    params(SummaryQuery),
    responses(
        (status = 200, description = "The snapshot", body = SummaryView),
        AuthErrors, ParamErrors, UnknownBrand, StoreErrors,
    ),
    security(("adminJwt" = []), ("apiKey" = []))
)]
pub async fn summary(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<SummaryQuery>,
) -> Result<Json<SummaryView>, Problem> {
    quota_core::ids::validate_brand_id(&q.brand_id)
        .map_err(|e| Problem::bad_request(e.to_string()))?;
    caller.may_access(&q.brand_id)?;
    let started = Instant::now();
    let snap = state.guard.snapshot(&q.brand_id).await?;
    metrics::latency(metrics::SUMMARY_LATENCY, started.elapsed().as_secs_f64());
    state.track_brand(&q.brand_id);
    state.metrics.observe_snapshot(&snap);
    Ok(Json(SummaryView::new(snap, q.lang.unwrap_or_default())))
}

/// `GET /usage-billing/plans`: the catalog.
#[utoipa::path(
    get,
    path = "/usage-billing/plans",
    tag = "usage",
    operation_id = "plans",
    summary = "The plan catalog: currency, thresholds, metrics and plans",
    responses(
        (status = 200, description = "The catalog", body = Catalog),
        AuthErrors,
    ),
    security(("adminJwt" = []), ("apiKey" = []))
)]
pub async fn plans(State(state): State<AppState>, caller: Caller) -> Json<Catalog> {
    let _ = caller;
    Json(state.guard.catalog().clone())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use quota_core::{MemoryStore, QuotaGuard, Subscription};
    use serde_json::Value;

    use super::*;

    fn keys(v: &Value) -> Vec<String> {
        v.as_object()
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// The summary shows every member of the snapshot (and of each metric): a member added
    /// to the core's snapshot fails here until the view carries it.
    #[tokio::test]
    async fn the_summary_carries_every_member_of_the_snapshot() {
        let guard = QuotaGuard::new(Catalog::demo(), Arc::new(MemoryStore::new()));
        let now = guard.clock().now();
        let subscribed = guard
            .subscribe(Subscription::new("acme", "starter", now))
            .await;
        assert!(subscribed.is_ok());
        let consumed = guard.consume("acme", "ai_generations", 3, None).await;
        assert!(consumed.is_ok());
        let Ok(snap) = guard.snapshot("acme").await else {
            unreachable!("the brand is subscribed");
        };
        let raw = serde_json::to_value(&snap).unwrap_or_default();
        let view = serde_json::to_value(SummaryView::new(snap, Lang::En)).unwrap_or_default();
        for key in keys(&raw) {
            assert!(
                view.get(&key).is_some(),
                "summary lacks snapshot member {key}"
            );
        }
        let (Some(raw_m), Some(view_m)) = (raw["metrics"].get(0), view["metrics"].get(0)) else {
            unreachable!("the demo catalog has metrics");
        };
        for key in keys(raw_m) {
            assert!(view_m.get(&key).is_some(), "summary metric lacks {key}");
        }
        assert_eq!(view_m["statusLabel"], "Stable");
    }
}
