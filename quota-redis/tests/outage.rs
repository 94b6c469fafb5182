//! A Redis that dies or stalls: the store answers typed errors (never a panic, a hang or a
//! wrong decision), a stalled call ends with the store's own response timeout, and the same
//! store works again once Redis is back. Uses throwaway `redis-server`s on ports of their own,
//! started and stopped here.
//!
//! Nothing here measures how long a call took against a threshold: the timeout's own error
//! (`Timeout(d)` with the configured `d`) shows that the bound fired, and every wait is on a
//! condition with a generous deadline that only catches a hang.
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
use quota_core::period::PeriodKey;
use quota_core::store::{ConsumeRequest, CounterKey};
use quota_core::{StoreError, UsageStore};
use quota_redis::{RedisOptions, RedisStore};

const TIMEOUT: Duration = Duration::from_millis(300);
/// How long anything may take before the test calls it a hang.
const HANG: Duration = Duration::from_secs(60);
/// Ports the test servers try: below the ephemeral range (no outgoing connection holds one),
/// and low enough for a cluster bus port (+10000).
const PORTS: std::ops::Range<u16> = 20_000..30_000;
/// Tries to find a free port before giving up.
const ATTEMPTS: u32 = 30;

/// A redis-server child process, killed (by its own pid) when dropped.
struct Server {
    child: Child,
    port: u16,
    /// Once reaped, its pid may belong to someone else: never signal it again.
    reaped: bool,
}

/// How a start went.
enum Started {
    Up(Server),
    /// The server exited at once: its port (or its cluster bus port) is taken.
    Exited,
}

/// The pid of the Redis that answers on `port`, if any.
fn pid_on(port: u16) -> Option<u32> {
    let out = Command::new("redis-cli")
        .args(["-p", &port.to_string(), "info", "server"])
        .stderr(Stdio::null())
        .output()
        .ok()?;
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.trim().strip_prefix("process_id:")?.parse().ok())
}

/// A port of [`PORTS`] to try, different for each call and process.
fn candidate() -> u16 {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let span = u32::from(PORTS.end - PORTS.start);
    let seed = std::process::id()
        .wrapping_mul(7919)
        .wrapping_add(N.fetch_add(1, Ordering::Relaxed).wrapping_mul(104_729))
        .wrapping_add(Utc::now().timestamp_subsec_nanos());
    PORTS.start + u16::try_from(seed % span).unwrap()
}

