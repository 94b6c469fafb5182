//! The decision taken before the inner service: brand, burst, quota, and the answer to give.

use std::sync::Arc;

use bytes::Bytes;
use http::header::RETRY_AFTER;
use http::{HeaderValue, Response, StatusCode};
use quota_core::ids::validate_brand_id;
use quota_core::{Decision, Denial, QuotaError, Store, StoreError, Verdict};

use crate::brand::{Brand, Resolution};
use crate::burst::ceil_secs;
use crate::config::{Config, FailurePolicy};
use crate::cost::Cost;
use crate::headers::{
    BurstItem, QUOTA_OVERAGE_CHARGE, QUOTA_OVERAGE_UNITS, QuotaItem, RATELIMIT, RATELIMIT_POLICY,
    policy_value, ratelimit_value, seconds_value,
};
use crate::problem::{Problem, ProblemKind};
use crate::refund::Refund;

/// Metric names.
pub(crate) const DECISIONS_TOTAL: &str = "quota_decisions_total";
pub(crate) const STORE_ERRORS_TOTAL: &str = "quota_store_errors_total";

/// The `source` label of this crate's decisions: the record route of quota-axum counts its
/// own under `source="api"`, so each label set of `quota_decisions_total` has one meaning.
pub(crate) const SOURCE: &str = "layer";

fn count(outcome: &'static str) {
    metrics::counter!(DECISIONS_TOTAL, "outcome" => outcome, "source" => SOURCE).increment(1);
}

/// What an admitted request's answer gets.
#[derive(Default)]
pub(crate) struct Admission {
    /// For the inner service's request extensions (opt-in).
    pub(crate) decision: Option<Box<crate::admitted::QuotaDecision>>,
    pub(crate) policy: Option<HeaderValue>,
    pub(crate) ratelimit: Option<HeaderValue>,
    pub(crate) overage: Option<(HeaderValue, HeaderValue)>,
    pub(crate) refund: Option<Refund>,
}

impl Admission {
    pub(crate) fn apply<B>(&mut self, res: &mut Response<B>) {
        let headers = res.headers_mut();
        if let Some(v) = self.policy.take() {
            headers.insert(RATELIMIT_POLICY, v);
        }
        if let Some(v) = self.ratelimit.take() {
            headers.insert(RATELIMIT, v);
        }
        if let Some((units, charge)) = self.overage.take() {
            headers.insert(QUOTA_OVERAGE_UNITS, units);
            headers.insert(QUOTA_OVERAGE_CHARGE, charge);
        }
    }
}

/// The outcome of the decision.
pub(crate) enum Gate {
    Admit(Admission),
    Reject(Response<Bytes>),
}

fn reject(problem: Problem) -> Gate {
    Gate::Reject(problem.into_http())
}

fn problem<St: Store + ?Sized>(
    cfg: &Config<St>,
    kind: ProblemKind,
    status: StatusCode,
    detail: impl Into<String>,
) -> Problem {
    Problem::of_kind(kind, status, detail).with_type_base(Arc::clone(&cfg.type_base))
}

fn unresolved<St: Store + ?Sized>(cfg: &Config<St>, why: &str) -> Gate {
    count("unresolved");
    tracing::debug!(reason = why, "quota: brand not resolved");
    let mut res = problem(
        cfg,
        ProblemKind::UnresolvedBrand,
        StatusCode::UNAUTHORIZED,
        format!("The caller could not be identified: {why}."),
    )
    .into_http();
    if let Some(challenge) = &cfg.www_authenticate {
        res.headers_mut()
            .insert(http::header::WWW_AUTHENTICATE, challenge.clone());
    }
    Gate::Reject(res)
}

/// The 500 answer of a layer or route set up wrong (logged: an operator must fix it).
pub(crate) fn misconfigured<St: Store + ?Sized>(
    cfg: &Config<St>,
    detail: String,
) -> Response<Bytes> {
    count("misconfigured");
    tracing::error!(detail = %detail, "quota layer misconfigured");
    problem(
        cfg,
        ProblemKind::Configuration,
        StatusCode::INTERNAL_SERVER_ERROR,
        detail,
    )
    .into_http()
}

