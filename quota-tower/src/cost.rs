//! What a request costs: which metric it consumes and how many units.
//!
//! A [`Meter`] maps a request head to a [`Cost`], or to `None` for routes that are not
//! metered (they pass through untouched). Use a closure for full control or a
//! [`RouteTable`] for the common case. A cost of 0 units only checks the quota (nothing is
//! consumed; the answer still carries the RateLimit headers).

use std::fmt;
use std::sync::Arc;

use http::Method;

use crate::brand::RequestHead;

/// A metric key, cheap to clone (`&'static str` or shared `Arc<str>`).
#[derive(Clone)]
pub struct MetricName(NameRepr);

#[derive(Clone)]
enum NameRepr {
    Static(&'static str),
    Shared(Arc<str>),
}

impl MetricName {
    /// The key.
    pub fn as_str(&self) -> &str {
        match &self.0 {
            NameRepr::Static(s) => s,
            NameRepr::Shared(s) => s,
        }
    }
}

impl fmt::Debug for MetricName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for MetricName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<&'static str> for MetricName {
    fn from(s: &'static str) -> Self {
        MetricName(NameRepr::Static(s))
    }
}

impl From<String> for MetricName {
    fn from(s: String) -> Self {
        MetricName(NameRepr::Shared(s.into()))
    }
}

impl From<Arc<str>> for MetricName {
    fn from(s: Arc<str>) -> Self {
        MetricName(NameRepr::Shared(s))
    }
}

/// The metric a request consumes and how many units.
#[derive(Clone, Debug)]
pub struct Cost {
    metric: MetricName,
    units: u64,
}

impl Cost {
    /// `units` of `metric`. 0 units = check only.
    pub fn new(metric: impl Into<MetricName>, units: u64) -> Self {
        Cost {
            metric: metric.into(),
            units,
        }
    }

    /// One unit of `metric` (the default cost).
    pub fn one(metric: impl Into<MetricName>) -> Self {
        Cost::new(metric, 1)
    }

    /// The metric.
    pub fn metric(&self) -> &MetricName {
        &self.metric
    }

    /// The units.
    pub fn units(&self) -> u64 {
        self.units
    }
}

/// Decides what a request costs; `None` = not metered.
pub trait Meter: Send + Sync + 'static {
    /// The cost of a request.
    fn meter(&self, req: RequestHead<'_>) -> Option<Cost>;
}

impl<F> Meter for F
where
    F: Fn(RequestHead<'_>) -> Option<Cost> + Send + Sync + 'static,
{
    fn meter(&self, req: RequestHead<'_>) -> Option<Cost> {
        self(req)
    }
}

/// Every request costs the same.
#[derive(Clone, Debug)]
pub struct Flat(pub Cost);

impl Meter for Flat {
    fn meter(&self, _req: RequestHead<'_>) -> Option<Cost> {
        Some(self.0.clone())
    }
}

#[derive(Clone, Debug)]
struct Route {
    method: Option<Method>,
    path: Box<str>,
    prefix: bool,
    cost: Cost,
}

impl Route {
    fn matches(&self, method: &Method, path: &str) -> bool {
        if self.method.as_ref().is_some_and(|m| m != method) {
            return false;
        }
        if self.prefix {
            path.starts_with(&*self.path)
        } else {
            path == &*self.path
        }
    }
}

/// Routes and their costs, tried in order; the first match wins. Unmatched requests use the
/// fallback cost, or are not metered when there is none.
///
/// ```
/// use http::Method;
/// use quota_tower::{Cost, RouteTable};
///
/// let routes = RouteTable::new()
///     .route(Some(Method::POST), "/renders", Cost::one("renders_2d"))
///     .prefix(Some(Method::POST), "/ai/", Cost::new("ai_generations", 5))
///     .route(Some(Method::GET), "/quota", Cost::new("ai_generations", 0));
/// # let _ = routes;
/// ```
#[derive(Clone, Debug, Default)]
pub struct RouteTable {
    routes: Vec<Route>,
    fallback: Option<Cost>,
}

impl RouteTable {
    /// An empty table (nothing metered).
    pub fn new() -> Self {
        RouteTable::default()
    }

    /// Requests to exactly `path` (any method when `method` is `None`) cost `cost`.
    #[must_use]
    pub fn route(mut self, method: Option<Method>, path: &str, cost: Cost) -> Self {
        self.routes.push(Route {
            method,
            path: path.into(),
            prefix: false,
            cost,
        });
        self
    }

    /// Requests whose path starts with `prefix` cost `cost`.
    #[must_use]
    pub fn prefix(mut self, method: Option<Method>, prefix: &str, cost: Cost) -> Self {
        self.routes.push(Route {
            method,
            path: prefix.into(),
            prefix: true,
            cost,
        });
        self
    }

    /// The cost of requests no route matches (default: not metered).
    #[must_use]
    pub fn fallback(mut self, cost: Cost) -> Self {
        self.fallback = Some(cost);
        self
    }

    /// The cost of a request with this method and path.
    pub fn lookup(&self, method: &Method, path: &str) -> Option<&Cost> {
        self.routes
            .iter()
            .find(|r| r.matches(method, path))
            .map(|r| &r.cost)
            .or(self.fallback.as_ref())
    }
}

impl Meter for RouteTable {
    fn meter(&self, req: RequestHead<'_>) -> Option<Cost> {
        self.lookup(req.method(), req.uri().path()).cloned()
    }
}
