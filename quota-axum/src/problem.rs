//! RFC 9457 `application/problem+json` answers: the workspace's one [`Problem`] type (from
//! quota-tower, which maps every core error onto one), the answers to the extractors'
//! refusals, and [`problem_errors`], the layer that makes any other error answer a problem.
//! Their details are the server's own sentences, naming the field at fault (`field` member)
//! and where in the body, never the wording of the libraries underneath.

use axum::extract::Request;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::{StatusCode, header};

pub use quota_tower::{PROBLEM_JSON, Problem};

/// What axum puts before serde's message in a data error (kept out of the answer).
const DATA_PREFIX: &str = "Failed to deserialize the JSON body into the target type: ";
/// What axum puts before serde's message in a syntax error.
const SYNTAX_PREFIX: &str = "Failed to parse the request body as JSON: ";
/// What axum puts before serde's message in a query string error.
const QUERY_PREFIX: &str = "Failed to deserialize query string: ";

/// The problem answering a JSON body the extractor refused (400, 413, 415 or 422).
pub fn json_rejection(r: &JsonRejection) -> Problem {
    match r {
        JsonRejection::JsonDataError(e) => {
            let text = e.body_text();
            let serde = text.strip_prefix(DATA_PREFIX).unwrap_or(&text);
            let (path, message) = split_path(serde);
            let detail = match path {
                Some(f) => format!("field `{f}`: {message}"),
                None => format!("the body does not match the schema: {message}"),
            };
            let field = path.or_else(|| named_field(message));
            let p = Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid-body",
                "Invalid request body",
                detail,
            );
            match field {
                Some(f) => p.with("field", f),
                None => p,
            }
        }
        JsonRejection::JsonSyntaxError(e) => {
            let text = e.body_text();
            let serde = text.strip_prefix(SYNTAX_PREFIX).unwrap_or(&text);
            let (_, message) = split_path(serde);
            Problem::new(
                StatusCode::BAD_REQUEST,
                "malformed-json",
                "Malformed JSON body",
                format!("the body is not valid JSON: {message}"),
            )
        }
        JsonRejection::MissingJsonContentType(_) => Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            "Unsupported media type",
            "send the body as JSON with `Content-Type: application/json`",
        ),
        other if other.status() == StatusCode::PAYLOAD_TOO_LARGE => Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body-too-large",
            "Request body too large",
            "the request body is larger than this server accepts",
        ),
        _ => Problem::new(
            StatusCode::BAD_REQUEST,
            "malformed-json",
            "Malformed JSON body",
            "the request body could not be read",
        ),
    }
}

/// The problem answering a query string the extractor refused (400).
pub fn query_rejection(r: &QueryRejection) -> Problem {
    let text = r.body_text();
    let serde = text.strip_prefix(QUERY_PREFIX).unwrap_or(&text);
    Problem::bad_request(format!("bad query string: {serde}"))
}

/// The field a root-level message names: `missing field `x`` or `unknown field `x``.
fn named_field(message: &str) -> Option<&str> {
    let rest = message
        .strip_prefix("missing field `")
        .or_else(|| message.strip_prefix("unknown field `"))?;
    rest.split_once('`').map(|(name, _)| name)
}

/// Splits serde_path_to_error's `path: message` (no path at the body's root, shown as `.`).
fn split_path(text: &str) -> (Option<&str>, &str) {
    match text.split_once(": ") {
        // A path is made of field names, indices and dots; serde's own messages start with
        // words such as `invalid type` or `missing field`, which hold a space.
        Some((path, message)) if !path.is_empty() && path != "." && !path.contains(' ') => {
            (Some(path), message)
        }
        _ => (None, text),
    }
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

#[cfg(test)]
mod tests {
    use super::{named_field, split_path};

    #[test]
    fn the_path_is_told_apart_from_the_message() {
        assert_eq!(
            split_path("brandId: invalid type: integer `5`, expected a string at line 1 column 13"),
            (
                Some("brandId"),
                "invalid type: integer `5`, expected a string at line 1 column 13"
            )
        );
        assert_eq!(
            split_path("missing field `metric` at line 1 column 2"),
            (None, "missing field `metric` at line 1 column 2")
        );
        assert_eq!(
            named_field("missing field `metric` at line 1 column 2"),
            Some("metric")
        );
        assert_eq!(named_field("invalid type: map"), None);
        assert_eq!(
            split_path("invalid type: map, expected u64"),
            (None, "invalid type: map, expected u64")
        );
    }
}
