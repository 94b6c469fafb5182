//! RFC 9457 problem details (`application/problem+json`) for every refusal of the layer.

use bytes::Bytes;
use http::header::CONTENT_TYPE;
use http::{HeaderValue, Response, StatusCode};
use serde_json::{Map, Value};

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

/// A problem document under construction.
#[derive(Debug)]
pub(crate) struct Problem {
    pub(crate) status: StatusCode,
    body: Map<String, Value>,
}

impl Problem {
    pub(crate) fn new(
        type_base: &str,
        kind: ProblemKind,
        status: StatusCode,
        detail: impl Into<String>,
    ) -> Self {
        let mut body = Map::new();
        body.insert("type".into(), format!("{type_base}{}", kind.slug()).into());
        body.insert("title".into(), kind.title().into());
        body.insert("status".into(), status.as_u16().into());
        body.insert("detail".into(), detail.into().into());
        Problem { status, body }
    }

    /// Adds an extension member.
    pub(crate) fn with(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.body.insert(key.into(), value.into());
        self
    }

    pub(crate) fn into_response(self) -> Response<Bytes> {
        let bytes = serde_json::to_vec(&Value::Object(self.body)).unwrap_or_default();
        let mut res = Response::new(Bytes::from(bytes));
        *res.status_mut() = self.status;
        res.headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        res
    }
}
