//! The options shared by a [`crate::QuotaLayer`] and the services it builds.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use http::{HeaderName, HeaderValue, StatusCode};
use quota_core::{QuotaGuard, Store};

use crate::brand::{BrandResolver, ExtensionBrand};
use crate::burst::BurstLimit;
use crate::cost::Meter;
use crate::headers::IDEMPOTENCY_KEY;
use crate::refund::{GuardRelease, RefundFilter, Release};

/// What the layer does when the quota store cannot answer (down or too slow).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum FailurePolicy {
    /// Refuse with 503 problem+json (the default): no unmetered usage.
    #[default]
    Closed,
    /// Let the request through unmetered: availability first. Logged and counted.
    Open,
}

impl FailurePolicy {
    /// The label used in logs and metrics (`open` / `closed`).
    pub fn as_str(self) -> &'static str {
        match self {
            FailurePolicy::Closed => "closed",
            FailurePolicy::Open => "open",
        }
    }
}

/// The status of a denial for an exhausted hard quota.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum ExhaustedStatus {
    /// 429 Too Many Requests (the default).
    #[default]
    TooManyRequests,
    /// 402 Payment Required: the brand must upgrade or top up.
    PaymentRequired,
}

impl ExhaustedStatus {
    /// The HTTP status.
    pub fn status(self) -> StatusCode {
        match self {
            ExhaustedStatus::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
            ExhaustedStatus::PaymentRequired => StatusCode::PAYMENT_REQUIRED,
        }
    }
}

/// Default time a store call may take.
pub const DEFAULT_STORE_TIMEOUT: Duration = Duration::from_millis(500);
/// Default challenge of 401 answers (RFC 9110 requires one).
pub const DEFAULT_WWW_AUTHENTICATE: &str = "Bearer realm=\"quota\"";
/// Default base of problem `type` URIs.
pub const DEFAULT_PROBLEM_TYPE_BASE: &str = "urn:quota-guardian:problem:";

pub(crate) struct Config<St: Store + ?Sized> {
    pub(crate) guard: QuotaGuard<St>,
    pub(crate) resolver: Arc<dyn BrandResolver>,
    pub(crate) meter: Option<Arc<dyn Meter>>,
    pub(crate) exhausted: ExhaustedStatus,
    pub(crate) failure: FailurePolicy,
    pub(crate) store_timeout: Duration,
    pub(crate) refund: Option<RefundFilter>,
    pub(crate) burst: Option<Arc<BurstLimit>>,
    pub(crate) upgrade_url: Option<Arc<str>>,
    pub(crate) topup_url: Option<Arc<str>>,
    pub(crate) type_base: Arc<str>,
    pub(crate) idempotency_header: Option<HeaderName>,
    pub(crate) releaser: Arc<dyn Release>,
    pub(crate) www_authenticate: Option<HeaderValue>,
    /// Put a [`crate::QuotaDecision`] in the inner request's extensions.
    pub(crate) expose_decision: bool,
}

impl<St: Store + ?Sized + 'static> Config<St> {
    pub(crate) fn new(guard: QuotaGuard<St>) -> Self {
        Config {
            releaser: Arc::new(GuardRelease(guard.clone())),
            www_authenticate: Some(HeaderValue::from_static(DEFAULT_WWW_AUTHENTICATE)),
            guard,
            resolver: Arc::new(ExtensionBrand),
            meter: None,
            exhausted: ExhaustedStatus::default(),
            failure: FailurePolicy::default(),
            store_timeout: DEFAULT_STORE_TIMEOUT,
            refund: None,
            burst: None,
            upgrade_url: None,
            topup_url: None,
            type_base: DEFAULT_PROBLEM_TYPE_BASE.into(),
            idempotency_header: Some(IDEMPOTENCY_KEY),
            expose_decision: false,
        }
    }
}

impl<St: Store + ?Sized> Clone for Config<St> {
    fn clone(&self) -> Self {
        Config {
            guard: self.guard.clone(),
            resolver: Arc::clone(&self.resolver),
            meter: self.meter.clone(),
            exhausted: self.exhausted,
            failure: self.failure,
            store_timeout: self.store_timeout,
            refund: self.refund.clone(),
            burst: self.burst.clone(),
            upgrade_url: self.upgrade_url.clone(),
            topup_url: self.topup_url.clone(),
            type_base: Arc::clone(&self.type_base),
            idempotency_header: self.idempotency_header.clone(),
            releaser: Arc::clone(&self.releaser),
            www_authenticate: self.www_authenticate.clone(),
            expose_decision: self.expose_decision,
        }
    }
}

impl<St: Store + ?Sized> fmt::Debug for Config<St> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("metered", &self.meter.is_some())
            .field("exhausted", &self.exhausted)
            .field("failure", &self.failure)
            .field("store_timeout", &self.store_timeout)
            .field("refund", &self.refund.is_some())
            .field("burst", &self.burst)
            .field("upgrade_url", &self.upgrade_url)
            .field("topup_url", &self.topup_url)
            .field("type_base", &self.type_base)
            .field("idempotency_header", &self.idempotency_header)
            .field("expose_decision", &self.expose_decision)
            .finish_non_exhaustive()
    }
}
