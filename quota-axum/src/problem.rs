//! RFC 9457 `application/problem+json` answers: the workspace's one [`Problem`] type (from
//! quota-tower, which maps every core error onto one) and the answers to the extractors'
//! refusals. Their details are the server's own sentences, naming the field at fault
//! (`field` member) and where in the body, never the wording of the libraries underneath.

use axum::extract::rejection::{JsonRejection, QueryRejection};
use http::StatusCode;

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
