//! Plan recommendation: for every plan, what the projected usage would cost (price plus
//! projected overage), and the cheapest plan under which nothing would be blocked.
//!
//! The plan is chosen for the median projection; [`recommend_for_band`] adds a risk note
//! when that plan would block at the high end of the 80 % band (the 90th percentile).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::overage::overage_units;
use crate::{Catalog, Limit, Money, Plan};

/// What a plan would cost for the projected usage.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct PlanCost {
    /// Plan id.
    pub plan: String,
    /// Plan name.
    pub name: String,
    /// Monthly price.
    pub price: Money,
    /// Projected overage charge.
    pub projected_overage: Money,
    /// Price + projected overage.
    pub total: Money,
    /// Whether the projected usage fits without any denial.
    pub feasible: bool,
    /// Metrics that would be blocked (hard limit or spend cap) under this plan.
    pub blocked_metrics: Vec<String>,
}

/// Why a plan is recommended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum RecommendationReason {
    /// The current plan is already the cheapest that fits.
    StayOnCurrent,
    /// Another plan fits for less in total (fewer overage charges or a lower price).
    LowerTotalCost,
    /// The current plan would block the projected usage.
    CurrentPlanWouldBlock,
    /// No plan of the catalog fits the projected usage.
    NoPlanFits,
}

/// The recommendation for one brand.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Recommendation {
    /// The current plan's projected cost.
    pub current: PlanCost,
    /// The recommended plan (`None` when no plan fits).
    pub recommended: Option<PlanCost>,
    /// Why.
    pub reason: RecommendationReason,
    /// `current.total - recommended.total`: positive is a monthly saving, negative an extra
    /// cost (zero when staying or when nothing fits).
    pub monthly_saving: Money,
    /// Every plan's cost, cheapest price first.
    pub plans: Vec<PlanCost>,
    /// Set when the recommended plan fits the median projection but would block at the
    /// high end of the band.
    #[serde(default)]
    pub risk: Option<RecommendationRisk>,
}

/// The risk of a recommendation: the recommended plan fits the median projection, but the
/// 90th percentile of the projection (one chance in ten) would be blocked under it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct RecommendationRisk {
    /// Metrics the recommended plan would block at the 90th percentile.
    pub blocked_metrics: Vec<String>,
    /// The cheapest plan that would also hold the 90th percentile (`None` when no plan
    /// does).
    pub safer_plan: Option<String>,
}

/// Prices `projected` usage (metric key, units at period end) under `plan`. `overrides`
/// replace the plan's limits (a brand's own deal on its current plan).
pub fn plan_cost(
    plan: &Plan,
    projected: &[(&str, u64)],
    overrides: Option<&BTreeMap<String, Limit>>,
    currency: crate::money::Currency,
) -> PlanCost {
    let mut overage = Money::zero(currency);
    let mut blocked = Vec::new();
    for &(metric, units) in projected {
        let limit = overrides
            .and_then(|o| o.get(metric))
            .or_else(|| plan.limit(metric));
        let Some(limit) = limit else {
            blocked.push(metric.to_owned());
            continue;
        };
        let Some(included) = limit.included else {
            continue;
        };
        let over = overage_units(units, limit.free_units(included));
        if over == 0 {
            continue;
        }
        match limit.overage.max_billable_units() {
            Some(max) if over > max => blocked.push(metric.to_owned()),
            _ => overage = overage.saturating_add(limit.overage.charge(over, currency)),
        }
    }
    PlanCost {
        plan: plan.id.clone(),
        name: plan.name.clone(),
        price: plan.price,
        projected_overage: overage,
        total: plan.price.saturating_add(overage),
        feasible: blocked.is_empty(),
        blocked_metrics: blocked,
    }
}

/// Recommends the cheapest feasible plan for `projected` usage; ties go to the current
/// plan, then to the lower price.
///
/// ```
/// use quota_core::Catalog;
/// use quota_core::report::{RecommendationReason, recommend};
/// let catalog = Catalog::demo();
/// // 300 renders a month do not fit the free plan (20, blocked) nor starter (100).
/// let r = recommend(&catalog, "free", None, &[("renders_2d", 300), ("ai_generations", 50)]).unwrap();
/// assert_eq!(r.reason, RecommendationReason::CurrentPlanWouldBlock);
/// assert_eq!(r.recommended.unwrap().plan, "pro");
/// ```
pub fn recommend(
    catalog: &Catalog,
    current_plan: &str,
    current_overrides: Option<&BTreeMap<String, Limit>>,
    projected: &[(&str, u64)],
) -> Option<Recommendation> {
    let currency = catalog.currency();
    let plans: Vec<PlanCost> = catalog
        .plans()
        .iter()
        .map(|p| {
            let overrides = current_overrides.filter(|_| p.id == current_plan);
            plan_cost(p, projected, overrides, currency)
        })
        .collect();
    let current = plans.iter().find(|c| c.plan == current_plan)?.clone();
    let best = cheapest_feasible(&plans, current_plan);
    let (recommended, reason, saving) = match best {
        None => (
            None,
            RecommendationReason::NoPlanFits,
            Money::zero(currency),
        ),
        Some(best) => {
            let reason = if !current.feasible {
                RecommendationReason::CurrentPlanWouldBlock
            } else if best.plan == current.plan {
                RecommendationReason::StayOnCurrent
            } else {
                RecommendationReason::LowerTotalCost
            };
            let saving = if current.feasible {
                current.total.saturating_sub(best.total)
            } else {
                Money::zero(currency)
            };
            (Some(best.clone()), reason, saving)
        }
    };
    Some(Recommendation {
        current,
        recommended,
        reason,
        monthly_saving: saving,
        plans,
        risk: None,
    })
}

