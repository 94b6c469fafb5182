//! The plan catalog (`PLAN_DEFINITIONS`): metrics, plans and limits, loaded from TOML or JSON
//! and validated once, so the request path never meets a malformed plan.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::num::NonZeroU64;

use serde::{Deserialize, Serialize};

use crate::domain::{
    DEFAULT_MAX_PER_REQUEST, DEFAULT_MAX_TOPUP_UNITS, MAX_METRICS, MAX_TOPUP_UNITS, MAX_UNITS,
};
use crate::error::CatalogError;
use crate::ids::{validate_metric_key, validate_plan_id};
use crate::metric::{MetricDef, MetricKind};
use crate::money::{Currency, Money};
use crate::overage::OveragePolicy;
use crate::plan::{Limit, Plan};
use crate::threshold::{DEFAULT_THRESHOLDS, Threshold, invalid_thresholds, validate_thresholds};

/// Highest accepted price, unit price or spend cap, in minor units: the domain's
/// [`MAX_MONEY_MINOR`](crate::domain::MAX_MONEY_MINOR).
const MAX_PRICE_MINOR: u64 = crate::domain::MAX_MONEY_MINOR;

/// A validated plan catalog.
///
/// ```
/// let catalog = quota_core::Catalog::demo();
/// assert_eq!(catalog.plans().len(), 4);
/// assert!(catalog.plan("pro").is_some());
/// ```
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Catalog {
    currency: Currency,
    thresholds: Vec<Threshold>,
    metrics: Vec<MetricDef>,
    /// Sorted by price, then id.
    plans: Vec<Plan>,
    #[serde(skip)]
    plan_index: HashMap<String, usize>,
}

impl Catalog {
    /// The built-in demo catalog, as TOML: plans `free`, `starter`, `pro`, `scale` (EUR) over
    /// `ai_generations` (counter, overage charged), `renders_2d` (counter, blocked at its
    /// limit) and `team_members` (gauge, blocked). [`Catalog::demo`] loads it.
    pub const PLAN_DEFINITIONS: &str = include_str!("demo_catalog.toml");

    /// The built-in demo catalog ([`Catalog::PLAN_DEFINITIONS`]).
    pub fn demo() -> Catalog {
        match Catalog::from_toml(Catalog::PLAN_DEFINITIONS) {
            Ok(c) => c,
            // The demo text is a constant checked by the unit tests.
            Err(e) => unreachable!("the built-in catalog is valid: {e}"),
        }
    }

    /// Parses and validates a TOML catalog.
    pub fn from_toml(text: &str) -> Result<Catalog, CatalogError> {
        let raw: RawCatalog =
            toml::from_str(text).map_err(|e| CatalogError::Parse(e.to_string()))?;
        raw.validate()
    }

    /// Parses and validates a JSON catalog (same shape as the TOML one).
    pub fn from_json(text: &str) -> Result<Catalog, CatalogError> {
        let raw: RawCatalog =
            serde_json::from_str(text).map_err(|e| CatalogError::Parse(e.to_string()))?;
        raw.validate()
    }

    /// Builds a catalog from values, with the same validation as the loaders.
    pub fn new(
        currency: Currency,
        metrics: Vec<MetricDef>,
        plans: Vec<Plan>,
        thresholds: Option<Vec<Threshold>>,
    ) -> Result<Catalog, CatalogError> {
        let thresholds = thresholds.unwrap_or_else(|| DEFAULT_THRESHOLDS.to_vec());
        validate_thresholds(&thresholds).map_err(|reason| CatalogError::InvalidPlan {
            plan: "(catalog)".into(),
            reason,
        })?;
        if metrics.is_empty() || plans.is_empty() {
            return Err(CatalogError::Empty);
        }
        if metrics.len() > MAX_METRICS {
            return Err(CatalogError::InvalidPlan {
                plan: "(catalog)".into(),
                reason: format!("a catalog declares at most {MAX_METRICS} metrics"),
            });
        }
        let mut seen = HashSet::new();
        for m in &metrics {
            validate_metric_key(&m.key)?;
            if m.max_per_request == 0 || m.max_per_request > MAX_UNITS {
                return Err(CatalogError::InvalidPlan {
                    plan: "(catalog)".into(),
                    reason: format!(
                        "metric {:?}: maxPerRequest must be within 1..={MAX_UNITS}",
                        m.key
                    ),
                });
            }
            if m.max_topup_units == 0 || m.max_topup_units > MAX_TOPUP_UNITS {
                return Err(CatalogError::InvalidPlan {
                    plan: "(catalog)".into(),
                    reason: format!(
                        "metric {:?}: maxTopupUnits must be within 1..={MAX_TOPUP_UNITS}",
                        m.key
                    ),
                });
            }
            validate_metric_names(m)?;
            if !seen.insert(m.key.as_str()) {
                return Err(CatalogError::DuplicateMetric(m.key.clone()));
            }
        }
        let mut plan_ids = HashSet::new();
        for p in &plans {
            validate_plan_id(&p.id)?;
            if !plan_ids.insert(p.id.as_str()) {
                return Err(CatalogError::DuplicatePlan(p.id.clone()));
            }
            validate_plan(p, currency, &metrics)?;
        }
        let mut plans = plans;
        plans.sort_by(|a, b| (a.price.amount_minor, &a.id).cmp(&(b.price.amount_minor, &b.id)));
        let plan_index = plans
            .iter()
            .enumerate()
            .map(|(i, p)| (p.id.clone(), i))
            .collect();
        Ok(Catalog {
            currency,
            thresholds,
            metrics,
            plans,
            plan_index,
        })
    }

