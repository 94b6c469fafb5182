//! A Redis that dies or stalls: the store answers typed errors within its response timeout
//! (never a panic, a hang or a wrong decision), and the same store works again once Redis is
//! back. Uses a throwaway `redis-server` on a port of its own, started and stopped here.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::arithmetic_side_effects,
    missing_docs
)]

mod common;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use quota_core::store::{ConsumeRequest, CounterKey, UsageStore};
use quota_core::{PeriodKey, StoreError};
use quota_redis::{RedisOptions, RedisStore};

const TIMEOUT: Duration = Duration::from_millis(300);
/// Scheduling slack on a shared 2-core machine.
const SLACK: Duration = Duration::from_millis(250);

/// A redis-server child process, killed (by its own pid) when dropped.
struct Server {
    child: Child,
    port: u16,
    /// Once reaped, its pid may belong to someone else: never signal it again.
    reaped: bool,
}

impl Server {
    fn start(port: u16) -> Option<Server> {
        Server::start_with(port, &[])
    }

    fn start_with(port: u16, extra: &[&str]) -> Option<Server> {
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no", "--dir", "/tmp"])
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        let child = match child {
            Ok(c) => c,
            Err(e) if !common::in_ci() => {
                eprintln!("SKIPPED: cannot run redis-server ({e}); install redis-server");
                return None;
            }
            Err(e) => panic!("cannot run redis-server in CI: {e}"),
        };
        let server = Server {
            child,
            port,
            reaped: false,
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "redis-server did not listen on {port}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Some(server)
    }

    fn signal(&self, sig: &str) {
        let status = Command::new("kill")
            .args([sig, &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    fn stop(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
        self.reaped = true;
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
            assert!(Instant::now() < deadline, "redis-server kept listening");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.signal_cont_and_kill();
    }
}

impl Server {
    fn signal_cont_and_kill(&mut self) -> std::io::Result<()> {
        if self.reaped {
            return Ok(());
        }
        self.reaped = true;
        let _ = Command::new("kill")
            .args(["-CONT", &self.child.id().to_string()])
            .stderr(Stdio::null())
            .status();
        self.child.kill()?;
        self.child.wait().map(|_| ())
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A free port whose cluster bus port (+10000) is free and valid too.
fn free_cluster_port(taken: &[u16]) -> u16 {
    let start = 21_000 + (std::process::id() % 4_000) as u16 * 2;
    (start..30_000)
        .chain(20_000..start)
        .find(|p| {
            !taken.contains(p)
                && std::net::TcpListener::bind(("127.0.0.1", *p)).is_ok()
                && std::net::TcpListener::bind(("127.0.0.1", p + 10_000)).is_ok()
        })
        .expect("no free port pair for a test cluster")
}

fn req(brand: &str) -> ConsumeRequest<'_> {
    let at = Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0).unwrap();
    ConsumeRequest {
        key: CounterKey::new(brand, "m", PeriodKey(20261101)),
        quantity: 1,
        ceiling: Some(1_000_000),
        free_units: None,
        idempotency_key: None,
        fingerprint: 0,
        day: 24,
        at_us: at.timestamp_micros(),
        retain_until: at + chrono::Duration::days(40),
    }
}

/// Consumes once, asserting the call came back (either way) within the timeout.
async fn timed_consume(store: &RedisStore, brand: &str) -> Result<bool, StoreError> {
    let started = Instant::now();
    let out = store.consume(&req(brand)).await;
    let took = started.elapsed();
    assert!(
        took <= TIMEOUT + SLACK,
        "a store call took {took:?}, past the {TIMEOUT:?} response timeout"
    );
    out.map(|o| o.admitted)
}

async fn wait_until_it_serves(store: &RedisStore, brand: &str) -> Duration {
    let started = Instant::now();
    loop {
        match timed_consume(store, brand).await {
            Ok(admitted) => {
                assert!(admitted);
                return started.elapsed();
            }
            Err(e) => {
                assert!(e.is_unavailable(), "while recovering: {e}");
                assert!(
                    started.elapsed() < Duration::from_secs(15),
                    "the store did not recover: {e}"
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_or_stalled_redis_gives_typed_errors_in_time_and_the_store_recovers() {
    let port = free_port();
    let Some(server) = Server::start(port) else {
        return;
    };
    let opts = RedisOptions::new()
        .set_response_timeout(TIMEOUT)
        .set_connect_timeout(TIMEOUT);
    let store = RedisStore::connect(&format!("redis://127.0.0.1:{port}"), opts)
        .await
        .unwrap();
    let brand = common::brand("outage");
    for _ in 0..5 {
        assert!(timed_consume(&store, &brand).await.unwrap());
    }

    // A stalled server (SIGSTOP): every call times out, concurrent ones too.
    server.signal("-STOP");
    let mut calls = Vec::new();
    for _ in 0..20 {
        let (store, brand) = (store.clone(), brand.clone());
        calls.push(tokio::spawn(
            async move { timed_consume(&store, &brand).await },
        ));
    }
    for c in calls {
        match c.await.unwrap() {
            Err(StoreError::Timeout(d)) => assert_eq!(d, TIMEOUT),
            other => panic!("a stalled Redis must give Timeout, got {other:?}"),
        }
    }
    server.signal("-CONT");
    wait_until_it_serves(&store, &brand).await;
    let usage = store.usage(req(&brand).key).await.unwrap().used;
    // 5 + 1 admitted before, plus whichever of the 20 timed-out calls Redis ran after SIGCONT:
    // a timeout is "unknown", never a wrong count.
    assert!((6..=26).contains(&usage), "usage {usage}");

    // A dead server: typed errors, quickly, from every call.
    server.stop();
    for _ in 0..10 {
        let e = timed_consume(&store, &brand).await.unwrap_err();
        assert!(
            e.is_unavailable(),
            "a dead Redis must give Unavailable/Timeout: {e}"
        );
    }
    let e = store.ping().await.unwrap_err();
    assert!(e.is_unavailable(), "{e}");

    // Redis comes back (empty: it keeps no data): the same store serves again.
    let _server = Server::start(port).expect("restart redis-server");
    let took = wait_until_it_serves(&store, &brand).await;
    eprintln!("store served again {took:?} after Redis came back");
    assert_eq!(store.usage(req(&brand).key).await.unwrap().used, 1);
    store.ping().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connecting_to_nothing_fails_in_time_with_a_typed_error() {
    let port = free_port();
    let opts = RedisOptions::new()
        .set_response_timeout(TIMEOUT)
        .set_connect_timeout(TIMEOUT);
    let started = Instant::now();
    let e = RedisStore::connect(&format!("redis://127.0.0.1:{port}"), opts.clone())
        .await
        .unwrap_err();
    assert!(e.is_unavailable(), "{e}");
    assert!(started.elapsed() <= TIMEOUT * 2 + SLACK);
    let e = RedisStore::connect_cluster([format!("redis://127.0.0.1:{port}")], opts)
        .await
        .unwrap_err();
    assert!(e.is_unavailable(), "{e}");
    let bad = RedisStore::connect("not-a-url", RedisOptions::new()).await;
    assert!(matches!(bad, Err(StoreError::Backend { .. })));
    let prefix = RedisStore::connect(
        "redis://127.0.0.1:1",
        RedisOptions::new().set_key_prefix("a{b}"),
    )
    .await;
    assert!(matches!(prefix, Err(StoreError::Backend { .. })));
}

/// A throwaway 3-master cluster of our own: one master dies, the brands it serves get typed
/// errors in time while the others keep working; it comes back and they work again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_cluster_master_fails_its_slots_in_time_and_recovers() {
    let dir = std::env::temp_dir().join(format!("quota-redis-outage-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut ports = Vec::new();
    for _ in 0..3 {
        let p = free_cluster_port(&ports);
        ports.push(p);
    }
    let conf = |p: u16| dir.join(format!("nodes-{p}.conf")).display().to_string();
    let node = |p: u16| {
        Server::start_with(
            p,
            &[
                "--cluster-enabled",
                "yes",
                "--cluster-config-file",
                &conf(p),
                "--cluster-node-timeout",
                "2000",
            ],
        )
    };
    let mut servers = Vec::new();
    for p in &ports {
        match node(*p) {
            Some(s) => servers.push(s),
            None => return,
        }
    }
    let addrs: Vec<String> = ports.iter().map(|p| format!("127.0.0.1:{p}")).collect();
    let created = Command::new("redis-cli")
        .args(["--cluster", "create"])
        .args(&addrs)
        .args(["--cluster-replicas", "0", "--cluster-yes"])
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(created.success(), "redis-cli --cluster create failed");
    let ok = |p: u16| {
        Command::new("redis-cli")
            .args(["-p", &p.to_string(), "cluster", "info"])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).contains("cluster_state:ok"))
            .unwrap_or(false)
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    while !ports.iter().all(|p| ok(*p)) {
        assert!(
            Instant::now() < deadline,
            "the test cluster did not become ok"
        );
        std::thread::sleep(Duration::from_millis(100));
    }

    let opts = RedisOptions::new()
        .set_response_timeout(TIMEOUT)
        .set_connect_timeout(TIMEOUT);
    let urls: Vec<String> = addrs.iter().map(|a| format!("redis://{a}")).collect();
    let store = RedisStore::connect_cluster(&urls, opts).await.unwrap();
    // Brands spread over the three masters' slots.
    let brands: Vec<String> = (0..24).map(|i| common::brand(&format!("c{i}"))).collect();
    for b in &brands {
        assert!(timed_consume(&store, b).await.unwrap());
    }

    let victim = servers.remove(1);
    victim.stop();
    let (mut failed, mut served) = (0, 0);
    for b in &brands {
        match timed_consume(&store, b).await {
            Ok(admitted) => {
                assert!(admitted);
                served += 1;
            }
            Err(e) => {
                assert!(
                    e.is_unavailable(),
                    "a dead master must give Unavailable/Timeout: {e}"
                );
                failed += 1;
            }
        }
    }
    assert!(failed > 0, "some brands live on the dead master");
    assert!(served > 0, "the other masters keep serving");

    // The master comes back with its node config (same id, same slots).
    servers.push(node(ports[1]).expect("restart the master"));
    let mut recovered = Duration::ZERO;
    for b in &brands {
        recovered = recovered.max(wait_until_it_serves(&store, b).await);
    }
    eprintln!("every brand served again within {recovered:?} after the master came back");
    drop(servers);
    let _ = std::fs::remove_dir_all(&dir);
}
