//! The listener's limits on a server started in-process: slow or idle clients are
//! disconnected, connections past the limit wait for a free slot, slow answers become 503.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::routing::get;
use http::{Request, StatusCode};
use quota_server::listener::{Limits, with_request_timeout};
use quota_server::{RunningServer, ServeConfig, spawn};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tower::ServiceExt;

/// Far longer than any limit under test: a read that is still pending then never ends.
const PATIENCE: Duration = Duration::from_secs(30);

async fn server(limits: Limits) -> RunningServer {
    let mut config = ServeConfig::for_tests();
    config.limits = limits;
    spawn(config).await.unwrap()
}

/// Reads until the server closes the connection; what it sent before closing.
async fn until_closed(stream: &mut TcpStream) -> String {
    let mut buf = Vec::new();
    tokio::time::timeout(PATIENCE, stream.read_to_end(&mut buf))
        .await
        .expect("the server closes the connection")
        .ok();
    String::from_utf8_lossy(&buf).into_owned()
}

/// Reads one whole answer to `GET /healthz` (its body is small and the connection stays open).
async fn read_answer(stream: &mut TcpStream) -> String {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&got).contains("\"status\":\"ok\"") {
        let n = stream.read(&mut buf).await.unwrap();
        assert!(n > 0, "closed before the answer");
        got.extend_from_slice(&buf[..n]);
    }
    String::from_utf8_lossy(&got).into_owned()
}

const HEALTHZ: &[u8] = b"GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_finishes_its_headers_is_disconnected() {
    let s = server(Limits {
        header_read_timeout: Duration::from_millis(200),
        ..Limits::default()
    })
    .await;
    let mut slow = TcpStream::connect(s.addr).await.unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: te")
        .await
        .unwrap();
    let got = until_closed(&mut slow).await;
    assert!(!got.contains("200 OK"), "{got}");

    let mut silent = TcpStream::connect(s.addr).await.unwrap();
    assert_eq!(
        until_closed(&mut silent).await,
        "",
        "an idle connection is closed"
    );
    s.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keep_alive_connections_idle_past_the_header_timeout_are_closed() {
    let s = server(Limits {
        header_read_timeout: Duration::from_millis(200),
        ..Limits::default()
    })
    .await;
    let mut c = TcpStream::connect(s.addr).await.unwrap();
    c.write_all(HEALTHZ).await.unwrap();
    assert!(read_answer(&mut c).await.starts_with("HTTP/1.1 200"));
    assert_eq!(until_closed(&mut c).await, "");
    s.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_past_the_limit_wait_for_a_free_slot() {
    let s = server(Limits {
        max_connections: 1,
        ..Limits::default()
    })
    .await;
    let mut first = TcpStream::connect(s.addr).await.unwrap();
    first.write_all(HEALTHZ).await.unwrap();
    assert!(read_answer(&mut first).await.starts_with("HTTP/1.1 200"));

    // The first connection stays open (keep-alive): the second is not served meanwhile.
    let mut second = TcpStream::connect(s.addr).await.unwrap();
    second.write_all(HEALTHZ).await.unwrap();
    let mut byte = [0u8; 1];
    assert!(
        tokio::time::timeout(Duration::from_millis(300), second.read(&mut byte))
            .await
            .is_err(),
        "a connection past the limit got an answer"
    );
    drop(first);
    let got = tokio::time::timeout(PATIENCE, read_answer(&mut second))
        .await
        .expect("served once the first connection closed");
    assert!(got.starts_with("HTTP/1.1 200"), "{got}");
    s.stop().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn an_answer_past_the_request_timeout_is_a_503_problem() {
    let app = with_request_timeout(
        Router::new()
            .route("/slow", get(std::future::pending::<&'static str>))
            .route("/fast", get(|| async { "ok" })),
        Duration::from_secs(30),
    );
    let fast = app
        .clone()
        .oneshot(Request::get("/fast").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(fast.status(), StatusCode::OK);
    let slow = app
        .oneshot(Request::get("/slow").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(slow.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(slow.headers()["content-type"], "application/problem+json");
    assert_eq!(slow.headers()["retry-after"], "1");
}
