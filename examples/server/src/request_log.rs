//! One tracing span per request: method, matched route, request id, then the status and the
//! latency when the answer leaves (tower-http's `TraceLayer`). Every request carries an
//! `x-request-id`: the client's when it sends a sane one (1 to 128 characters among
//! `A-Z a-z 0-9 - _ . : / + = @`), a generated one otherwise; the answer echoes it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use http::{HeaderName, HeaderValue};
use tower_http::trace::TraceLayer;
use tracing::Span;

/// The request id header, in and out.
pub const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
/// Longest request id kept from a client.
pub const MAX_REQUEST_ID: usize = 128;

/// The request id of a request (in its extensions).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(pub String);

/// Whether a client's request id is kept as it is.
pub fn acceptable(id: &str) -> bool {
    (1..=MAX_REQUEST_ID).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:/+=@".contains(&b))
}

/// A fresh request id: 16 random bytes in hex (a process counter if the system has no
/// randomness to give).
pub fn generate() -> String {
    let mut bytes = [0u8; 16];
    match getrandom::fill(&mut bytes) {
        Ok(()) => bytes.iter().map(|b| format!("{b:02x}")).collect(),
        Err(_) => {
            static N: AtomicU64 = AtomicU64::new(0);
            format!(
                "local-{}-{}",
                std::process::id(),
                N.fetch_add(1, Ordering::Relaxed)
            )
        }
    }
}

/// Puts the request id and the request span on every route of `app` (the fallback included).
pub fn layer(app: Router) -> Router {
    app.layer(
        TraceLayer::new_for_http()
            .make_span_with(make_span)
            .on_request(())
            .on_response(on_response)
            .on_body_chunk(())
            .on_eos(())
            .on_failure(()),
    )
    .layer(axum::middleware::from_fn(request_id))
}

async fn request_id(mut req: Request, next: Next) -> Response {
    let id = req
        .headers()
        .get(&X_REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| acceptable(v))
        .map_or_else(generate, str::to_owned);
    let value = HeaderValue::from_str(&id).ok();
    if let Some(v) = &value {
        req.headers_mut().insert(X_REQUEST_ID, v.clone());
    }
    req.extensions_mut().insert(RequestId(id));
    let mut res = next.run(req).await;
    if let Some(v) = value {
        res.headers_mut().insert(X_REQUEST_ID, v);
    }
    res
}

fn make_span(req: &Request) -> Span {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or("<no route>", MatchedPath::as_str);
    let id = req
        .extensions()
        .get::<RequestId>()
        .map_or("", |r| r.0.as_str());
    tracing::info_span!(
        "request",
        method = %req.method(),
        route,
        request_id = id,
    )
}

fn on_response(res: &Response, latency: Duration, _span: &Span) {
    let latency_ms = u64::try_from(latency.as_millis()).unwrap_or(u64::MAX);
    tracing::info!(status = res.status().as_u16(), latency_ms, "answered");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sane_ids_are_kept_and_the_rest_replaced() {
        assert!(acceptable("req-42"));
        assert!(acceptable("0f3c:abc/9=+@_."));
        assert!(!acceptable(""));
        assert!(!acceptable("has space"));
        assert!(!acceptable("quote\"d"));
        assert!(!acceptable(&"x".repeat(MAX_REQUEST_ID + 1)));
        let g = generate();
        assert_eq!(g.len(), 32);
        assert!(acceptable(&g));
        assert_ne!(g, generate());
    }
}
