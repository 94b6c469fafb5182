//! Test support (feature `testing`): loopback stand-ins for the real endpoints — an HTTP
//! receiver (Slack, webhooks) and an SMTP sink, both speaking the real protocols on random
//! ports — for this crate's tests and for applications that test their alert wiring.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    missing_docs
)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU16, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpSocket, TcpStream};

use crate::dispatcher::{Backlog, Dispatcher};
use crate::listener::ListenerStats;
use tokio::task::JoinHandle;

/// One HTTP request as received.
#[derive(Clone, Debug)]
pub struct HttpRequest {
    pub method: String,
    pub path: String,
    /// Lower-case names.
    pub headers: HashMap<String, String>,
    pub body: Vec<u8>,
}

impl HttpRequest {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

/// A tiny HTTP/1.1 server recording POSTs and answering with a settable status.
#[derive(Debug)]
pub struct HttpReceiver {
    pub addr: SocketAddr,
    requests: Arc<Mutex<Vec<HttpRequest>>>,
    status: Arc<AtomicU16>,
    hits: Arc<AtomicUsize>,
    task: JoinHandle<()>,
}

impl HttpReceiver {
    pub async fn start() -> HttpReceiver {
        HttpReceiver::start_on(TcpListener::bind("127.0.0.1:0").await.unwrap())
    }

    /// An address for a receiver that is down until [`ReservedAddr::start`]: the port is
    /// bound at once (no other process can take it) but not listening, so connections to it
    /// are refused.
    pub fn reserve() -> ReservedAddr {
        let socket = TcpSocket::new_v4().unwrap();
        socket.bind(SocketAddr::from(([127, 0, 0, 1], 0))).unwrap();
        let addr = socket.local_addr().unwrap();
        ReservedAddr { socket, addr }
    }

    fn start_on(listener: TcpListener) -> HttpReceiver {
        let addr = listener.local_addr().unwrap();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let status = Arc::new(AtomicU16::new(200));
        let hits = Arc::new(AtomicUsize::new(0));
        let task = tokio::spawn({
            let requests = Arc::clone(&requests);
            let status = Arc::clone(&status);
            let hits = Arc::clone(&hits);
            async move {
                loop {
                    let Ok((stream, _)) = listener.accept().await else {
                        return;
                    };
                    let requests = Arc::clone(&requests);
                    let status = Arc::clone(&status);
                    let hits = Arc::clone(&hits);
                    tokio::spawn(async move {
                        let _ = serve_http(stream, &requests, &status, &hits).await;
                    });
                }
            }
        });
        HttpReceiver {
            addr,
            requests,
            status,
            hits,
            task,
        }
    }

    /// Requests answered, whatever the status.
    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn set_status(&self, status: u16) {
        self.status.store(status, Ordering::SeqCst);
    }

    pub fn requests(&self) -> Vec<HttpRequest> {
        self.requests.lock().unwrap().clone()
    }

    pub fn count(&self) -> usize {
        self.requests.lock().unwrap().len()
    }

    /// Waits until at least `n` requests arrived (panics after `within`).
    pub async fn wait_for(&self, n: usize, within: Duration) {
        wait_until(
            within,
            || self.count() >= n,
            || format!("{} of {n} requests", self.count()),
        )
        .await;
    }
}

/// A loopback port bound for a receiver that is not up yet (see [`HttpReceiver::reserve`]).
#[derive(Debug)]
pub struct ReservedAddr {
    socket: TcpSocket,
    pub addr: SocketAddr,
}

impl ReservedAddr {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The receiver comes up on the reserved address.
    pub fn start(self) -> HttpReceiver {
        HttpReceiver::start_on(self.socket.listen(1024).unwrap())
    }
}

impl Drop for HttpReceiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve_http(
    stream: TcpStream,
    requests: &Mutex<Vec<HttpRequest>>,
    status: &AtomicU16,
    hits: &AtomicUsize,
) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream);
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let mut parts = line.split_whitespace();
        let method = parts.next().unwrap_or_default().to_owned();
        let path = parts.next().unwrap_or_default().to_owned();
        let mut headers = HashMap::new();
        loop {
            let mut h = String::new();
            reader.read_line(&mut h).await?;
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_owned());
            }
        }
        let len: usize = headers
            .get("content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let mut body = vec![0; len];
        reader.read_exact(&mut body).await?;
        let code = status.load(Ordering::SeqCst);
        hits.fetch_add(1, Ordering::SeqCst);
        if code == 200 {
            requests.lock().unwrap().push(HttpRequest {
                method,
                path,
                headers,
                body,
            });
        }
        let answer =
            format!("HTTP/1.1 {code} X\r\ncontent-type: text/plain\r\ncontent-length: 2\r\n\r\nok");
        reader.get_mut().write_all(answer.as_bytes()).await?;
    }
}

/// One email as received.
#[derive(Clone, Debug)]
pub struct Mail {
    pub from: String,
    pub to: Vec<String>,
    pub data: String,
}

/// A minimal SMTP server: EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT.
#[derive(Debug)]
pub struct SmtpSink {
    pub addr: SocketAddr,
    mails: Arc<Mutex<Vec<Mail>>>,
    task: JoinHandle<()>,
}

