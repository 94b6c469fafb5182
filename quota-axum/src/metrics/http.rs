//! HTTP request metrics: [`super::HTTP_REQUESTS`] and [`super::HTTP_LATENCY`] by method,
//! matched route template and status class. Every label has a bounded set of values: the
//! route is the template axum matched (`/api/v1/share/{id}`), never the raw path, and
//! `unmatched` for the fallback; methods outside the standard ones are `other`.
//!
//! Put the layer outermost (over timeouts and the like) so their answers are counted too.

use std::time::Instant;

use axum::Router;
use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use http::{Method, StatusCode};

/// Counts and times every request of `app` (its fallback included).
pub fn layer<S: Clone + Send + Sync + 'static>(app: Router<S>) -> Router<S> {
    app.layer(axum::middleware::from_fn(track))
}

async fn track(req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = method_label(req.method());
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str)
        .to_owned();
    let res = next.run(req).await;
    let labels = [
        ("method", method.to_owned()),
        ("route", route),
        ("status", status_class(res.status()).to_owned()),
    ];
    metrics::counter!(super::HTTP_REQUESTS, &labels).increment(1);
    metrics::histogram!(super::HTTP_LATENCY, &labels).record(started.elapsed().as_secs_f64());
    res
}

/// The `method` label: the standard methods by name, `other` for the rest.
pub fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// The `status` label: `1xx` to `5xx`.
pub fn status_class(status: StatusCode) -> &'static str {
    match status.as_u16() {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_take_a_bounded_set_of_values() {
        assert_eq!(method_label(&Method::POST), "POST");
        assert_eq!(method_label(&Method::from_bytes(b"BREW").unwrap()), "other");
        assert_eq!(status_class(StatusCode::OK), "2xx");
        assert_eq!(status_class(StatusCode::NOT_FOUND), "4xx");
        assert_eq!(status_class(StatusCode::SERVICE_UNAVAILABLE), "5xx");
        assert_eq!(status_class(StatusCode::SWITCHING_PROTOCOLS), "1xx");
    }
}
