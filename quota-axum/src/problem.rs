//! RFC 9457 `application/problem+json` answers: the workspace's one [`Problem`] type (from
//! quota-tower, which maps every core error onto one) and the answers to the extractors'
//! refusals.

use axum::extract::rejection::{JsonRejection, QueryRejection};
use http::StatusCode;

pub use quota_tower::{PROBLEM_JSON, Problem};

/// The problem answering a JSON body the extractor refused (400, 413, 415 or 422).
pub fn json_rejection(r: &JsonRejection) -> Problem {
    let status = r.status();
    let (slug, title) = match status {
        StatusCode::PAYLOAD_TOO_LARGE => ("body-too-large", "Request body too large"),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ("unsupported-media-type", "Unsupported media type"),
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

/// The problem answering a query string the extractor refused (400).
pub fn query_rejection(r: &QueryRejection) -> Problem {
    Problem::bad_request(r.body_text())
}
