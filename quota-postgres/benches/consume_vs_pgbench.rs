//! Consume throughput on one hot (brand, metric) against `pgbench` running a single-statement
//! UPDATE of one row, at the same client counts, on the same server, in one run.
//!
//! `cargo bench -p quota-postgres --bench consume_vs_pgbench` (env: `DATABASE_URL`, default
//! the server `scripts/pg-env.sh` finds; `QUOTA_BENCH_SECS`, default 10; `QUOTA_BENCH_CLIENTS`,
//! default `10,50`; `QUOTA_BENCH_ROUNDS`, default 1: alternating rounds per client count, each
//! printed, then their total; `QUOTA_BENCH_CONSUME_CONNECTIONS`, default the store's: 0 runs
//! consumes on the pool). Uses a database of its own with the server's durability settings.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::cast_precision_loss,
    missing_docs
)]

use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use chrono::Utc;
use quota_core::UsageStore;
use quota_core::period::PeriodKey;
use quota_core::store::{ConsumeRequest, CounterKey};
use quota_postgres::{PostgresOptions, PostgresStore};
use sqlx::Connection;

fn server_url() -> String {
    if let Ok(url) = std::env::var("DATABASE_URL") {
        return url;
    }
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/pg-env.sh");
    let out = Command::new("bash")
        .arg(script)
        .arg("--url")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

fn with_database(url: &str, db: &str) -> String {
    let scheme_end = url.find("://").map_or(0, |i| i + 3);
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let host = base[scheme_end..]
        .find('/')
        .map_or(base, |i| &base[..scheme_end + i]);
    match query {
        Some(q) => format!("{host}/{db}?{q}"),
        None => format!("{host}/{db}"),
    }
}

async fn ours(store: &Arc<PostgresStore>, clients: usize, secs: u64) -> f64 {
    let brand = Arc::new(format!("bench-{clients}-{}", std::process::id()));
    let stop = Arc::new(AtomicBool::new(false));
    let counting = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (store, brand) = (Arc::clone(store), Arc::clone(&brand));
        let (stop, counting, done) = (Arc::clone(&stop), Arc::clone(&counting), Arc::clone(&done));
        tasks.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let at = Utc::now();
                let out = store
                    .consume(&ConsumeRequest {
                        key: CounterKey::new(&brand, "ai_generations", PeriodKey(20261101)),
                        quantity: 1,
                        ceiling: Some(1_000_000_000),
                        // As the guard sends it for a billed metric: overage is counted.
                        free_units: Some(800_000_000),
                        idempotency_key: None,
                        fingerprint: 0,
                        day: 24,
                        at_us: at.timestamp_micros(),
                        retain_until: at + chrono::Duration::days(60),
                    })
                    .await
                    .unwrap();
                assert!(out.admitted);
                if counting.load(Ordering::Relaxed) {
                    done.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_secs(1)).await; // warm-up: connections, plans
    counting.store(true, Ordering::Relaxed);
    let start = Instant::now();
    tokio::time::sleep(Duration::from_secs(secs)).await;
    counting.store(false, Ordering::Relaxed);
    let elapsed = start.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        t.await.unwrap();
    }
    done.load(Ordering::Relaxed) as f64 / elapsed
}

fn pgbench(url: &str, clients: usize, secs: u64, script: &str) -> f64 {
    let out = Command::new("pgbench")
        .args([
            "-n",
            "-j",
            "2",
            "-c",
            &clients.to_string(),
            "-T",
            &secs.to_string(),
            "-f",
            script,
        ])
        .arg(url)
        .output()
        .expect("pgbench is installed with postgresql-contrib / postgresql-client");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "pgbench failed: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    text.lines()
        .find_map(|l| {
            l.strip_prefix("tps = ")
                .and_then(|r| r.split_whitespace().next())
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or_else(|| panic!("no tps in pgbench output: {text}"))
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo bench -- --list`
    }
    let secs: u64 = std::env::var("QUOTA_BENCH_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    // Rounds per client count, each `secs` of ours then `secs` of pgbench: on a shared
    // machine, alternating short rounds exposes both sides to the same load.
    let rounds: u32 = std::env::var("QUOTA_BENCH_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1)
        .max(1);
    // Dedicated consume connections (default: the store's default, as many as the clients;
    // 0 = consumes on the pool), to compare the two.
    let lane: Option<u32> = std::env::var("QUOTA_BENCH_CONSUME_CONNECTIONS")
        .ok()
        .and_then(|s| s.parse().ok());
    let clients: Vec<usize> = std::env::var("QUOTA_BENCH_CLIENTS")
        .unwrap_or_else(|_| "10,50".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let admin = server_url();
    let name = format!("quota_bench_{}", std::process::id());
    let mut conn = sqlx::PgConnection::connect(&admin).await.unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(r#"CREATE DATABASE "{name}""#)))
        .execute(&mut conn)
        .await
        .unwrap();
    let url = with_database(&admin, &name);
    let setup = PostgresStore::connect(&url, PostgresOptions::new().set_max_connections(1))
        .await
        .unwrap();
    sqlx::raw_sql(
        "CREATE TABLE bench_hot (id INT PRIMARY KEY, n BIGINT NOT NULL);
         INSERT INTO bench_hot VALUES (1, 0);",
    )
    .execute(setup.pool())
    .await
    .unwrap();
    let (sc,): (String,) = sqlx::query_as("SHOW synchronous_commit")
        .fetch_one(setup.pool())
        .await
        .unwrap();
    let (fs,): (String,) = sqlx::query_as("SHOW fsync")
        .fetch_one(setup.pool())
        .await
        .unwrap();
    setup.close().await;
    let script = std::env::temp_dir().join(format!("quota-bench-{}.sql", std::process::id()));
    std::fs::write(&script, "UPDATE bench_hot SET n = n + 1 WHERE id = 1;\n").unwrap();
    let script = script.display().to_string();

    println!(
        "server: {admin} (fsync={fs}, synchronous_commit={sc}); {secs} s per side, {rounds} round(s)"
    );
    println!("| clients | quota_consume (ops/s) | pgbench 1-row UPDATE (tps) | ratio |");
    println!("|---:|---:|---:|---:|");
    for &c in &clients {
        let (mut ours_total, mut theirs_total) = (0.0, 0.0);
        for _ in 0..rounds {
            // One pool per run, closed before pgbench opens as many connections of its own.
            let store = Arc::new(
                PostgresStore::connect(&url, {
                    let options =
                        PostgresOptions::new().set_max_connections(u32::try_from(c).unwrap());
                    match lane {
                        Some(n) => options.set_consume_connections(n),
                        None => options,
                    }
                })
                .await
                .unwrap(),
            );
            let ours = ours(&store, c, secs).await;
            store.close().await;
            let theirs = pgbench(&url, c, secs, &script);
            println!("| {c} | {ours:.0} | {theirs:.0} | {:.2}x |", ours / theirs);
            ours_total += ours;
            theirs_total += theirs;
        }
        if rounds > 1 {
            println!(
                "| {c} (all {rounds} rounds) | {:.0} | {:.0} | {:.2}x |",
                ours_total / f64::from(rounds),
                theirs_total / f64::from(rounds),
                ours_total / theirs_total
            );
        }
    }
    let _ = std::fs::remove_file(&script);
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        r#"DROP DATABASE "{name}" WITH (FORCE)"#
    )))
    .execute(&mut conn)
    .await
    .unwrap();
}
