//! [`QuotaDecision`]: what the layer decided, handed to the inner service on request.

use quota_core::Decision;

use crate::brand::Brand;
use crate::cost::MetricName;

/// The decision that admitted a request, in the request's extensions when the layer was built
/// with [`crate::QuotaLayer::expose_decision`]: handlers can show usage, remaining units or
/// the overage just billed without asking the store again.
///
/// ```
/// use axum::{Extension, http::StatusCode};
/// use quota_tower::QuotaDecision;
///
/// async fn handler(decision: Option<Extension<QuotaDecision>>) -> (StatusCode, String) {
///     match decision {
///         Some(Extension(q)) => (
///             StatusCode::OK,
///             format!("{} used {} of {:?}", q.brand, q.decision.used, q.decision.limit),
///         ),
///         None => (StatusCode::OK, "not metered".into()),
///     }
/// }
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct QuotaDecision {
    /// The brand the units were counted for.
    pub brand: Brand,
    /// The metric they were counted on.
    pub metric: MetricName,
    /// The decision (allowed, or allowed with overage), with usage and limit after it.
    pub decision: Decision,
}
