//! Test support: finds a Postgres server, gives each test a database of its own and drops it
//! when the test ends (even when it panics).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    dead_code,
    unreachable_pub
)]

use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chrono::Utc;
use quota_postgres::{PostgresOptions, PostgresStore};
use sqlx::Connection;

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The admin URL of a server: `DATABASE_URL`, else 127.0.0.1:5432 if it answers, else a
/// throwaway cluster started by `scripts/pg-env.sh` (which installs Postgres if needed).
/// `Err` says why none could be had.
pub fn server_url() -> Result<String, String> {
    static URL: OnceLock<Result<String, String>> = OnceLock::new();
    URL.get_or_init(|| {
        if let Ok(url) = std::env::var("DATABASE_URL") {
            if !url.is_empty() {
                return Ok(url);
            }
        }
        let addr: SocketAddr = "127.0.0.1:5432".parse().unwrap();
        if TcpStream::connect_timeout(&addr, Duration::from_millis(500)).is_ok() {
            return Ok("postgres://postgres@127.0.0.1:5432/postgres".into());
        }
        let script = repo_root().join("scripts/pg-env.sh");
        let out = Command::new("bash")
            .arg(&script)
            .arg("--url")
            .output()
            .map_err(|e| format!("cannot run {}: {e}", script.display()))?;
        if !out.status.success() {
            return Err(format!(
                "{} failed: {}",
                script.display(),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
    })
    .clone()
}

/// `url` with its database replaced by `db`.
pub fn with_database(url: &str, db: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let host_part = match base[scheme_end..].find('/') {
        Some(i) => &base[..scheme_end + i],
        None => base,
    };
    match query {
        Some(q) => format!("{host_part}/{db}?{q}"),
        None => format!("{host_part}/{db}"),
    }
}

/// A database owned by one test, dropped (WITH FORCE) when this value is dropped.
#[derive(Debug)]
pub struct TestDb {
    pub name: String,
    pub url: String,
    admin_url: String,
}

impl TestDb {
    /// Creates a fresh database. In CI an unreachable server fails the test; elsewhere it
    /// returns `None` after printing why.
    pub async fn create_or_skip(tag: &str) -> Option<TestDb> {
        quota_testkit::require(
            &quota_testkit::current_test(),
            "no Postgres for this test",
            TestDb::try_create(tag, true).await,
        )
    }

    /// Creates a fresh database or panics with the reason.
    pub async fn create(tag: &str) -> TestDb {
        TestDb::try_create(tag, true)
            .await
            .unwrap_or_else(|why| panic!("no Postgres for this test: {why}"))
    }

    /// `fast`: `synchronous_commit = off` on the database (for tests where durability is not
    /// the point; a crash could lose the last commits, a clean run loses nothing).
    pub async fn try_create(tag: &str, fast: bool) -> Result<TestDb, String> {
        static N: AtomicU64 = AtomicU64::new(0);
        let admin_url = server_url()?;
        let n = N.fetch_add(1, Ordering::Relaxed);
        let nanos = Utc::now().timestamp_subsec_nanos();
        let name = format!("quota_test_{tag}_{}_{n}_{nanos:x}", std::process::id());
        let mut admin = sqlx::PgConnection::connect(&admin_url)
            .await
            .map_err(|e| format!("cannot connect to {admin_url}: {e}"))?;
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            r#"CREATE DATABASE "{name}" TEMPLATE template0"#
        )))
        .execute(&mut admin)
        .await
        .map_err(|e| format!("cannot create database {name}: {e}"))?;
        if fast {
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                r#"ALTER DATABASE "{name}" SET synchronous_commit = off"#
            )))
            .execute(&mut admin)
            .await
            .map_err(|e| format!("cannot tune database {name}: {e}"))?;
        }
        let _ = admin.close().await;
        Ok(TestDb {
            url: with_database(&admin_url, &name),
            name,
            admin_url,
        })
    }

    /// A store on this database with `options`.
    pub async fn store(&self, options: PostgresOptions) -> PostgresStore {
        PostgresStore::connect(&self.url, options).await.unwrap()
    }

    /// Keeps the database until the current tokio runtime shuts down (the end of its
    /// `#[tokio::test]`, also after a panic), then drops it. This lets a test hand out the
    /// `PostgresStore` itself as an `Arc<dyn Store>`: no wrapper that owns the database and
    /// forwards the store traits, hence no forwarding to forget (a wrapper that misses a
    /// provided method such as `recent_topups` silently tests the trait's default instead).
    pub fn drop_with_runtime(self) {
        tokio::spawn(async move {
            let _db = self;
            std::future::pending::<()>().await;
        });
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let admin_url = self.admin_url.clone();
        let name = self.name.clone();
        // Drop is synchronous and may run inside a runtime: use a thread with its own.
        let dropped = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            rt.block_on(async move {
                let mut admin = sqlx::PgConnection::connect(&admin_url)
                    .await
                    .map_err(|e| e.to_string())?;
                sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                    r#"DROP DATABASE IF EXISTS "{name}" WITH (FORCE)"#
                )))
                .execute(&mut admin)
                .await
                .map_err(|e| e.to_string())?;
                let _ = admin.close().await;
                Ok::<(), String>(())
            })
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!(
                "warning: could not drop test database {}: {dropped:?}",
                self.name
            );
        }
    }
}
