//! A Postgres database per test (feature `postgres`).
//!
//! [`TestDb::create_or_skip`] finds a server ([`server_url`]), creates a database no other
//! test uses and returns its URL; the database is dropped (`WITH (FORCE)`) when the
//! [`TestDb`] is, even when the test panics. Tests on one server therefore never see each
//! other's rows, whatever they share in their schema (subscription listings, the outbox).

use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sqlx::Connection as _;

/// The admin URL of a server: `DATABASE_URL`, else 127.0.0.1:5432 if it answers, else the
/// throwaway cluster `scripts/pg-env.sh --url` starts (installing Postgres if needed).
/// `Err` says why none could be had. Decided once per process.
pub fn server_url() -> Result<String, String> {
    static URL: OnceLock<Result<String, String>> = OnceLock::new();
    URL.get_or_init(|| {
        if let Ok(url) = std::env::var("DATABASE_URL")
            && !url.trim().is_empty()
        {
            return Ok(url);
        }
        let local = SocketAddr::from(([127, 0, 0, 1], 5432));
        if TcpStream::connect_timeout(&local, Duration::from_millis(500)).is_ok() {
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
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
    })
    .clone()
}

/// The workspace root (where `scripts/` lives).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// `url` with its database replaced by `db` (the query string is kept).
pub fn with_database(url: &str, db: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map_or(0, |i| i.saturating_add(3));
    let after_scheme = base.get(scheme_end..).unwrap_or_default();
    let host_end = after_scheme
        .find('/')
        .map_or(base.len(), |i| scheme_end.saturating_add(i));
    let host_part = base.get(..host_end).unwrap_or(base);
    match query {
        Some(q) => format!("{host_part}/{db}?{q}"),
        None => format!("{host_part}/{db}"),
    }
}

/// A database owned by one test, dropped when this value is dropped.
#[derive(Debug)]
pub struct TestDb {
    /// The database's name.
    pub name: String,
    /// A URL to it.
    pub url: String,
    admin_url: String,
}

impl TestDb {
    /// Creates a fresh database for `test`; when no server can be had, [`crate::skip`]s
    /// `test` (a failure in CI) and returns `None`. `tag` goes into the database name.
    pub async fn create_or_skip(test: &str, tag: &str) -> Option<TestDb> {
        let created = TestDb::try_create(tag, true).await;
        crate::require(test, "no Postgres for this test", created)
    }

    /// Creates a fresh database. `fast`: `synchronous_commit = off` on it (for tests where
    /// durability is not the point; a crash could lose the last commits, a clean run loses
    /// nothing).
    pub async fn try_create(tag: &str, fast: bool) -> Result<TestDb, String> {
        static N: AtomicU64 = AtomicU64::new(0);
        let admin_url = server_url()?;
        let n = N.fetch_add(1, Ordering::Relaxed);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let tag: String = tag
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
            .take(24)
            .collect::<String>()
            .to_ascii_lowercase();
        let name = format!("quota_test_{tag}_{}_{n}_{nanos:x}", std::process::id());
        let mut admin = sqlx::PgConnection::connect(&admin_url)
            .await
            .map_err(|e| format!("cannot connect to {admin_url}: {e}"))?;
        let created = run(
            &mut admin,
            format!(r#"CREATE DATABASE "{name}" TEMPLATE template0"#),
        )
        .await;
        let tuned = match (&created, fast) {
            (Ok(()), true) => {
                run(
                    &mut admin,
                    format!(r#"ALTER DATABASE "{name}" SET synchronous_commit = off"#),
                )
                .await
            }
            _ => Ok(()),
        };
        let _ = admin.close().await;
        created.map_err(|e| format!("cannot create database {name}: {e}"))?;
        let db = TestDb {
            url: with_database(&admin_url, &name),
            name,
            admin_url,
        };
        tuned.map_err(|e| format!("cannot tune database {}: {e}", db.name))?;
        Ok(db)
    }
}

impl TestDb {
    /// Keeps the database until the current tokio runtime shuts down (the end of its
    /// `#[tokio::test]`, also after a panic), then drops it. A test can then hand out a store
    /// on it as an `Arc<dyn Store>` directly: no wrapper that owns the database and forwards
    /// the store traits, hence no forwarding to forget (a wrapper that misses a provided
    /// method such as `recent_topups` silently tests the trait's default instead).
    ///
    /// # Panics
    /// Outside a tokio runtime.
    pub fn drop_with_runtime(self) {
        tokio::spawn(async move {
            let _db = self;
            std::future::pending::<()>().await;
        });
    }
}

async fn run(conn: &mut sqlx::PgConnection, sql: String) -> Result<(), sqlx::Error> {
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
        .execute(conn)
        .await
        .map(|_| ())
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
                let result = run(
                    &mut admin,
                    format!(r#"DROP DATABASE IF EXISTS "{name}" WITH (FORCE)"#),
                )
                .await
                .map_err(|e| e.to_string());
                let _ = admin.close().await;
                result
            })
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            let _ = std::io::Write::write_all(
                &mut std::io::stderr(),
                format!(
                    "warning: could not drop test database {}: {dropped:?}\n",
                    self.name
                )
                .as_bytes(),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn the_database_of_a_url_is_replaced_and_the_query_kept() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/postgres", "t1"),
            "postgres://postgres@127.0.0.1:5432/t1"
        );
        assert_eq!(
            with_database("postgres://u:p@h:5440/db?sslmode=disable", "t2"),
            "postgres://u:p@h:5440/t2?sslmode=disable"
        );
        assert_eq!(
            with_database("postgres://h:5432", "t3"),
            "postgres://h:5432/t3"
        );
    }
}