/// Decides on a metered request.
pub(crate) async fn decide<St: Store + ?Sized + 'static>(
    cfg: Arc<Config<St>>,
    resolution: Resolution,
    cost: Cost,
    idempotency_key: Option<(HeaderValue, String)>,
) -> Gate {
    let brand = match resolution {
        Resolution::Resolved(b) => b,
        Resolution::Unresolved(why) => return unresolved(&cfg, why),
        Resolution::Pending(lookup) => {
            match tokio::time::timeout(cfg.store_timeout, lookup).await {
                Ok(Ok(Some(b))) => b,
                Ok(Ok(None)) => return unresolved(&cfg, "unknown or revoked API key"),
                Ok(Err(e)) => return lookup_failed(&cfg, &e.to_string()),
                Err(_) => return lookup_failed(&cfg, "the brand lookup timed out"),
            }
        }
    };
    if validate_brand_id(brand.as_str()).is_err() {
        return unresolved(&cfg, "the brand id is malformed");
    }
    let key = match &idempotency_key {
        None => None,
        Some((v, scope)) => match v.to_str() {
            Ok(s) => Some((s, scope.as_str())),
            Err(_) => return invalid(&cfg, "the Idempotency-Key header must be visible ASCII"),
        },
    };

    let burst = match &cfg.burst {
        None => None,
        Some(limit) => match limit.check(&brand) {
            Ok(item) => Some(item),
            Err((item, wait)) => return burst_denied(&cfg, &brand, &item, wait),
        },
    };

    let metric = cost.metric().as_str();
    let units = cost.units();
    let guard = &cfg.guard;
    let call = async {
        let d = match key {
            _ if units == 0 => guard.check(brand.as_str(), metric, 0).await?,
            None => guard.consume(brand.as_str(), metric, units, None).await?,
            Some((key, scope)) => {
                guard
                    .consume_scoped(brand.as_str(), metric, units, key, scope)
                    .await?
            }
        };
        // The window (`w`) is the period the decision belongs to.
        let window = match (d.limit, d.period_start, d.resets_at) {
            (Some(_), Some(start), Some(end)) => end
                .signed_duration_since(start)
                .to_std()
                .ok()
                .map(ceil_secs),
            _ => None,
        };
        Ok::<_, QuotaError>((d, window))
    };
    let result = match tokio::time::timeout(cfg.store_timeout, call).await {
        Ok(r) => r,
        Err(_) => Err(QuotaError::Store(StoreError::Timeout(cfg.store_timeout))),
    };
    match result {
        Ok((d, window)) => answer(&cfg, brand, &cost, &d, window, burst),
        Err(e) => failure(&cfg, &brand, metric, e),
    }
}

fn quota_item(
    now: chrono::DateTime<chrono::Utc>,
    d: &Decision,
    window: Option<u64>,
) -> Option<QuotaItem> {
    let limit = d.limit?;
    Some(QuotaItem {
        limit,
        window_secs: window,
        remaining: d.remaining().unwrap_or(0),
        reset_secs: reset_secs(now, d),
    })
}

fn reset_secs(now: chrono::DateTime<chrono::Utc>, d: &Decision) -> Option<u64> {
    let at = d.resets_at?;
    Some(at.signed_duration_since(now).to_std().map_or(0, ceil_secs))
}

fn answer<St: Store + ?Sized + 'static>(
    cfg: &Config<St>,
    brand: Brand,
    cost: &Cost,
    d: &Decision,
    window: Option<u64>,
    burst: Option<BurstItem>,
) -> Gate {
    let now = cfg.guard.clock().now();
    let quota = quota_item(now, d, window);
    let policy = policy_value(quota.as_ref(), burst.as_ref());
    let ratelimit = ratelimit_value(quota.as_ref(), burst.as_ref());
    match &d.verdict {
        Verdict::Denied(denial) => {
            let Denial {
                requested,
                suggested_plan,
            } = &**denial;
            count("denied");
            let metric = cost.metric().as_str();
            let limit_text = d
                .limit
                .map_or_else(|| "unlimited".to_owned(), |l| l.to_string());
            let mut p = problem(
                cfg,
                ProblemKind::QuotaExceeded,
                cfg.exhausted.status(),
                format!(
                    "Brand {brand} has used {} of {limit_text} {metric} this period; {requested} more cannot be admitted.",
                    d.used
                ),
            )
            .with("brandId", brand.as_str())
            .with("metric", metric)
            .with("used", d.used)
            .with("limit", d.limit)
            .with("requested", *requested);
            if let Some(at) = d.resets_at {
                p = p.with(
                    "resetsAt",
                    at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                );
            }
            if let Some(plan) = suggested_plan {
                p = p.with("suggestedPlan", plan.as_str());
            }
            if let Some(u) = &cfg.upgrade_url {
                p = p.with("upgradeUrl", &**u);
            }
            if let Some(u) = &cfg.topup_url {
                p = p.with("topupUrl", &**u);
            }
            let mut res = p.into_http();
            let headers = res.headers_mut();
            if let Some(v) = policy {
                headers.insert(RATELIMIT_POLICY, v);
            }
            if let Some(v) = ratelimit {
                headers.insert(RATELIMIT, v);
            }
            if let Some(secs) = reset_secs(now, d) {
                headers.insert(RETRY_AFTER, seconds_value(secs));
            }
            Gate::Reject(res)
        }
        verdict => {
            let overage = match verdict {
                Verdict::AllowedWithOverage(o) => {
                    count("overage");
                    HeaderValue::from_str(&o.charge.to_string())
                        .ok()
                        .map(|c| (HeaderValue::from(o.overage_units), c))
                }
                _ => {
                    count("allowed");
                    None
                }
            };
            let decision = cfg.expose_decision.then(|| {
                Box::new(crate::admitted::QuotaDecision {
                    brand: brand.clone(),
                    metric: cost.metric().clone(),
                    decision: d.clone(),
                })
            });
            let refund = match &cfg.refund {
                Some(filter) if cost.units() > 0 && !d.replayed => Some(Refund {
                    releaser: Arc::clone(&cfg.releaser),
                    filter: Arc::clone(filter),
                    brand,
                    metric: cost.metric().clone(),
                    units: cost.units(),
                    timeout: cfg.store_timeout,
                }),
                _ => None,
            };
            Gate::Admit(Admission {
                decision,
                policy,
                ratelimit,
                overage,
                refund,
            })
        }
    }
}

