//! RFC 9457 `application/problem+json` answers, and the mapping of every core error onto one.

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};
use quota_core::{CatalogError, QuotaError, StoreError};
use serde_json::{Map, Value};

/// The media type of problem details.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// A problem details answer.
#[derive(Debug, Clone)]
pub struct Problem {
    /// HTTP status.
    pub status: StatusCode,
    /// Short machine slug, used as the `type` (`/problems/<slug>`).
    pub slug: &'static str,
    /// Human title.
    pub title: &'static str,
    /// What exactly went wrong, for this request.
    pub detail: String,
    /// Extension members (camelCase).
    pub extensions: Map<String, Value>,
    /// Extra headers (`Retry-After`, `WWW-Authenticate`, ...).
    pub headers: Vec<(header::HeaderName, HeaderValue)>,
}

impl Problem {
    /// A problem with no extension.
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
        }
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

    /// 401: no or bad credentials.
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

    /// 403: authenticated but not allowed.
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

    /// Adds an extension member.
    #[must_use]
    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.extensions.insert(key.to_owned(), value.into());
        self
    }

    /// Adds a header.
    #[must_use]
    pub fn with_header(mut self, name: header::HeaderName, value: HeaderValue) -> Self {
        self.headers.push((name, value));
        self
    }

    /// The JSON body.
    pub fn body(&self) -> Value {
        let mut body = Map::new();
        body.insert("type".into(), format!("/problems/{}", self.slug).into());
        body.insert("title".into(), self.title.into());
        body.insert("status".into(), self.status.as_u16().into());
        body.insert("detail".into(), self.detail.clone().into());
        for (k, v) in &self.extensions {
            body.entry(k.clone()).or_insert_with(|| v.clone());
        }
        Value::Object(body)
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

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let body = serde_json::to_vec(&self.body()).unwrap_or_default();
        let mut res = (self.status, body).into_response();
        let headers = res.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        for (name, value) in self.headers {
            headers.insert(name, value);
        }
        res
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
            QuotaError::TopUpNotAllowed { .. } => Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
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

impl From<JsonRejection> for Problem {
    fn from(r: JsonRejection) -> Self {
        let status = r.status();
        let (slug, title) = match status {
            StatusCode::PAYLOAD_TOO_LARGE => ("body-too-large", "Request body too large"),
            StatusCode::UNSUPPORTED_MEDIA_TYPE => {
                ("unsupported-media-type", "Unsupported media type")
            }
            StatusCode::UNPROCESSABLE_ENTITY => ("invalid-body", "Invalid request body"),
            _ => ("malformed-json", "Malformed JSON body"),
        };
        let status = if status.is_client_error() {
            status
        } else {
            StatusCode::BAD_REQUEST
        };
        Problem::new(status, slug, title, r.body_text())
    }
}

impl From<QueryRejection> for Problem {
    fn from(r: QueryRejection) -> Self {
        Problem::bad_request(r.body_text())
    }
}