impl Server {
    /// Spawns a redis-server on `port` and waits until it answers as itself (its pid), or
    /// exits. `None` (skip) outside CI when redis-server is not installed.
    fn spawn(port: u16, extra: &[String]) -> Option<Started> {
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no", "--dir", "/tmp"])
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        let child = quota_testkit::require(
            &quota_testkit::current_test(),
            "cannot run redis-server (install redis-server)",
            child,
        )?;
        let mut server = Server {
            child,
            port,
            reaped: false,
        };
        let deadline = Instant::now() + HANG;
        loop {
            if server.child.try_wait().unwrap().is_some() {
                server.reaped = true;
                return Some(Started::Exited);
            }
            // Another process may answer on the port until ours gives up: check the pid.
            if pid_on(port) == Some(server.child.id()) {
                return Some(Started::Up(server));
            }
            assert!(
                Instant::now() < deadline,
                "redis-server on {port} neither answered nor exited"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// A server on a free port of [`PORTS`] (a taken one is retried with another);
    /// `extra(port)` gives further arguments.
    fn start_anywhere(extra: impl Fn(u16) -> Vec<String>) -> Option<Server> {
        for _ in 0..ATTEMPTS {
            let port = candidate();
            match Server::spawn(port, &extra(port))? {
                Started::Up(server) => return Some(server),
                Started::Exited => {}
            }
        }
        panic!("no free port for a test redis-server after {ATTEMPTS} attempts");
    }

    /// The server again on its port (the store under test knows no other). A port taken
    /// meanwhile is retried for a while, then fails the test with the reason.
    fn restart(port: u16, extra: &[String]) -> Server {
        let deadline = Instant::now() + HANG;
        loop {
            match Server::spawn(port, extra).expect("redis-server ran before") {
                Started::Up(server) => return server,
                Started::Exited => assert!(
                    Instant::now() < deadline,
                    "port {port} was taken while its test redis-server was down"
                ),
            }
            std::thread::sleep(Duration::from_millis(200));
        }
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
        let deadline = Instant::now() + HANG;
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

/// Consumes once; a call that never comes back fails the test.
async fn consume(store: &RedisStore, brand: &str) -> Result<bool, StoreError> {
    tokio::time::timeout(HANG, store.consume(&req(brand)))
        .await
        .expect("a store call hung")
        .map(|o| o.admitted)
}

/// Consumes until the store serves again (every error on the way being an outage's).
async fn wait_until_it_serves(store: &RedisStore, brand: &str) -> Duration {
    let started = Instant::now();
    loop {
        match consume(store, brand).await {
            Ok(admitted) => {
                assert!(admitted);
                return started.elapsed();
            }
            Err(e) => {
                assert!(e.is_unavailable(), "while recovering: {e}");
                assert!(started.elapsed() < HANG, "the store did not recover: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

fn options() -> RedisOptions {
    RedisOptions::new()
        .set_response_timeout(TIMEOUT)
        .set_connect_timeout(TIMEOUT)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_or_stalled_redis_gives_typed_errors_and_the_store_recovers() {
    let Some(server) = Server::start_anywhere(|_| Vec::new()) else {
        return;
    };
    let port = server.port;
    let store = RedisStore::connect(&format!("redis://127.0.0.1:{port}"), options())
        .await
        .unwrap();
    let brand = common::brand("outage");
    for _ in 0..5 {
        assert!(consume(&store, &brand).await.unwrap());
    }

    // A stalled server (SIGSTOP): every call ends with the store's response timeout,
    // concurrent ones too.
    server.signal("-STOP");
    let mut calls = Vec::new();
    for _ in 0..20 {
        let (store, brand) = (store.clone(), brand.clone());
        calls.push(tokio::spawn(async move { consume(&store, &brand).await }));
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
    // a timeout is "unknown", never a wrong count. Nothing more is known, so this is a range.
    assert!((6..=26).contains(&usage), "usage {usage}");

    // A dead server: every call gives a typed outage error.
    server.stop();
    for _ in 0..10 {
        let e = consume(&store, &brand).await.unwrap_err();
        assert!(
            e.is_unavailable(),
            "a dead Redis must give Unavailable/Timeout: {e}"
        );
    }
    let e = store.ping().await.unwrap_err();
    assert!(e.is_unavailable(), "{e}");

    // Redis comes back (empty: it keeps no data): the same store serves again.
    let _server = Server::restart(port, &[]);
    let took = wait_until_it_serves(&store, &brand).await;
    eprintln!("store served again {took:?} after Redis came back");
    assert_eq!(store.usage(req(&brand).key).await.unwrap().used, 1);
    store.ping().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connecting_to_nothing_fails_with_a_typed_error() {
    // A port held by a socket that is bound but not listening: nothing can listen there
    // while the test runs, and a connection to it is refused.
    let hold = tokio::net::TcpSocket::new_v4().unwrap();
    hold.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let port = hold.local_addr().unwrap().port();
    let e = tokio::time::timeout(
        HANG,
        RedisStore::connect(&format!("redis://127.0.0.1:{port}"), options()),
    )
    .await
    .expect("connect hung")
    .unwrap_err();
    assert!(e.is_unavailable(), "{e}");
    let e = tokio::time::timeout(
        HANG,
        RedisStore::connect_cluster([format!("redis://127.0.0.1:{port}")], options()),
    )
    .await
    .expect("connect hung")
    .unwrap_err();
    assert!(e.is_unavailable(), "{e}");
    drop(hold);
    let bad = RedisStore::connect("not-a-url", RedisOptions::new()).await;
    assert!(matches!(bad, Err(StoreError::Backend { .. })), "{bad:?}");
    let prefix = RedisStore::connect(
        "redis://127.0.0.1:1",
        RedisOptions::new().set_key_prefix("a{b}"),
    )
    .await;
    assert!(
        matches!(prefix, Err(StoreError::Backend { .. })),
        "{prefix:?}"
    );
}

/// Runs `redis-cli -p port args...` and returns its output.
fn cli(port: u16, args: &[&str]) -> String {
    let out = Command::new("redis-cli")
        .args(["-p", &port.to_string()])
        .args(args)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The slot ranges the node on `port` serves (from its `CLUSTER NODES` line).
fn own_slots(port: u16) -> Vec<std::ops::RangeInclusive<u16>> {
    let nodes = cli(port, &["cluster", "nodes"]);
    let me = nodes
        .lines()
        .find(|l| l.contains("myself"))
        .expect("a myself line");
    me.split_whitespace()
        .skip(8)
        .map(|r| match r.split_once('-') {
            Some((a, b)) => a.parse().unwrap()..=b.parse().unwrap(),
            None => {
                let s = r.parse().unwrap();
                s..=s
            }
        })
        .collect()
}

/// A throwaway 3-master cluster of our own (that keeps serving the slots it still covers):
/// one master dies, exactly the brands it serves get typed errors while the others keep
/// working; it comes back and they work again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_cluster_master_fails_exactly_its_slots_and_recovers() {
    let dir = std::env::temp_dir().join(format!("quota-redis-outage-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let args = |p: u16| -> Vec<String> {
        [
            "--cluster-enabled",
            "yes",
            "--cluster-config-file",
            &dir.join(format!("nodes-{p}.conf")).display().to_string(),
            "--cluster-node-timeout",
            "2000",
            "--cluster-require-full-coverage",
            "no",
        ]
        .map(str::to_owned)
        .to_vec()
    };
    let mut servers = Vec::new();
    for _ in 0..3 {
        match Server::start_anywhere(args) {
            Some(s) => servers.push(s),
            None => return,
        }
    }
    let ports: Vec<u16> = servers.iter().map(|s| s.port).collect();
    let addrs: Vec<String> = ports.iter().map(|p| format!("127.0.0.1:{p}")).collect();
    let created = Command::new("redis-cli")
        .args(["--cluster", "create"])
        .args(&addrs)
        .args(["--cluster-replicas", "0", "--cluster-yes"])
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(created.success(), "redis-cli --cluster create failed");
    let ok = |p: u16| cli(p, &["cluster", "info"]).contains("cluster_state:ok");
    let deadline = Instant::now() + HANG;
    while !ports.iter().all(|p| ok(*p)) {
        assert!(
            Instant::now() < deadline,
            "the test cluster did not become ok"
        );
        std::thread::sleep(Duration::from_millis(100));
    }

    let urls: Vec<String> = addrs.iter().map(|a| format!("redis://{a}")).collect();
    let store = RedisStore::connect_cluster(&urls, options()).await.unwrap();
    let victim_port = ports[1];
    let victim_slots = own_slots(victim_port);
    // Brands until each master serves at least two.
    let mut brands: Vec<(String, bool)> = Vec::new();
    while brands.iter().filter(|(_, v)| *v).count() < 2
        || brands.iter().filter(|(_, v)| !*v).count() < 4
    {
        let b = common::brand(&format!("c{}", brands.len()));
        let slot: u16 = cli(victim_port, &["cluster", "keyslot", &format!("{{{b}}}")])
            .trim()
            .parse()
            .unwrap();
        brands.push((b, victim_slots.iter().any(|r| r.contains(&slot))));
    }
    for (b, _) in &brands {
        assert!(consume(&store, b).await.unwrap());
    }

    let victim = servers.remove(1);
    victim.stop();
    for (b, on_victim) in &brands {
        match consume(&store, b).await {
            Ok(admitted) => {
                assert!(!on_victim, "{b} lives on the dead master yet was served");
                assert!(admitted);
            }
            Err(e) => {
                assert!(*on_victim, "{b} lives on a live master: {e}");
                assert!(
                    e.is_unavailable(),
                    "a dead master must give Unavailable/Timeout: {e}"
                );
            }
        }
    }

    // The master comes back with its node config (same id, same slots).
    servers.push(Server::restart(victim_port, &args(victim_port)));
    let mut recovered = Duration::ZERO;
    for (b, _) in &brands {
        recovered = recovered.max(wait_until_it_serves(&store, b).await);
    }
    eprintln!("every brand served again within {recovered:?} after the master came back");
    for (b, on_victim) in &brands {
        // A live master: before, during and after the outage. The restarted one kept no
        // data (`--save ''`): only the call after its return.
        let want = if *on_victim { 1 } else { 3 };
        assert_eq!(store.usage(req(b).key).await.unwrap().used, want, "{b}");
    }
    drop(servers);
    let _ = std::fs::remove_dir_all(&dir);
}