fn burst_denied<St: Store + ?Sized>(
    cfg: &Config<St>,
    brand: &Brand,
    item: &BurstItem,
    wait: u64,
) -> Gate {
    count("burst");
    let mut res = problem(
        cfg,
        ProblemKind::BurstLimited,
        StatusCode::TOO_MANY_REQUESTS,
        format!(
            "Brand {brand} sent more than {} requests in {} s; retry in {wait} s.",
            item.max, item.window_secs
        ),
    )
    .with("brandId", brand.as_str())
    .into_http();
    let headers = res.headers_mut();
    if let Some(v) = policy_value(None, Some(item)) {
        headers.insert(RATELIMIT_POLICY, v);
    }
    if let Some(v) = ratelimit_value(None, Some(item)) {
        headers.insert(RATELIMIT, v);
    }
    headers.insert(RETRY_AFTER, seconds_value(wait));
    Gate::Reject(res)
}

fn invalid<St: Store + ?Sized>(cfg: &Config<St>, detail: &str) -> Gate {
    count("invalid");
    reject(problem(
        cfg,
        ProblemKind::InvalidRequest,
        StatusCode::BAD_REQUEST,
        detail,
    ))
}

fn lookup_failed<St: Store + ?Sized>(cfg: &Config<St>, error: &str) -> Gate {
    count("lookup_failed");
    tracing::warn!(error, "quota: brand lookup failed");
    reject(problem(
        cfg,
        ProblemKind::StoreUnavailable,
        StatusCode::SERVICE_UNAVAILABLE,
        "The caller could not be identified right now; retry later.",
    ))
}

fn failure<St: Store + ?Sized>(
    cfg: &Config<St>,
    brand: &Brand,
    metric: &str,
    e: QuotaError,
) -> Gate {
    match e {
        QuotaError::Store(e) => {
            // Only an outage may be waved through: a corrupt or conflicting store is a bug
            // that fail-open would hide.
            let policy = if e.is_unavailable() {
                cfg.failure
            } else {
                FailurePolicy::Closed
            };
            metrics::counter!(STORE_ERRORS_TOTAL, "policy" => policy.as_str()).increment(1);
            match policy {
                FailurePolicy::Open => {
                    count("fail_open");
                    tracing::warn!(brand = %brand, metric, error = %e, policy = "open", "quota store failed: request let through unmetered");
                    Gate::Admit(Admission::default())
                }
                _ => {
                    count("fail_closed");
                    tracing::error!(brand = %brand, metric, error = %e, policy = "closed", "quota store failed: request refused");
                    reject(problem(
                        cfg,
                        ProblemKind::StoreUnavailable,
                        StatusCode::SERVICE_UNAVAILABLE,
                        "The quota service cannot decide right now; retry later.",
                    ))
                }
            }
        }
        QuotaError::UnknownBrand(_) => {
            count("unknown_brand");
            reject(
                problem(
                    cfg,
                    ProblemKind::UnknownBrand,
                    StatusCode::FORBIDDEN,
                    format!("Brand {brand} has no subscription."),
                )
                .with("brandId", brand.as_str()),
            )
        }
        QuotaError::InvalidArgument(msg) => invalid(cfg, &msg),
        e @ QuotaError::QuantityTooLarge { .. } => {
            count("invalid");
            reject(problem(
                cfg,
                ProblemKind::QuantityTooLarge,
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("{e}."),
            ))
        }
        e @ QuotaError::IdempotencyKeyReused { .. } => {
            count("invalid");
            reject(problem(
                cfg,
                ProblemKind::IdempotencyKeyReused,
                StatusCode::CONFLICT,
                format!("{e}."),
            ))
        }
        QuotaError::UnknownMetric(m) => Gate::Reject(misconfigured(
            cfg,
            format!(
                "The route consumes metric {m:?}, which the catalog does not declare or the brand's plan does not limit."
            ),
        )),
        other => Gate::Reject(misconfigured(
            cfg,
            format!("The quota of metric {metric:?} cannot be evaluated: {other}."),
        )),
    }
}
