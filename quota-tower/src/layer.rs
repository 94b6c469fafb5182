//! [`QuotaLayer`]: builds [`QuotaService`]s and holds their options.

use std::fmt;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use http::{HeaderName, StatusCode};
use quota_core::{QuotaGuard, Store};
use tower_layer::Layer;

use crate::brand::{ApiKeyBrand, ApiKeyLookup, BrandResolver, ExtensionBrand, HeaderBrand};
use crate::burst::BurstLimit;
use crate::config::{Config, ExhaustedStatus, FailurePolicy};
use crate::cost::{Cost, Flat, Meter, MetricName};
use crate::service::QuotaService;

/// Enforces quotas in front of a service: resolves the brand, consumes the route's cost
/// atomically, and answers refusals itself (the inner service is not called).
///
/// `St` is the store type: a concrete store gives static dispatch, `dyn Store` (the default)
/// a backend chosen at run time. Options are consuming builders; the layer is cheap to clone.
pub struct QuotaLayer<St: Store + ?Sized = dyn Store> {
    config: Arc<Config<St>>,
}

impl<St: Store + ?Sized> Clone for QuotaLayer<St> {
    fn clone(&self) -> Self {
        QuotaLayer {
            config: Arc::clone(&self.config),
        }
    }
}

impl<St: Store + ?Sized> fmt::Debug for QuotaLayer<St> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("QuotaLayer")
            .field("config", &self.config)
            .finish()
    }
}