/// The cheapest feasible plan; ties go to the current plan, then to the lower price.
fn cheapest_feasible<'a>(plans: &'a [PlanCost], current_plan: &str) -> Option<&'a PlanCost> {
    plans.iter().filter(|c| c.feasible).min_by(|a, b| {
        let key = |c: &PlanCost| {
            (
                c.total.amount_minor,
                c.plan != current_plan,
                c.price.amount_minor,
            )
        };
        key(a).cmp(&key(b))
    })
}

/// [`recommend`] for the `median` projection, with a [`RecommendationRisk`] when the
/// recommended plan would block the `high` projection (the 90th percentile; metrics
/// missing from `high` count at their median).
///
/// ```
/// use quota_core::Catalog;
/// use quota_core::report::recommend_for_band;
/// let catalog = Catalog::demo();
/// // 90 renders fit Starter (100, blocked above); 130 would not: Pro holds them.
/// let r = recommend_for_band(&catalog, "starter", None, &[("renders_2d", 90)], &[("renders_2d", 130)]).unwrap();
/// assert_eq!(r.recommended.as_ref().unwrap().plan, "starter");
/// let risk = r.risk.unwrap();
/// assert_eq!(risk.blocked_metrics, ["renders_2d"]);
/// assert_eq!(risk.safer_plan.as_deref(), Some("pro"));
/// ```
pub fn recommend_for_band(
    catalog: &Catalog,
    current_plan: &str,
    current_overrides: Option<&BTreeMap<String, Limit>>,
    median: &[(&str, u64)],
    high: &[(&str, u64)],
) -> Option<Recommendation> {
    let mut r = recommend(catalog, current_plan, current_overrides, median)?;
    let Some(chosen) = r.recommended.as_ref() else {
        return Some(r);
    };
    let upper: Vec<(&str, u64)> = median
        .iter()
        .map(|&(metric, units)| {
            let h = high
                .iter()
                .find(|(m, _)| *m == metric)
                .map_or(units, |h| h.1);
            (metric, h.max(units))
        })
        .collect();
    let currency = catalog.currency();
    let costs: Vec<PlanCost> = catalog
        .plans()
        .iter()
        .map(|p| {
            let overrides = current_overrides.filter(|_| p.id == current_plan);
            plan_cost(p, &upper, overrides, currency)
        })
        .collect();
    let at_high = costs.iter().find(|c| c.plan == chosen.plan);
    if let Some(at_high) = at_high.filter(|c| !c.feasible) {
        r.risk = Some(RecommendationRisk {
            blocked_metrics: at_high.blocked_metrics.clone(),
            safer_plan: cheapest_feasible(&costs, current_plan).map(|c| c.plan.clone()),
        });
    }
    Some(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stays_when_the_current_plan_is_cheapest() {
        let c = Catalog::demo();
        let r = recommend(&c, "free", None, &[("ai_generations", 10)]).unwrap();
        assert_eq!(r.reason, RecommendationReason::StayOnCurrent);
        assert_eq!(r.monthly_saving.amount_minor, 0);
    }

    #[test]
    fn heavy_overage_makes_a_bigger_plan_cheaper() {
        let c = Catalog::demo();
        // starter: 2900 + (3000 - 500) * 8 = 22900; pro: 9900 + 1000 * 5 = 14900.
        let r = recommend(&c, "starter", None, &[("ai_generations", 3000)]).unwrap();
        assert_eq!(r.reason, RecommendationReason::LowerTotalCost);
        assert_eq!(r.recommended.as_ref().unwrap().plan, "pro");
        assert_eq!(r.current.total.amount_minor, 22_900);
        assert_eq!(r.monthly_saving.amount_minor, 8_000);
    }

    #[test]
    fn a_spend_cap_makes_a_plan_infeasible() {
        let c = Catalog::demo();
        // free caps ai overage at 2000 cents = 200 units past 100.
        let r = recommend(&c, "free", None, &[("ai_generations", 301)]).unwrap();
        assert!(!r.current.feasible);
        assert_eq!(r.current.blocked_metrics, ["ai_generations"]);
    }

    #[test]
    fn nothing_fits_beyond_the_largest_hard_limit() {
        let c = Catalog::demo();
        let r = recommend(&c, "free", None, &[("team_members", 1000)]).unwrap();
        assert_eq!(r.reason, RecommendationReason::NoPlanFits);
        assert!(r.recommended.is_none());
    }

    #[test]
    fn the_risk_is_set_only_when_the_high_end_would_block() {
        let c = Catalog::demo();
        let r = recommend_for_band(
            &c,
            "starter",
            None,
            &[("renders_2d", 90)],
            &[("renders_2d", 99)],
        )
        .unwrap();
        assert_eq!(r.risk, None);
        // Beyond the largest plan: blocked, and no safer plan.
        let r = recommend_for_band(
            &c,
            "scale",
            None,
            &[("renders_2d", 2000)],
            &[("renders_2d", 9000)],
        )
        .unwrap();
        let risk = r.risk.unwrap();
        assert_eq!((risk.blocked_metrics.len(), risk.safer_plan), (1, None));
        // Charged metrics do not block (no spend cap on starter's AI generations).
        let r = recommend_for_band(
            &c,
            "starter",
            None,
            &[("ai_generations", 400)],
            &[("ai_generations", 5000)],
        )
        .unwrap();
        assert_eq!(r.risk, None);
        let json = serde_json::to_value(&r).unwrap();
        assert!(json["risk"].is_null());
    }

    #[test]
    fn unknown_current_plan_gives_none() {
        assert!(recommend(&Catalog::demo(), "gold", None, &[]).is_none());
    }
}
