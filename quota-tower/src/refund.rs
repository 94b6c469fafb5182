//! Giving consumed units back when the inner service's answer says the work was not done
//! (a 5xx by default, see [`crate::QuotaLayer::refund_on`]).
//!
//! The decision fills a [`Refund`]; the response future checks the inner answer's status
//! against its filter and, on a match, awaits [`Refund::start`] before handing the answer on.
//! The release goes through the type-erased [`Release`], so the response future does not
//! carry the store type.

use std::sync::Arc;
use std::time::Duration;

use http::StatusCode;
use quota_core::{QuotaGuard, Store};

use crate::brand::{BoxFuture, Brand};
use crate::cost::MetricName;

/// Which inner answers give the consumed units back.
pub(crate) type RefundFilter = Arc<dyn Fn(StatusCode) -> bool + Send + Sync>;

/// Gives units back.
pub(crate) trait Release: Send + Sync + 'static {
    fn release(&self, refund: &Refund) -> BoxFuture<()>;
}

/// Gives units back through the guard, within the refund's timeout; a failure is logged
/// (the answer to the client does not change).
pub(crate) struct GuardRelease<St: Store + ?Sized>(pub(crate) QuotaGuard<St>);

impl<St: Store + ?Sized + 'static> Release for GuardRelease<St> {
    fn release(&self, refund: &Refund) -> BoxFuture<()> {
        let guard = self.0.clone();
        let brand = refund.brand.clone();
        let metric = refund.metric.clone();
        let units = refund.units;
        let timeout = refund.timeout;
        Box::pin(async move {
            let call = guard.release(brand.as_str(), metric.as_str(), units);
            match tokio::time::timeout(timeout, call).await {
                Ok(Ok(used)) => {
                    tracing::debug!(brand = %brand, metric = %metric, units, used, "quota refunded");
                }
                Ok(Err(e)) => {
                    tracing::error!(brand = %brand, metric = %metric, units, error = %e, "quota refund failed");
                }
                Err(_) => {
                    tracing::error!(brand = %brand, metric = %metric, units, ?timeout, "quota refund timed out");
                }
            }
        })
    }
}

/// What to give back if the inner answer matches the filter.
pub(crate) struct Refund {
    pub(crate) releaser: Arc<dyn Release>,
    pub(crate) filter: RefundFilter,
    pub(crate) brand: Brand,
    pub(crate) metric: MetricName,
    pub(crate) units: u64,
    pub(crate) timeout: Duration,
}

impl Refund {
    /// Whether an inner answer with `status` gives the units back.
    pub(crate) fn applies_to(&self, status: StatusCode) -> bool {
        (self.filter)(status)
    }

    /// Starts giving the units back.
    pub(crate) fn start(&self) -> BoxFuture<()> {
        tracing::info!(
            brand = %self.brand,
            metric = %self.metric,
            units = self.units,
            "quota: inner service failed, refunding"
        );
        self.releaser.release(self)
    }
}