impl SmtpSink {
    pub async fn start() -> SmtpSink {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mails = Arc::new(Mutex::new(Vec::new()));
        let task = tokio::spawn({
            let mails = Arc::clone(&mails);
            async move {
                loop {
                    let Ok((stream, _)) = listener.accept().await else {
                        return;
                    };
                    let mails = Arc::clone(&mails);
                    tokio::spawn(async move {
                        let _ = serve_smtp(stream, &mails).await;
                    });
                }
            }
        });
        SmtpSink { addr, mails, task }
    }

    pub fn url(&self) -> String {
        format!("smtp://{}", self.addr)
    }

    pub fn mails(&self) -> Vec<Mail> {
        self.mails.lock().unwrap().clone()
    }

    pub fn count(&self) -> usize {
        self.mails.lock().unwrap().len()
    }

    pub async fn wait_for(&self, n: usize, within: Duration) {
        wait_until(
            within,
            || self.count() >= n,
            || format!("{} of {n} mails", self.count()),
        )
        .await;
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve_smtp(stream: TcpStream, mails: &Mutex<Vec<Mail>>) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream);
    reader
        .get_mut()
        .write_all(b"220 localhost ESMTP test\r\n")
        .await?;
    let mut from = String::new();
    let mut to = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let upper = line.to_ascii_uppercase();
        let reply: &[u8] = if upper.starts_with("EHLO") {
            b"250-localhost\r\n250 8BITMIME\r\n"
        } else if upper.starts_with("HELO") || upper.starts_with("NOOP") {
            b"250 OK\r\n"
        } else if upper.starts_with("MAIL FROM:") {
            from = line[10..].trim().to_owned();
            to.clear();
            b"250 OK\r\n"
        } else if upper.starts_with("RCPT TO:") {
            to.push(line[8..].trim().to_owned());
            b"250 OK\r\n"
        } else if upper.starts_with("RSET") {
            from.clear();
            to.clear();
            b"250 OK\r\n"
        } else if upper.starts_with("DATA") {
            reader.get_mut().write_all(b"354 end with .\r\n").await?;
            let mut data = String::new();
            loop {
                let mut l = String::new();
                if reader.read_line(&mut l).await? == 0 {
                    return Ok(());
                }
                if l == ".\r\n" || l == ".\n" {
                    break;
                }
                data.push_str(l.strip_prefix('.').unwrap_or(&l));
            }
            mails.lock().unwrap().push(Mail {
                from: from.clone(),
                to: std::mem::take(&mut to),
                data,
            });
            b"250 OK queued\r\n"
        } else if upper.starts_with("QUIT") {
            reader.get_mut().write_all(b"221 bye\r\n").await?;
            return Ok(());
        } else {
            b"502 not implemented\r\n"
        };
        reader.get_mut().write_all(reply).await?;
    }
}

/// Polls `done` every 10 ms; panics with `state()` after `within`.
pub async fn wait_until(
    within: Duration,
    mut done: impl FnMut() -> bool,
    state: impl Fn() -> String,
) {
    let deadline = tokio::time::Instant::now() + within;
    while !done() {
        if tokio::time::Instant::now() > deadline {
            panic!("timed out after {within:?}: {}", state());
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Polls the async `done` every 10 ms; panics with `state()` after `within`.
pub async fn wait_until_async<F: std::future::Future<Output = bool>>(
    within: Duration,
    mut done: impl FnMut() -> F,
    state: impl Fn() -> String,
) {
    let deadline = tokio::time::Instant::now() + within;
    while !done().await {
        if tokio::time::Instant::now() > deadline {
            panic!("timed out after {within:?}: {}", state());
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Waits until the listener wrote every event it received to the outbox and the dispatcher
/// is idle ([`Backlog::is_idle`]: nothing pending, nothing in flight); panics after
/// `within`. After it returns, what the sinks received is all they will receive for the
/// alerts raised so far: "exactly once" can be asserted.
pub async fn wait_idle(dispatcher: &Dispatcher, listener: &ListenerStats, within: Duration) {
    let last = Mutex::new(None::<Backlog>);
    wait_until_async(
        within,
        || async {
            if listener.pending() > 0 {
                return false;
            }
            let backlog = dispatcher.backlog().await.unwrap();
            *last.lock().unwrap() = Some(backlog);
            backlog.is_idle()
        },
        || {
            format!(
                "not idle: listener pending {}, dispatcher {:?}",
                listener.pending(),
                last.lock().unwrap()
            )
        },
    )
    .await;
}

/// Waits until the listener wrote every event to the outbox and nothing is due nor in
/// flight ([`Backlog::is_quiet`]); panics after `within`. With a fake clock that does not
/// move, a rescheduled message then stays where it is until the clock is advanced.
pub async fn wait_quiet(dispatcher: &Dispatcher, listener: &ListenerStats, within: Duration) {
    let last = Mutex::new(None::<Backlog>);
    wait_until_async(
        within,
        || async {
            if listener.pending() > 0 {
                return false;
            }
            let backlog = dispatcher.backlog().await.unwrap();
            *last.lock().unwrap() = Some(backlog);
            backlog.is_quiet()
        },
        || {
            format!(
                "not quiet: listener pending {}, dispatcher {:?}",
                listener.pending(),
                last.lock().unwrap()
            )
        },
    )
    .await;
}
