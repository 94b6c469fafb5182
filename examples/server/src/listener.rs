//! The HTTP/1 listener: at most `max_connections` connections served at once, a deadline for a
//! request's headers (which also closes idle keep-alive connections), a deadline for each
//! request's answer, a span and a request id per request ([`crate::request_log`]), and a
//! graceful stop that lets in-flight requests finish.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use quota_axum::Problem;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, oneshot};

/// Default deadline for a request's headers, from the first byte awaited (also the idle
/// keep-alive timeout: hyper starts it whenever a connection waits for its next request).
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Default deadline for a request's answer.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Default number of connections served at once; more wait in the kernel's backlog.
pub const DEFAULT_MAX_CONNECTIONS: usize = 1024;

/// Connection and request limits of the listener.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Deadline for a request's headers; also closes keep-alive connections idle this long.
    pub header_read_timeout: Duration,
    /// Deadline for a request's answer (503 `request-timeout` past it).
    pub request_timeout: Duration,
    /// Connections served at once.
    pub max_connections: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            header_read_timeout: DEFAULT_HEADER_READ_TIMEOUT,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            max_connections: DEFAULT_MAX_CONNECTIONS,
        }
    }
}

/// Puts the request deadline on every route of `app`.
pub fn with_request_timeout(app: Router, timeout: Duration) -> Router {
    app.layer(axum::middleware::from_fn(
        move |req: Request, next: Next| deadline(req, next, timeout),
    ))
}

async fn deadline(req: Request, next: Next, timeout: Duration) -> Response {
    match tokio::time::timeout(timeout, next.run(req)).await {
        Ok(res) => res,
        Err(_) => Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "request-timeout",
            "Request timed out",
            format!(
                "the answer took longer than {} ms; retry later",
                timeout.as_millis()
            ),
        )
        .with_header(header::RETRY_AFTER, HeaderValue::from_static("1"))
        .into_response(),
    }
}

/// Serves `app` on `listener` within `limits` until `stop` fires (or its sender is dropped),
/// then stops accepting and waits for the connections' in-flight requests.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    stop: oneshot::Receiver<()>,
) -> std::io::Result<()> {
    // The span is outside the deadline: a request that times out is logged with its 503.
    // The HTTP metrics sit over the request deadline so its 503s are counted too.
    let app = crate::request_log::layer(quota_axum::metrics::http::layer(with_request_timeout(
        app,
        limits.request_timeout,
    )));
    let permits = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let graceful = GracefulShutdown::new();
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .keep_alive(true);
    tokio::pin!(stop);
    loop {
        let permit = tokio::select! {
            p = Arc::clone(&permits).acquire_owned() => p.map_err(std::io::Error::other)?,
            _ = &mut stop => break,
        };
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(error) => {
                    // Out of descriptors or a connection reset before accept: not fatal, but
                    // retrying at once would spin.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut stop => break,
        };
        let service = TowerToHyperService::new(app.clone());
        let connection = http.serve_connection(TokioIo::new(stream), service);
        let watched = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(error) = watched.await {
                tracing::debug!(%error, "connection ended with an error");
            }
            drop(permit);
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}