impl<St: Store + ?Sized + 'static> QuotaLayer<St> {
    /// A layer over `guard`, with the defaults: brand from the [`crate::Brand`] request
    /// extension, no metric (set one with [`QuotaLayer::metric`], [`QuotaLayer::meter`] or
    /// [`QuotaLayer::routes`]), 429 on exhaustion, fail-closed, 500 ms store timeout, no
    /// refund, no burst limit, `Idempotency-Key` honoured.
    pub fn new(guard: QuotaGuard<St>) -> Self {
        QuotaLayer {
            config: Arc::new(Config::new(guard)),
        }
    }

    fn config_mut(&mut self) -> &mut Config<St> {
        Arc::make_mut(&mut self.config)
    }

    /// The guard.
    pub fn guard(&self) -> &QuotaGuard<St> {
        &self.config.guard
    }

    // ---- who is calling --------------------------------------------------------------

    /// Resolves brands with `resolver`.
    #[must_use]
    pub fn brand_resolver(mut self, resolver: impl BrandResolver) -> Self {
        self.config_mut().resolver = Arc::new(resolver);
        self
    }

    /// Takes the brand from a header set by a trusted gateway.
    #[must_use]
    pub fn brand_from_header(self, header: HeaderName) -> Self {
        self.brand_resolver(HeaderBrand::new(header))
    }

    /// Looks the brand up from the public API key in `x-api-key`.
    #[must_use]
    pub fn brand_from_api_key(self, lookup: impl ApiKeyLookup) -> Self {
        self.brand_resolver(ApiKeyBrand::new(lookup))
    }

    /// Takes the [`crate::Brand`] an earlier layer put in the request extensions (default).
    #[must_use]
    pub fn brand_from_extension(self) -> Self {
        self.brand_resolver(ExtensionBrand)
    }

    // ---- what it costs ---------------------------------------------------------------

    /// Every request consumes one unit of `metric`.
    #[must_use]
    pub fn metric(self, metric: impl Into<MetricName>) -> Self {
        self.meter(Flat(Cost::one(metric)))
    }

    /// Every request costs `cost` (0 units = check only).
    #[must_use]
    pub fn cost(self, cost: Cost) -> Self {
        self.meter(Flat(cost))
    }

    /// The cost of a request is decided by `meter` (a closure over the request head or a
    /// [`crate::RouteTable`]); requests it returns `None` for pass through unmetered.
    #[must_use]
    pub fn meter(mut self, meter: impl Meter) -> Self {
        self.config_mut().meter = Some(Arc::new(meter));
        self
    }

    /// Same as [`QuotaLayer::meter`] with a route table.
    #[must_use]
    pub fn routes(self, routes: crate::RouteTable) -> Self {
        self.meter(routes)
    }

    // ---- answers ---------------------------------------------------------------------

    /// The status of a denial for an exhausted quota (429 by default).
    #[must_use]
    pub fn exhausted_status(mut self, status: ExhaustedStatus) -> Self {
        self.config_mut().exhausted = status;
        self
    }

    /// Where a denied brand can upgrade its plan (`upgradeUrl` of the problem).
    #[must_use]
    pub fn upgrade_url(mut self, url: impl Into<Arc<str>>) -> Self {
        self.config_mut().upgrade_url = Some(url.into());
        self
    }

    /// Where a denied brand can buy a top-up (`topupUrl` of the problem).
    #[must_use]
    pub fn topup_url(mut self, url: impl Into<Arc<str>>) -> Self {
        self.config_mut().topup_url = Some(url.into());
        self
    }

    /// The base of problem `type` URIs (default `urn:quota-guardian:problem:`); the kind's
    /// slug (`quota-exceeded`, ...) is appended.
    #[must_use]
    pub fn problem_type_base(mut self, base: impl Into<Arc<str>>) -> Self {
        self.config_mut().type_base = base.into();
        self
    }

    /// The request header whose value is passed to `consume` as idempotency key
    /// (`Idempotency-Key` by default; `None` disables it).
    #[must_use]
    pub fn idempotency_header(mut self, header: Option<HeaderName>) -> Self {
        self.config_mut().idempotency_header = header;
        self
    }

    /// Hands the decision that admitted a request to the inner service, as a
    /// [`crate::QuotaDecision`] in the request's extensions (off by default: it costs a clone
    /// of the decision and an extensions insert per admitted request). Not inserted for
    /// unmetered routes nor for requests let through by fail-open.
    #[must_use]
    pub fn expose_decision(mut self) -> Self {
        self.config_mut().expose_decision = true;
        self
    }

    /// The `WWW-Authenticate` challenge of 401 answers (default `Bearer realm="quota"`;
    /// `None` leaves it out).
    #[must_use]
    pub fn www_authenticate(mut self, challenge: Option<http::HeaderValue>) -> Self {
        self.config_mut().www_authenticate = challenge;
        self
    }

    // ---- failures --------------------------------------------------------------------

    /// What to do when the store is down or slow (fail-closed by default).
    #[must_use]
    pub fn failure_policy(mut self, policy: FailurePolicy) -> Self {
        self.config_mut().failure = policy;
        self
    }

    /// Shorthand for [`FailurePolicy::Open`].
    #[must_use]
    pub fn fail_open(self) -> Self {
        self.failure_policy(FailurePolicy::Open)
    }

    /// How long a store call (and an API key lookup) may take (500 ms by default).
    #[must_use]
    pub fn store_timeout(mut self, timeout: Duration) -> Self {
        self.config_mut().store_timeout = timeout;
        self
    }

    /// Gives the consumed units back when the inner service answers a 5xx.
    #[must_use]
    pub fn refund_on_server_errors(self) -> Self {
        self.refund_on(|s: StatusCode| s.is_server_error())
    }

    /// Gives the consumed units back when the inner answer's status matches `filter`.
    #[must_use]
    pub fn refund_on(
        mut self,
        filter: impl Fn(StatusCode) -> bool + Send + Sync + 'static,
    ) -> Self {
        self.config_mut().refund = Some(Arc::new(filter));
        self
    }

    /// Limits each brand to `max` requests per `window` (governor, keyed by brand, timed by
    /// the guard's clock), answered 429 with a `"burst"` RateLimit item. A window too short to split into `max` cells
    /// (under 1 ns each) leaves the burst limit off.
    #[must_use]
    pub fn burst(mut self, max: NonZeroU32, window: Duration) -> Self {
        let limit = BurstLimit::new(max, window, Arc::clone(self.guard().clock()));
        if limit.is_none() {
            tracing::error!(?window, max, "burst window too short: burst limit disabled");
        }
        self.config_mut().burst = limit.map(Arc::new);
        self
    }
}

impl<Svc, St: Store + ?Sized + 'static> Layer<Svc> for QuotaLayer<St> {
    type Service = QuotaService<Svc, St>;

    fn layer(&self, inner: Svc) -> Self::Service {
        QuotaService::from_config(inner, Arc::clone(&self.config))
    }
}
