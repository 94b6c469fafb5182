//! RFC 9457 `application/problem+json` answers: the workspace's one [`Problem`] type (from
//! quota-tower, which maps every core error onto one), the answers to the extractors'
//! refusals, and [`problem_errors`], the layer that makes any other error answer a problem.

use axum::extract::Request;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::{StatusCode, header};

pub use quota_tower::{PROBLEM_JSON, Problem};

/// The problem answering a JSON body the extractor refused (400, 413, 415 or 422).
pub fn json_rejection(r: &JsonRejection) -> Problem {
    match r.status() {
        s @ (StatusCode::PAYLOAD_TOO_LARGE
        | StatusCode::UNSUPPORTED_MEDIA_TYPE
        | StatusCode::UNPROCESSABLE_ENTITY) => status_problem(s, r.body_text()),
        _ => Problem::new(
            StatusCode::BAD_REQUEST,
            "malformed-json",
            "Malformed JSON body",
            r.body_text(),
        ),
    }
}

/// The problem answering a query string the extractor refused (400).
pub fn query_rejection(r: &QueryRejection) -> Problem {
    Problem::bad_request(r.body_text())
}

/// The slug and title of an error status the routes do not answer themselves.
fn kind_of(status: StatusCode) -> (&'static str, &'static str) {
    match status {
        StatusCode::PAYLOAD_TOO_LARGE => ("body-too-large", "Request body too large"),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ("unsupported-media-type", "Unsupported media type"),
        StatusCode::UNPROCESSABLE_ENTITY => ("invalid-body", "Invalid request body"),
        StatusCode::NOT_FOUND => ("not-found", "Not found"),
        StatusCode::METHOD_NOT_ALLOWED => ("method-not-allowed", "Method not allowed"),
        s if s.is_server_error() => ("internal", "Internal error"),
        _ => ("bad-request", "Bad request"),
    }
}

/// A problem for an extractor's refusal with `status` (anything but a 4xx becomes 400).
pub fn status_problem(status: StatusCode, detail: String) -> Problem {
    let status = if status.is_client_error() {
        status
    } else {
        StatusCode::BAD_REQUEST
    };
    let (slug, title) = match (status, kind_of(status)) {
        (StatusCode::BAD_REQUEST, _) => ("malformed-request", "Malformed request"),
        (_, k) => k,
    };
    Problem::new(status, slug, title, detail)
}

/// Longest error body read back to become a problem's detail.
const MAX_DETAIL: usize = 4096;

/// A layer (`axum::middleware::from_fn`) that rewrites every error answer which is neither a
/// problem nor a page (axum's own plain-text refusals: a body over the limit before a handler
/// ran, a malformed path parameter...) as problem+json with the same status and headers; the
/// plain text becomes the detail.
pub async fn problem_errors(req: Request, next: Next) -> Response {
    let res = next.run(req).await;
    let status = res.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return res;
    }
    let ctype = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if ctype.starts_with(PROBLEM_JSON) || ctype.starts_with("text/html") {
        return res;
    }
    let (parts, body) = res.into_parts();
    let text = axum::body::to_bytes(body, MAX_DETAIL)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_owned())
        .unwrap_or_default();
    let (slug, title) = kind_of(status);
    let detail = if text.len() > 5 {
        text
    } else {
        format!("{title} ({})", status.as_u16())
    };
    let mut out = Problem::new(status, slug, title, detail).into_response();
    for (name, value) in &parts.headers {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            out.headers_mut().insert(name.clone(), value.clone());
        }
    }
    out
}