    /// The catalog currency.
    pub fn currency(&self) -> Currency {
        self.currency
    }

    /// The default thresholds.
    pub fn thresholds(&self) -> &[Threshold] {
        &self.thresholds
    }

    /// Declared metrics, in declaration order.
    pub fn metrics(&self) -> &[MetricDef] {
        &self.metrics
    }

    /// The metric named `key`.
    pub fn metric(&self, key: &str) -> Option<&MetricDef> {
        self.metrics.iter().find(|m| m.key == key)
    }

    /// Plans, cheapest first.
    pub fn plans(&self) -> &[Plan] {
        &self.plans
    }

    /// The plan `id`.
    pub fn plan(&self, id: &str) -> Option<&Plan> {
        self.plan_index.get(id).and_then(|&i| self.plans.get(i))
    }

    /// The thresholds that apply to `metric` under `plan`: the metric limit's, else the plan's,
    /// else the catalog's.
    pub fn thresholds_for<'a>(&'a self, plan: &'a Plan, limit: &'a Limit) -> &'a [Threshold] {
        limit
            .thresholds
            .as_deref()
            .or(plan.thresholds.as_deref())
            .unwrap_or(&self.thresholds)
    }

    /// The cheapest plan other than `current` under which `needed` units of `metric` fit
    /// (without top-ups): the upgrade to suggest on a denial.
    pub fn suggest_plan(&self, current: &str, metric: &str, needed: u64) -> Option<&Plan> {
        self.plans.iter().find(|p| {
            p.id != current
                && p.limit(metric)
                    .is_some_and(|l| l.ceiling_without_topups().is_none_or(|c| c >= needed))
        })
    }
}

fn validate_plan(p: &Plan, currency: Currency, metrics: &[MetricDef]) -> Result<(), CatalogError> {
    if p.price.currency != currency {
        return Err(CatalogError::MixedCurrency {
            plan: p.id.clone(),
            expected: currency.to_string(),
            found: p.price.currency.to_string(),
        });
    }
    if p.price.amount_minor < 0 || p.price.amount_minor.unsigned_abs() > MAX_PRICE_MINOR {
        return Err(CatalogError::InvalidPlan {
            plan: p.id.clone(),
            reason: format!("price must be within 0..={MAX_PRICE_MINOR} minor units"),
        });
    }
    if p.name.trim().is_empty() || p.name.len() > 120 {
        return Err(CatalogError::InvalidPlan {
            plan: p.id.clone(),
            reason: "name must have 1 to 120 characters".into(),
        });
    }
    if let Some(t) = &p.thresholds {
        validate_thresholds(t).map_err(|reason| CatalogError::InvalidPlan {
            plan: p.id.clone(),
            reason,
        })?;
    }
    for key in p.limits.keys() {
        if !metrics.iter().any(|m| &m.key == key) {
            return Err(CatalogError::UnknownMetric {
                plan: p.id.clone(),
                metric: key.clone(),
            });
        }
    }
    for m in metrics {
        let Some(limit) = p.limits.get(&m.key) else {
            return Err(CatalogError::MissingLimit {
                plan: p.id.clone(),
                metric: m.key.clone(),
            });
        };
        validate_limit(limit, m.kind).map_err(|r| invalid_thresholds(&p.id, &m.key, r))?;
    }
    Ok(())
}

