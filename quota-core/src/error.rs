//! Typed errors of the core: catalog validation, quota operations and store failures.

use std::time::Duration;

use crate::period::PeriodKey;
use crate::topup::TopUpStatus;

/// A boxed error from a backend driver, kept as the `source` of a [`StoreError`].
pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// The catalog (plan definitions) is malformed. Returned by [`crate::Catalog`] loaders.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CatalogError {
    /// The TOML or JSON text does not parse.
    #[error("catalog does not parse: {0}")]
    Parse(String),
    /// A currency code is not three upper-case letters.
    #[error("invalid currency code {0:?}: expected three upper-case letters such as \"EUR\"")]
    InvalidCurrency(String),
    /// A plan is priced in another currency than the catalog.
    #[error(
        "plan {plan:?} is priced in {found} but the catalog uses {expected}: one currency per catalog"
    )]
    MixedCurrency {
        /// The plan.
        plan: String,
        /// The catalog currency.
        expected: String,
        /// The plan currency.
        found: String,
    },
    /// An identifier (metric key, plan id, brand id) has a bad shape.
    #[error("invalid {what} {value:?}: {reason}")]
    InvalidId {
        /// What kind of identifier.
        what: &'static str,
        /// The offending value.
        value: String,
        /// Why it is refused.
        reason: &'static str,
    },
    /// The same metric is declared twice.
    #[error("metric {0:?} is declared twice")]
    DuplicateMetric(String),
    /// The same plan id is declared twice.
    #[error("plan {0:?} is declared twice")]
    DuplicatePlan(String),
    /// The catalog declares no metric or no plan.
    #[error("the catalog must declare at least one metric and one plan")]
    Empty,
    /// A plan sets a limit for a metric the catalog does not declare.
    #[error("plan {plan:?} sets a limit for unknown metric {metric:?}")]
    UnknownMetric {
        /// The plan.
        plan: String,
        /// The metric.
        metric: String,
    },
    /// A plan has no limit for a declared metric.
    #[error(
        "plan {plan:?} has no limit for metric {metric:?}: every plan must set every metric (use included = \"unlimited\")"
    )]
    MissingLimit {
        /// The plan.
        plan: String,
        /// The metric.
        metric: String,
    },
    /// A limit is invalid (zero `per_units`, grace out of range, bad thresholds, negative price, ...).
    #[error("plan {plan:?}, metric {metric:?}: {reason}")]
    InvalidLimit {
        /// The plan.
        plan: String,
        /// The metric.
        metric: String,
        /// Why.
        reason: String,
    },
    /// A plan-level value is invalid.
    #[error("plan {plan:?}: {reason}")]
    InvalidPlan {
        /// The plan.
        plan: String,
        /// Why.
        reason: String,
    },
}

/// A store backend failed. Backends map their driver errors onto these kinds.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The backend cannot be reached (connection refused, reset, pool exhausted, ...).
    #[error("store unavailable: {message}")]
    Unavailable {
        /// What happened.
        message: String,
        /// The driver error.
        #[source]
        source: Option<BoxError>,
    },
    /// The backend did not answer within the configured timeout.
    #[error("store did not answer within {0:?}")]
    Timeout(Duration),
    /// A record that must exist does not.
    #[error("not found: {0}")]
    NotFound(String),
    /// A write conflicts with existing data (duplicate id, invalid state transition).
    #[error("conflict: {0}")]
    Conflict(String),
    /// A value is outside what the backend can store (e.g. above a Postgres BIGINT); nothing
    /// was written.
    #[error("value out of range for this store: {0}")]
    OutOfRange(String),
    /// The backend holds data this version cannot read.
    #[error("corrupt data in store: {0}")]
    Corrupt(String),
    /// Any other backend error.
    #[error("store backend error: {message}")]
    Backend {
        /// What happened.
        message: String,
        /// The driver error.
        #[source]
        source: Option<BoxError>,
    },
}

impl StoreError {
    /// Shorthand for [`StoreError::Unavailable`] with a source.
    pub fn unavailable(message: impl Into<String>, source: impl Into<BoxError>) -> Self {
        StoreError::Unavailable {
            message: message.into(),
            source: Some(source.into()),
        }
    }

    /// Shorthand for [`StoreError::Backend`] with a source.
    pub fn backend(message: impl Into<String>, source: impl Into<BoxError>) -> Self {
        StoreError::Backend {
            message: message.into(),
            source: Some(source.into()),
        }
    }

    /// Whether the error means the backend could not be reached or answered too late (the
    /// cases a fail-open policy may wave through).
    pub fn is_unavailable(&self) -> bool {
        matches!(
            self,
            StoreError::Unavailable { .. } | StoreError::Timeout(_)
        )
    }
}

/// An operation of [`crate::QuotaGuard`] failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum QuotaError {
    /// No subscription exists for the brand.
    #[error("unknown brand {0:?}: it has no subscription")]
    UnknownBrand(String),
    /// The metric is not declared in the catalog.
    #[error("unknown metric {0:?}")]
    UnknownMetric(String),
    /// The plan is not in the catalog.
    #[error("unknown plan {0:?}")]
    UnknownPlan(String),
    /// An argument is out of range or malformed.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// A quantity is above what one request may ask (the metric's per-request ceiling), or a
    /// level above the domain's bound (see [`crate::domain`]). Nothing was changed.
    #[error("{quantity} units of {metric:?} is above the limit of {max} per request")]
    QuantityTooLarge {
        /// The metric.
        metric: String,
        /// The quantity asked.
        quantity: u64,
        /// The most one request may ask.
        max: u64,
    },
    /// The idempotency key was first used with another request (another metric, quantity
    /// or route): nothing was changed. Send a new key for a new request.
    #[error(
        "idempotency key {key:?} was already used for another request (another metric, quantity or route); use a new key"
    )]
    IdempotencyKeyReused {
        /// The key.
        key: String,
    },
    /// The operation does not apply to this kind of metric (e.g. `set_gauge` on a counter).
    #[error("metric {metric:?} is a {kind}: {reason}")]
    WrongMetricKind {
        /// The metric.
        metric: String,
        /// Its kind.
        kind: &'static str,
        /// Why the operation is refused.
        reason: &'static str,
    },
    /// Top-ups are only sold for metrics whose policy charges overage.
    #[error(
        "metric {metric:?} does not accept top-ups on plan {plan:?}: its overage policy is not `charge`"
    )]
    TopUpNotAllowed {
        /// The metric.
        metric: String,
        /// The brand's plan.
        plan: String,
    },
    /// The top-up does not exist.
    #[error("unknown top-up {0:?}")]
    UnknownTopUp(String),
    /// The top-up cannot move to the requested status.
    #[error("top-up {id:?} is {from} and cannot become {to}")]
    TopUpTransition {
        /// The top-up id.
        id: String,
        /// Its current status.
        from: TopUpStatus,
        /// The requested status.
        to: TopUpStatus,
    },
    /// The period asked for is not valid for the brand.
    #[error("period {0} is not a billing period of this brand")]
    InvalidPeriod(PeriodKey),
    /// The catalog is invalid.
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Result alias of the core with [`QuotaError`] as default error.
pub type Result<T, E = QuotaError> = std::result::Result<T, E>;
