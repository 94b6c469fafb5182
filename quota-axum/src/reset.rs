//! The runbook's `quota reset`, as one report shared by the admin endpoint and the CLI.

use quota_core::reset::ResetRequest;
use quota_core::{QuotaError, QuotaGuard};
use serde::{Deserialize, Serialize};

use crate::config::AppConfig;

/// What a reset will do (`dryRun`) or did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResetReport {
    /// Whether nothing was written.
    pub dry_run: bool,
    /// The brand.
    pub brand_id: String,
    /// The metric.
    pub metric: String,
    /// The brand's plan.
    pub plan_id: String,
    /// The period reset (`YYYYMMDD` of its start).
    pub period: String,
    /// Units the plan includes.
    pub included: u64,
    /// Usage before.
    pub used_before: u64,
    /// Completed top-up units before.
    pub topup_units_before: u64,
    /// Target, % of `included`.
    pub target_percent: u16,
    /// The usage point written.
    pub target_units: u64,
    /// The requested top-up.
    pub topup_units: Option<u64>,
    /// Why the top-up is not added, if it is refused.
    pub topup_refused: Option<String>,
    /// Usage after (applied resets only).
    pub used_after: Option<u64>,
    /// Allowance after (applied resets only).
    pub limit_after: Option<u64>,
    /// Percent of the allowance after (applied resets only).
    pub percent_after: Option<u64>,
    /// The completed top-up's id.
    pub topup_id: Option<String>,
    /// The cockpit.
    pub analytics_url: String,
    /// The monitoring page.
    pub monitoring_url: String,
}

/// Plans (`dry_run`) or applies a reset.
pub async fn run_reset(
    guard: &QuotaGuard,
    req: &ResetRequest,
    dry_run: bool,
    config: &AppConfig,
) -> Result<ResetReport, QuotaError> {
    let (plan, outcome) = if dry_run {
        (guard.plan_reset(req).await?, None)
    } else {
        let out = guard.apply_reset(req).await?;
        (out.plan.clone(), Some(out))
    };
    let (analytics_url, monitoring_url) = config.brand_links(&req.brand);
    Ok(ResetReport {
        dry_run,
        brand_id: plan.brand,
        metric: plan.metric,
        plan_id: plan.plan,
        period: plan.period.key().to_string(),
        included: plan.included,
        used_before: plan.used_before,
        topup_units_before: plan.topup_units_before,
        target_percent: plan.target_percent,
        target_units: plan.target_units,
        topup_units: plan.topup_units,
        topup_refused: plan.topup_refused,
        used_after: outcome.as_ref().map(|o| o.used_after),
        limit_after: outcome.as_ref().map(|o| o.limit_after),
        percent_after: outcome
            .as_ref()
            .map(|o| quota_core::threshold::percent_of(o.used_after, o.limit_after)),
        topup_id: outcome
            .as_ref()
            .and_then(|o| o.topup.as_ref().map(|t| t.id.clone())),
        analytics_url,
        monitoring_url,
    })
}

impl ResetReport {
    /// The text the CLI prints.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let head = if self.dry_run {
            "quota reset (dry run: nothing written)"
        } else {
            "quota reset"
        };
        out.push_str(&format!(
            "{head}: brand {} / metric {} (plan {}, period {})\n",
            self.brand_id, self.metric, self.plan_id, self.period
        ));
        out.push_str(&format!(
            "  before : {} used, {} included + {} top-up units ({} %)\n",
            self.used_before,
            self.included,
            self.topup_units_before,
            quota_core::threshold::percent_of(
                self.used_before,
                self.included.saturating_add(self.topup_units_before)
            )
        ));
        out.push_str(&format!(
            "  target : {} % of {} included = {} units (usage of the period deleted, one point written)\n",
            self.target_percent, self.included, self.target_units
        ));
        match (&self.topup_units, &self.topup_refused) {
            (Some(u), None) => out.push_str(&format!("  top-up : +{u} units, completed\n")),
            (Some(_), Some(why)) => out.push_str(&format!("  top-up : refused: {why}\n")),
            (None, _) => out.push_str("  top-up : none\n"),
        }
        match (self.used_after, self.limit_after, self.percent_after) {
            (Some(u), Some(l), Some(p)) => {
                out.push_str(&format!("  after  : {u} used of {l} ({p} %)\n"));
            }
            _ => out.push_str("  after  : (dry run) nothing changed\n"),
        }
        out.push_str(&format!(
            "  {}\n  {}\n",
            self.analytics_url, self.monitoring_url
        ));
        out
    }
}
