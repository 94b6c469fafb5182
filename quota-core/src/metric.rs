//! Metrics: what is measured, and whether it is consumed per period or held as a level.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::domain::{DEFAULT_MAX_PER_REQUEST, DEFAULT_MAX_TOPUP_UNITS};

/// How a metric behaves over time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum MetricKind {
    /// Consumed units that start again from zero every billing period (`ai_generations`).
    Counter,
    /// A level that is set or adjusted and never resets (`team_members`); checked on increase.
    Gauge,
}

impl MetricKind {
    /// `counter` or `gauge`.
    pub fn as_str(&self) -> &'static str {
        match self {
            MetricKind::Counter => "counter",
            MetricKind::Gauge => "gauge",
        }
    }
}

/// A metric declared by the catalog.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct MetricDef {
    /// Stable key such as `ai_generations` (see [`crate::ids::validate_metric_key`]).
    pub key: String,
    /// Counter or gauge.
    pub kind: MetricKind,
    /// Human name shown in the cockpit (defaults to the key).
    pub name: String,
    /// The most units one request may consume or add (`maxPerRequest` in the catalog;
    /// default [`DEFAULT_MAX_PER_REQUEST`], at most [`MAX_UNITS`](crate::domain::MAX_UNITS)).
    /// A larger request is refused, changing nothing.
    #[serde(default = "default_max_per_request")]
    pub max_per_request: u64,
    /// The most units one top-up checkout may buy (`maxTopupUnits` in the catalog; default
    /// [`DEFAULT_MAX_TOPUP_UNITS`], at most [`MAX_TOPUP_UNITS`](crate::domain::MAX_TOPUP_UNITS)). A larger checkout is
    /// refused, changing nothing.
    #[serde(default = "default_max_topup_units")]
    pub max_topup_units: u64,
    /// The name in other languages, by language tag (`names = { fr = "Générations IA" }` in
    /// the catalog): what the cockpit shows in that language instead of `name`. Tags are 2
    /// lowercase letters; names are 1 to [`MAX_METRIC_NAME`](crate::domain::MAX_METRIC_NAME) characters.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub names: BTreeMap<String, String>,
}

fn default_max_per_request() -> u64 {
    DEFAULT_MAX_PER_REQUEST
}

fn default_max_topup_units() -> u64 {
    DEFAULT_MAX_TOPUP_UNITS
}

impl MetricDef {
    /// Builds a metric definition; the key is checked when the catalog is validated.
    pub fn new(key: impl Into<String>, kind: MetricKind, name: impl Into<String>) -> Self {
        MetricDef {
            key: key.into(),
            kind,
            name: name.into(),
            max_per_request: DEFAULT_MAX_PER_REQUEST,
            max_topup_units: DEFAULT_MAX_TOPUP_UNITS,
            names: BTreeMap::new(),
        }
    }

    /// Adds the metric's name in language `lang` (a 2-letter tag such as `fr`).
    #[must_use]
    pub fn with_name_in(mut self, lang: impl Into<String>, name: impl Into<String>) -> Self {
        self.names.insert(lang.into(), name.into());
        self
    }

    /// The name in `lang`: its translation when the catalog has one, else `name`.
    pub fn name_in(&self, lang: &str) -> &str {
        self.names.get(lang).map_or(&self.name, String::as_str)
    }

    /// Sets the per-request ceiling.
    #[must_use]
    pub fn with_max_per_request(mut self, max: u64) -> Self {
        self.max_per_request = max;
        self
    }

    /// Sets the most units one top-up checkout may buy.
    #[must_use]
    pub fn with_max_topup_units(mut self, max: u64) -> Self {
        self.max_topup_units = max;
        self
    }
}
