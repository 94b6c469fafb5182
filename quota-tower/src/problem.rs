//! RFC 9457 problem details (`application/problem+json`): the one problem type of the
//! workspace, for the layer's refusals and for every error of the HTTP API (quota-axum), with
//! the mapping of every core error onto one.

use std::sync::Arc;

use bytes::Bytes;
use http::header::{self, CONTENT_TYPE};
use http::{HeaderName, HeaderValue, Response, StatusCode};
use quota_core::{CatalogError, QuotaError, StoreError};
use serde_json::{Map, Value};

use crate::config::DEFAULT_PROBLEM_TYPE_BASE;

/// The media type of problem details.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// The kinds of problem the layer answers, each with its `type` suffix and title.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProblemKind {
    /// A hard quota is exhausted (429 or 402).
    QuotaExceeded,
    /// The per-brand burst limit is hit (429).
    BurstLimited,
    /// No brand could be found for the request (401).
    UnresolvedBrand,
    /// The brand has no subscription (403).
    UnknownBrand,
    /// The request is malformed, e.g. a bad idempotency key (400).
    InvalidRequest,
    /// The request asks more units than one request may (the metric's per-request
    /// ceiling) (422).
    QuantityTooLarge,
    /// The idempotency key was first used for another request (another route, metric or
    /// quantity) (409).
    IdempotencyKeyReused,
    /// The quota store (or the brand lookup) is down and the policy is fail-closed (503).
    StoreUnavailable,
    /// The layer or the catalog is misconfigured (500).
    Configuration,
}

impl ProblemKind {
    /// The slug appended to the configured type base.
    pub fn slug(self) -> &'static str {
        match self {
            ProblemKind::QuotaExceeded => "quota-exceeded",
            ProblemKind::BurstLimited => "burst-limit",
            ProblemKind::UnresolvedBrand => "unresolved-brand",
            ProblemKind::UnknownBrand => "unknown-brand",
            ProblemKind::InvalidRequest => "invalid-request",
            ProblemKind::QuantityTooLarge => "quantity-too-large",
            ProblemKind::IdempotencyKeyReused => "idempotency-key-reused",
            ProblemKind::StoreUnavailable => "store-unavailable",
            ProblemKind::Configuration => "configuration",
        }
    }

    /// The human title (stable for a kind, as RFC 9457 asks).
    pub fn title(self) -> &'static str {
        match self {
            ProblemKind::QuotaExceeded => "Quota exceeded",
            ProblemKind::BurstLimited => "Too many requests",
            ProblemKind::UnresolvedBrand => "Unknown caller",
            ProblemKind::UnknownBrand => "No subscription",
            ProblemKind::InvalidRequest => "Invalid request",
            ProblemKind::QuantityTooLarge => "Quantity too large",
            ProblemKind::IdempotencyKeyReused => "Idempotency key reused",
            ProblemKind::StoreUnavailable => "Quota service unavailable",
            ProblemKind::Configuration => "Quota configuration error",
        }
    }
}

/// A problem details answer: `type` (the type base and a slug), `title`, `status`,
/// `detail`, extension members and extra headers (`Retry-After`, `WWW-Authenticate`).
///
/// ```
/// use http::StatusCode;
/// use quota_tower::Problem;
///
/// let p = Problem::new(StatusCode::CONFLICT, "conflict", "Conflict", "already there")
///     .with("brandId", "acme");
/// let body = p.body();
/// assert_eq!(body["type"], "urn:quota-guardian:problem:conflict");
/// assert_eq!(body["brandId"], "acme");
/// assert_eq!(p.into_http().status(), StatusCode::CONFLICT);
/// ```
#[derive(Debug, Clone)]
pub struct Problem {
    /// HTTP status.
    pub status: StatusCode,
    /// Short machine slug, appended to the type base to make the `type`.
    pub slug: &'static str,
    /// Human title (stable for a slug, as RFC 9457 asks).
    pub title: &'static str,
    /// What exactly went wrong, for this request.
    pub detail: String,
    /// Extension members (camelCase).
    pub extensions: Map<String, Value>,
    /// Extra headers.
    pub headers: Vec<(HeaderName, HeaderValue)>,
    type_base: Arc<str>,
}

impl Problem {
    /// A problem with no extension, under [`DEFAULT_PROBLEM_TYPE_BASE`].
    pub fn new(
        status: StatusCode,
        slug: &'static str,
        title: &'static str,
        detail: impl Into<String>,
    ) -> Self {
        Problem {
            status,
            slug,
            title,
            detail: detail.into(),
            extensions: Map::new(),
            headers: Vec::new(),
            type_base: Arc::from(DEFAULT_PROBLEM_TYPE_BASE),
        }
    }

    /// A problem of one of the layer's kinds.
    pub fn of_kind(kind: ProblemKind, status: StatusCode, detail: impl Into<String>) -> Self {
        Problem::new(status, kind.slug(), kind.title(), detail)
    }

    /// 400 invalid request.
    pub fn bad_request(detail: impl Into<String>) -> Self {
        Problem::new(
            StatusCode::BAD_REQUEST,
            "invalid-request",
            "Invalid request",
            detail,
        )
    }

