//! Extractors whose rejections answer problem+json instead of axum's plain text.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use http::header::CONTENT_LENGTH;
use http::request::Parts;
use serde::de::DeserializeOwned;

use crate::problem::{Problem, json_rejection, query_rejection};

/// `Json<T>` answering malformed, mistyped, oversized or non-JSON bodies with problem+json.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Problem;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(ApiJson(v)),
            Err(r) => Err(json_rejection(&r)),
        }
    }
}

/// `Query<T>` answering bad query strings with problem+json.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiQuery<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(v)) => Ok(ApiQuery(v)),
            Err(r) => Err(query_rejection(&r)),
        }
    }
}

/// The raw body (`Bytes`) answering an oversized or unreadable body with problem+json (413 /
/// 400).
#[derive(Debug, Clone, Default)]
pub struct ApiBytes(pub axum::body::Bytes);

impl<S> FromRequest<S> for ApiBytes
where
    S: Send + Sync,
{
    type Rejection = Problem;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::body::Bytes::from_request(req, state).await {
            Ok(b) => Ok(ApiBytes(b)),
            Err(r) => Err(crate::problem::status_problem(r.status(), r.body_text())),
        }
    }
}

/// `Path<T>` answering a malformed path parameter with problem+json.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiPath<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiPath<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(v)) => Ok(ApiPath(v)),
            Err(r) => Err(crate::problem::status_problem(r.status(), r.body_text())),
        }
    }
}

/// Refuses a request whose declared `Content-Length` is over `max` with a 413 problem before
/// a byte of its body is read (use with `axum::middleware::from_fn`): the client is answered
/// at once instead of pushing a body nobody will read, and the connection closes cleanly.
/// Bodies without a declared length are still cut off at the route's `DefaultBodyLimit`.
pub(crate) async fn declared_length_within(max: usize, req: Request, next: Next) -> Response {
    let declared = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    match declared {
        Some(n) if n > u64::try_from(max).unwrap_or(u64::MAX) => Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body-too-large",
            "Request body too large",
            format!("the body declares {n} bytes; this route accepts at most {max}"),
        )
        .into_response(),
        _ => next.run(req).await,
    }
}