/// Checks one limit of a metric of `kind` (a plan's, or a brand's override): included units
/// and amounts within the domain ([`crate::domain`]), grace within 0..=100 %, no overage
/// charge on a gauge, a valid threshold list. The error says why.
pub(crate) fn validate_limit(limit: &Limit, kind: MetricKind) -> Result<(), String> {
    if limit.included.is_some_and(|i| i > MAX_UNITS) {
        return Err(format!("included must be at most {MAX_UNITS} units"));
    }
    if limit.grace_percent > 100 {
        return Err("grace_percent must be within 0..=100".into());
    }
    if let OveragePolicy::Charge {
        unit_price,
        per_units,
        cap,
    } = limit.overage
    {
        if unit_price > MAX_PRICE_MINOR || cap.is_some_and(|c| c > MAX_PRICE_MINOR) {
            return Err(format!(
                "unit_price and cap must be at most {MAX_PRICE_MINOR} minor units"
            ));
        }
        if per_units.get() > MAX_UNITS {
            return Err(format!("per_units must be at most {MAX_UNITS}"));
        }
        if kind == MetricKind::Gauge {
            return Err("a gauge cannot charge overage: use policy = \"block\"".into());
        }
    }
    if let Some(t) = &limit.thresholds {
        validate_thresholds(t)?;
    }
    Ok(())
}