    /// 401: no or bad credentials (with a `WWW-Authenticate: Bearer` challenge).
    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Problem::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "Authentication required",
            detail,
        )
        .with_header(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"quota\""),
        )
    }

    /// 403: authenticated, but not allowed.
    pub fn forbidden(detail: impl Into<String>) -> Self {
        Problem::new(StatusCode::FORBIDDEN, "forbidden", "Forbidden", detail)
    }

    /// 404.
    pub fn not_found(detail: impl Into<String>) -> Self {
        Problem::new(StatusCode::NOT_FOUND, "not-found", "Not found", detail)
    }

    /// 500 with a detail safe to show.
    pub fn internal(detail: impl Into<String>) -> Self {
        Problem::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Internal error",
            detail,
        )
    }

    /// Puts the `type` under another base (a URN or URL prefix, e.g. the API docs).
    #[must_use]
    pub fn with_type_base(mut self, base: Arc<str>) -> Self {
        self.type_base = base;
        self
    }

    /// Adds an extension member.
    #[must_use]
    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.extensions.insert(key.to_owned(), value.into());
        self
    }

    /// Adds a header.
    #[must_use]
    pub fn with_header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.push((name, value));
        self
    }

    /// The JSON body.
    pub fn body(&self) -> Value {
        let mut body = Map::new();
        body.insert(
            "type".into(),
            format!("{}{}", self.type_base, self.slug).into(),
        );
        body.insert("title".into(), self.title.into());
        body.insert("status".into(), self.status.as_u16().into());
        body.insert("detail".into(), self.detail.clone().into());
        for (k, v) in &self.extensions {
            body.entry(k.clone()).or_insert_with(|| v.clone());
        }
        Value::Object(body)
    }

    /// The HTTP answer: the status, `Content-Type: application/problem+json`, the headers and
    /// the body.
    pub fn into_http(self) -> Response<Bytes> {
        let bytes = serde_json::to_vec(&self.body()).unwrap_or_default();
        let mut res = Response::new(Bytes::from(bytes));
        *res.status_mut() = self.status;
        let headers = res.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        for (name, value) in self.headers {
            headers.insert(name, value);
        }
        res
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.status.as_u16(),
            self.title,
            self.detail
        )
    }
}

impl std::error::Error for Problem {}

#[cfg(feature = "axum")]
impl axum_core::response::IntoResponse for Problem {
    fn into_response(self) -> axum_core::response::Response {
        self.into_http().map(axum_core::body::Body::from)
    }
}

impl From<QuotaError> for Problem {
    fn from(e: QuotaError) -> Self {
        let detail = e.to_string();
        match e {
            QuotaError::UnknownBrand(b) => Problem::new(
                StatusCode::NOT_FOUND,
                "unknown-brand",
                "Unknown brand",
                detail,
            )
            .with("brandId", b),
            QuotaError::UnknownMetric(m) => Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "unknown-metric",
                "Unknown metric",
                detail,
            )
            .with("metric", m),
            QuotaError::UnknownPlan(p) => Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "unknown-plan",
                "Unknown plan",
                detail,
            )
            .with("planId", p),
            QuotaError::InvalidArgument(_) | QuotaError::InvalidPeriod(_) => {
                Problem::bad_request(detail)
            }
            QuotaError::WrongMetricKind { .. } => Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "wrong-metric-kind",
                "Wrong metric kind",
                detail,
            ),
            // The brand's plan decides: a conflict with the brand's state.
            QuotaError::TopUpNotAllowed { .. } => Problem::new(
                StatusCode::CONFLICT,
                "topup-not-allowed",
                "Top-up not allowed",
                detail,
            ),
            QuotaError::QuantityTooLarge {
                metric,
                quantity,
                max,
            } => Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "quantity-too-large",
                "Quantity too large",
                detail,
            )
            .with("metric", metric)
            .with("quantity", quantity)
            .with("max", max),
            QuotaError::IdempotencyKeyReused { key } => Problem::new(
                StatusCode::CONFLICT,
                "idempotency-key-reused",
                "Idempotency key reused",
                detail,
            )
            .with("code", "idempotency_key_reused")
            .with("idempotencyKey", key),
            QuotaError::UnknownTopUp(_) => Problem::not_found(detail),
            QuotaError::TopUpTransition { .. } => Problem::new(
                StatusCode::CONFLICT,
                "topup-transition",
                "Top-up transition refused",
                detail,
            ),
            // At request time the catalog is already loaded: the only catalog errors left
            // are identifiers of bad shape coming from the request.
            QuotaError::Catalog(CatalogError::InvalidId { .. }) => Problem::bad_request(detail),
            QuotaError::Catalog(_) => Problem::internal(detail),
            QuotaError::Store(s) => Problem::from(s),
            _ => Problem::internal(detail),
        }
    }
}

impl From<StoreError> for Problem {
    fn from(e: StoreError) -> Self {
        let detail = e.to_string();
        if e.is_unavailable() {
            tracing::warn!(error = %e, "store unavailable");
            return Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "store-unavailable",
                "Store unavailable",
                detail,
            )
            .with_header(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        match e {
            StoreError::NotFound(_) => Problem::not_found(detail),
            StoreError::Conflict(_) => {
                Problem::new(StatusCode::CONFLICT, "conflict", "Conflict", detail)
            }
            _ => {
                tracing::error!(error = %e, "store error");
                Problem::internal(detail)
            }
        }
    }
}
