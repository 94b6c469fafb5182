//! Durability: every consume acknowledged before a Postgres crash-restart is still counted
//! after it, and the pool recovers by itself (errors in between are typed `Unavailable`).
//!
//! The test owns a throwaway cluster (initdb + pg_ctl, default durability settings: fsync and
//! synchronous_commit on) so restarting it disturbs nobody.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

mod common;

use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use quota_core::store::{CounterKey, UsageStore};
use quota_core::testing::{PERIOD, request, unique_brand};
use quota_postgres::{PostgresOptions, PostgresStore};

struct Cluster {
    dir: PathBuf,
    bin: PathBuf,
    port: u16,
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

fn pg_bin() -> Option<PathBuf> {
    let mut bins: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|p| p.join("initdb").exists())
        .collect();
    bins.sort_by_key(|p| {
        p.parent()
            .and_then(|v| v.file_name())
            .and_then(|v| v.to_str())
            .and_then(|v| v.parse::<u32>().ok())
            .unwrap_or(0)
    });
    bins.pop()
}

impl Cluster {
    fn run(&self, tool: &str, args: &[&str]) -> Result<(), String> {
        let exe = self.bin.join(tool);
        let out = if is_root() {
            Command::new("runuser")
                .args(["-u", "postgres", "--"])
                .arg(&exe)
                .args(args)
                .current_dir("/tmp")
                .output()
        } else {
            Command::new(&exe).args(args).current_dir("/tmp").output()
        }
        .map_err(|e| format!("{tool}: {e}"))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "{tool} {args:?} failed: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ))
        }
    }

    fn start() -> Result<Cluster, String> {
        let bin = match pg_bin() {
            Some(b) => b,
            None => {
                let script = common::repo_root().join("scripts/pg-env.sh");
                let ok = Command::new("bash")
                    .arg(&script)
                    .arg("--install")
                    .status()
                    .is_ok_and(|s| s.success());
                pg_bin()
                    .filter(|_| ok)
                    .ok_or("Postgres server binaries are not installed")?
            }
        };
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| e.to_string())?
            .port();
        let dir = PathBuf::from(format!(
            "/tmp/quota-pg-durability-{}-{port}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("sock")).map_err(|e| e.to_string())?;
        if is_root() {
            let ok = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(&dir)
                .status()
                .is_ok_and(|s| s.success());
            if !ok {
                return Err("cannot chown the cluster directory to postgres".into());
            }
        }
        let cluster = Cluster { dir, bin, port };
        let data = cluster.data();
        cluster.run(
            "initdb",
            &[
                "-D",
                &data,
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
                "-N",
            ],
        )?;
        let opts = format!(
            "-p {port} -k {} -c listen_addresses=127.0.0.1",
            cluster.dir.join("sock").display()
        );
        let log = cluster.dir.join("log").display().to_string();
        cluster.run(
            "pg_ctl",
            &[
                "-D", &data, "-l", &log, "-w", "-t", "60", "-o", &opts, "start",
            ],
        )?;
        Ok(cluster)
    }

    fn data(&self) -> String {
        self.dir.join("data").display().to_string()
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// An immediate shutdown (no checkpoint: like a crash, recovery replays the WAL), then
    /// a start.
    fn crash_restart(&self) -> Result<(), String> {
        // `-l` again: restart does not remember it, and a server writing to our pipes would
        // keep `output()` waiting forever.
        let log = self.dir.join("log").display().to_string();
        self.run(
            "pg_ctl",
            &[
                "-D",
                &self.data(),
                "-l",
                &log,
                "-m",
                "immediate",
                "-w",
                "-t",
                "60",
                "restart",
            ],
        )
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = self.run(
            "pg_ctl",
            &["-D", &self.data(), "-m", "immediate", "-w", "stop"],
        );
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn acknowledged_consumes_survive_a_crash_restart() {
    let cluster = match tokio::task::spawn_blocking(Cluster::start).await.unwrap() {
        Ok(c) => c,
        Err(why) if !common::in_ci() => {
            eprintln!("SKIPPED: cannot start a throwaway Postgres cluster: {why}");
            return;
        }
        Err(why) => panic!("CI=true and no throwaway Postgres cluster: {why}"),
    };
    let store = PostgresStore::connect(
        &cluster.url(),
        PostgresOptions::new()
            .set_max_connections(8)
            .set_acquire_timeout(Duration::from_secs(2))
            .set_idle_check_after(Duration::from_millis(100)),
    )
    .await
    .unwrap();
    let store = Arc::new(store);
    let brand = Arc::new(unique_brand("durable"));
    let stop = Arc::new(AtomicBool::new(false));
    let restarted = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let (store, brand) = (Arc::clone(&store), Arc::clone(&brand));
        let (stop, restarted) = (Arc::clone(&stop), Arc::clone(&restarted));
        tasks.push(tokio::spawn(async move {
            let (mut acked, mut errors, mut acked_after) = (0u64, 0u64, 0u64);
            while !stop.load(Ordering::Relaxed) {
                let after = restarted.load(Ordering::Relaxed);
                match store.consume(&request(&brand, "m", 1, None, None)).await {
                    Ok(out) => {
                        assert!(out.admitted);
                        acked += 1;
                        if after {
                            acked_after += 1;
                        }
                    }
                    Err(e) => {
                        assert!(e.is_unavailable(), "a restart gives typed errors: {e:?}");
                        errors += 1;
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                }
            }
            (acked, errors, acked_after)
        }));
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let before_restart = store
        .usage(CounterKey::new(&brand, "m", PERIOD))
        .await
        .unwrap()
        .used;
    assert!(before_restart > 0, "consumes ran before the restart");
    let cluster = tokio::task::spawn_blocking(move || cluster.crash_restart().map(|()| cluster))
        .await
        .unwrap()
        .unwrap();
    restarted.store(true, Ordering::Relaxed);
    tokio::time::sleep(Duration::from_millis(2000)).await;
    stop.store(true, Ordering::Relaxed);
    let (mut acked, mut errors, mut acked_after) = (0, 0, 0);
    for t in tasks {
        let (a, e, af) = t.await.unwrap();
        acked += a;
        errors += e;
        acked_after += af;
        assert!(
            af > 0,
            "every task is served again after the restart, same pool"
        );
    }
    let used = store
        .usage(CounterKey::new(&brand, "m", PERIOD))
        .await
        .unwrap()
        .used;
    eprintln!(
        "durability: acknowledged {acked} ({acked_after} after the restart), {errors} errors, counted {used}"
    );
    assert!(
        used >= acked,
        "an acknowledged consume was lost: {used} < {acked}"
    );
    assert!(
        used <= acked + errors,
        "only consumes whose answer was lost may count without an acknowledgement"
    );
    let (ledger,): (i64,) = sqlx::query_as(
        "SELECT COALESCE(sum(quantity), 0)::BIGINT FROM usage_metric WHERE brand = $1",
    )
    .bind(brand.as_str())
    .fetch_one(store.pool())
    .await
    .unwrap();
    assert_eq!(
        u64::try_from(ledger).unwrap(),
        used,
        "the ledger matches the counter"
    );
    store.close().await;
    drop(cluster);
}