// ---- file format -------------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCatalog {
    currency: String,
    #[serde(default)]
    thresholds: Option<Vec<Threshold>>,
    metrics: Vec<RawMetric>,
    plans: Vec<RawPlan>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMetric {
    key: String,
    kind: MetricKind,
    #[serde(default)]
    name: Option<String>,
    #[serde(default, alias = "maxPerRequest")]
    max_per_request: Option<u64>,
    #[serde(default, alias = "maxTopupUnits")]
    max_topup_units: Option<u64>,
    #[serde(default)]
    names: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPlan {
    id: String,
    #[serde(default)]
    name: Option<String>,
    price: i64,
    #[serde(default)]
    currency: Option<String>,
    #[serde(default)]
    thresholds: Option<Vec<Threshold>>,
    limits: BTreeMap<String, RawLimit>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLimit {
    included: RawIncluded,
    #[serde(default)]
    overage: Option<RawOverage>,
    #[serde(default, alias = "gracePercent")]
    grace_percent: u8,
    #[serde(default)]
    thresholds: Option<Vec<Threshold>>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawIncluded {
    Units(u64),
    Word(String),
}

#[derive(Deserialize)]
#[serde(tag = "policy", rename_all = "snake_case", deny_unknown_fields)]
enum RawOverage {
    Block,
    Charge {
        #[serde(alias = "unitPrice")]
        unit_price: u64,
        #[serde(default = "one", alias = "perUnits")]
        per_units: u64,
        #[serde(default)]
        cap: Option<u64>,
    },
}

/// A metric's names: each 1 to [`MAX_METRIC_NAME`](crate::domain::MAX_METRIC_NAME) characters, not blank, by 2-letter
/// lowercase language tags.
fn validate_metric_names(m: &MetricDef) -> Result<(), CatalogError> {
    use crate::domain::MAX_METRIC_NAME;
    let bad = |reason: String| CatalogError::InvalidPlan {
        plan: "(catalog)".into(),
        reason: format!("metric {:?}: {reason}", m.key),
    };
    let name_ok = |name: &str| !name.trim().is_empty() && name.chars().count() <= MAX_METRIC_NAME;
    let too_long = || {
        bad(format!(
            "a name must be 1 to {MAX_METRIC_NAME} characters, not blank"
        ))
    };
    if !name_ok(&m.name) {
        return Err(too_long());
    }
    for (lang, name) in &m.names {
        if !(lang.len() == 2 && lang.bytes().all(|b| b.is_ascii_lowercase())) {
            return Err(bad(format!(
                "names: {:?} is not a 2-letter lowercase language tag",
                lang.chars().take(20).collect::<String>()
            )));
        }
        if !name_ok(name) {
            return Err(too_long());
        }
    }
    Ok(())
}

fn one() -> u64 {
    1
}

impl RawCatalog {
    fn validate(self) -> Result<Catalog, CatalogError> {
        let currency = Currency::parse(&self.currency)?;
        let metrics = self
            .metrics
            .into_iter()
            .map(|m| {
                let name = m.name.unwrap_or_else(|| m.key.clone());
                let mut def = MetricDef::new(m.key, m.kind, name)
                    .with_max_per_request(m.max_per_request.unwrap_or(DEFAULT_MAX_PER_REQUEST))
                    .with_max_topup_units(m.max_topup_units.unwrap_or(DEFAULT_MAX_TOPUP_UNITS));
                def.names = m.names;
                def
            })
            .collect();
        let plans = self
            .plans
            .into_iter()
            .map(|p| p.into_plan(currency))
            .collect::<Result<Vec<_>, _>>()?;
        Catalog::new(currency, metrics, plans, self.thresholds)
    }
}

impl RawPlan {
    fn into_plan(self, catalog_currency: Currency) -> Result<Plan, CatalogError> {
        let currency = match &self.currency {
            Some(c) => Currency::parse(c)?,
            None => catalog_currency,
        };
        let mut limits = BTreeMap::new();
        for (metric, raw) in self.limits {
            let bad = |reason: &str| CatalogError::InvalidLimit {
                plan: self.id.clone(),
                metric: metric.clone(),
                reason: reason.to_owned(),
            };
            let included = match raw.included {
                RawIncluded::Units(n) => Some(n),
                RawIncluded::Word(w) if w == "unlimited" => None,
                RawIncluded::Word(_) => {
                    return Err(bad("included must be a unit count or \"unlimited\""));
                }
            };
            let overage = match raw.overage.unwrap_or(RawOverage::Block) {
                RawOverage::Block => OveragePolicy::Block,
                RawOverage::Charge {
                    unit_price,
                    per_units,
                    cap,
                } => OveragePolicy::Charge {
                    unit_price,
                    per_units: NonZeroU64::new(per_units)
                        .ok_or_else(|| bad("per_units must be at least 1"))?,
                    cap,
                },
            };
            if raw.grace_percent > 100 {
                return Err(bad("grace_percent must be within 0..=100"));
            }
            limits.insert(
                metric.clone(),
                Limit {
                    included,
                    overage,
                    grace_percent: raw.grace_percent,
                    thresholds: raw.thresholds,
                },
            );
        }
        Ok(Plan {
            name: self.name.unwrap_or_else(|| self.id.clone()),
            id: self.id,
            price: Money::new(self.price, currency),
            limits,
            thresholds: self.thresholds,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_catalog_has_four_plans_and_the_runbook_metrics() {
        let c = Catalog::demo();
        let ids: Vec<&str> = c.plans().iter().map(|p| p.id.as_str()).collect();
        assert_eq!(ids, ["free", "starter", "pro", "scale"]);
        for p in c.plans() {
            assert!(p.limit("ai_generations").unwrap().accepts_topups());
            assert_eq!(p.limit("renders_2d").unwrap().overage, OveragePolicy::Block);
            assert_eq!(
                p.limit("team_members").unwrap().overage,
                OveragePolicy::Block
            );
        }
        assert_eq!(c.metric("team_members").unwrap().kind, MetricKind::Gauge);
        let ai = c.metric("ai_generations").unwrap();
        assert_eq!(ai.name_in("fr"), "Générations IA");
        assert_eq!(ai.name_in("en"), "AI generations");
        assert_eq!(ai.name_in("de"), "AI generations");
    }

    #[test]
    fn metric_names_by_language_are_checked() {
        let catalog = |names: &str| {
            Catalog::from_toml(&format!(
                r#"
                currency = "EUR"
                [[metrics]]
                key = "api_calls"
                kind = "counter"
                name = "API calls"
                names = {names}
                [[plans]]
                id = "p"
                price = 0
                [plans.limits.api_calls]
                included = 10
                "#
            ))
        };
        let ok = catalog(r#"{ fr = "Appels API" }"#).unwrap();
        assert_eq!(ok.metric("api_calls").unwrap().name_in("fr"), "Appels API");
        for bad in [
            r#"{ FR = "Appels" }"#,
            r#"{ fra = "Appels" }"#,
            r#"{ fr = "  " }"#,
            r#"{ "" = "Appels" }"#,
        ] {
            let err = catalog(bad).unwrap_err().to_string();
            assert!(err.contains("api_calls"), "{bad}: {err}");
        }
        let long = format!(r#"{{ fr = "{}" }}"#, "é".repeat(121));
        assert!(catalog(&long).is_err());
        let longest = format!(r#"{{ fr = "{}" }}"#, "é".repeat(120));
        assert!(catalog(&longest).is_ok());
    }

    const MINIMAL: &str = r#"
        currency = "EUR"
        [[metrics]]
        key = "m"
        kind = "counter"
        [[plans]]
        id = "p"
        price = 100
        [plans.limits.m]
        included = 10
    "#;

    #[test]
    fn loads_a_minimal_toml_catalog_with_block_as_default_policy() {
        let c = Catalog::from_toml(MINIMAL).unwrap();
        assert_eq!(c.plan("p").unwrap().limit("m").unwrap(), &Limit::block(10));
    }

    #[test]
    fn loads_json_with_unlimited_and_camel_case_fields() {
        let json = r#"{"currency":"USD","metrics":[{"key":"m","kind":"counter"}],
            "plans":[{"id":"p","price":0,"limits":{"m":{"included":"unlimited",
            "overage":{"policy":"charge","unitPrice":3,"perUnits":10}}}}]}"#;
        let c = Catalog::from_json(json).unwrap();
        let limit = c.plan("p").unwrap().limit("m").unwrap();
        assert_eq!(limit.included, None);
        assert_eq!(limit.ceiling_without_topups(), None);
    }

    fn err(text: &str) -> String {
        Catalog::from_toml(text).unwrap_err().to_string()
    }

    #[test]
    fn invalid_catalogs_get_clear_typed_errors() {
        let dup_metric = MINIMAL.replace(
            "[[plans]]",
            "[[metrics]]\nkey = \"m\"\nkind = \"gauge\"\n[[plans]]",
        );
        assert!(
            err(&dup_metric).contains("declared twice"),
            "{}",
            err(&dup_metric)
        );
        let mixed = MINIMAL.replace("price = 100", "price = 100\ncurrency = \"USD\"");
        assert!(err(&mixed).contains("one currency per catalog"));
        let zero_per = MINIMAL.replace(
            "included = 10",
            "included = 10\noverage = { policy = \"charge\", unit_price = 1, per_units = 0 }",
        );
        assert!(err(&zero_per).contains("per_units must be at least 1"));
        let unknown = MINIMAL.replace("[plans.limits.m]", "[plans.limits.x]");
        assert!(err(&unknown).contains("unknown metric"));
        let negative = MINIMAL.replace("price = 100", "price = -1");
        assert!(err(&negative).contains("price must be within"));
        assert!(err("currency = 1").contains("does not parse"));
        let bad_word = MINIMAL.replace("included = 10", "included = \"lots\"");
        assert!(err(&bad_word).contains("unlimited"));
        let currency = MINIMAL.replace("\"EUR\"", "\"eur\"");
        assert!(err(&currency).contains("currency"));
        for bad in ["0", "1000000001"] {
            let topup = MINIMAL.replace(
                "kind = \"counter\"",
                &format!("kind = \"counter\"\nmax_topup_units = {bad}"),
            );
            assert!(
                err(&topup).contains("maxTopupUnits must be within"),
                "{}",
                err(&topup)
            );
        }
    }

    #[test]
    fn checkout_units_default_to_a_million_and_follow_the_catalog() {
        let c = Catalog::from_toml(MINIMAL).unwrap();
        assert_eq!(
            c.metric("m").unwrap().max_topup_units,
            DEFAULT_MAX_TOPUP_UNITS
        );
        let set = MINIMAL.replace(
            "kind = \"counter\"",
            "kind = \"counter\"\nmaxTopupUnits = 500",
        );
        let c = Catalog::from_toml(&set).unwrap();
        assert_eq!(c.metric("m").unwrap().max_topup_units, 500);
    }

    #[test]
    fn suggests_the_cheapest_plan_that_fits() {
        let c = Catalog::demo();
        assert_eq!(
            c.suggest_plan("free", "renders_2d", 21).unwrap().id,
            "starter"
        );
        assert_eq!(c.suggest_plan("free", "renders_2d", 400).unwrap().id, "pro");
        assert!(c.suggest_plan("free", "renders_2d", 1_000_000).is_none());
    }
}
